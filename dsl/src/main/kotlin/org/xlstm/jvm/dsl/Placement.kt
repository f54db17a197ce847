package org.xlstm.jvm.dsl

/** How the user said where the sLSTM blocks go; the Java builder resolves it to `slstm_at`. */
internal sealed interface Placement {
    fun describe(): String

    data class Ratio(val mlstm: Int, val slstm: Int) : Placement {
        override fun describe() = "ratio($mlstm, $slstm)"
    }

    data class At(val positions: List<Int>) : Placement {
        override fun describe() = "slstmAt(${positions.joinToString()})"
    }

    data class Pattern(val pattern: String) : Placement {
        override fun describe() = "pattern(\"$pattern\")"
    }
}
