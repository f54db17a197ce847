package org.xlstm.jvm.dsl

import org.xlstm.jvm.config.Activation
import org.xlstm.jvm.config.FeedForwardConfig

/** Receiver of `feedForward { }`: the sLSTM block's gated feed-forward (`ff_type` "ffn_gated"). */
@XlstmDsl
class FeedForwardScope internal constructor(start: FeedForwardConfig) {
    /** `proj_factor`: hidden size u = projFactor·D, rounded up to a multiple of [roundProjUpToMultipleOf]. */
    var projFactor: Double = start.projFactor()

    /** `act_fn` applied to the gate half. */
    var activation: Activation = start.actFn()

    /** `bias` of the feed-forward's own linear maps (not copied from the top level). */
    var bias: Boolean = start.bias()

    /** `round_proj_up_dim_up`. */
    var roundProjUpDimUp: Boolean = start.roundProjUpDimUp()

    /** `round_proj_up_to_multiple_of`. */
    var roundProjUpToMultipleOf: Int = start.roundProjUpToMultipleOf()

    /** Shorthands so `activation = GELU` reads as in the paper's configs. */
    val GELU = Activation.GELU
    val RELU = Activation.RELU
    val RELU2 = Activation.RELU2
    val SIGMOID = Activation.SIGMOID
    val SWISH = Activation.SWISH
    val SILU = Activation.SWISH
    val SELU = Activation.SELU

    private val extras = LinkedHashMap<String, Any?>(start.extras())

    /** An official field carried through unchanged. */
    fun extra(officialKey: String, value: Any?) { extras[officialKey] = value }

    internal fun build() = FeedForwardConfig(projFactor, activation, bias, roundProjUpDimUp, roundProjUpToMultipleOf,
        extras)
}
