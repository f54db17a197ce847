package org.xlstm.jvm.dsl

import org.xlstm.jvm.config.BlockPlacement
import org.xlstm.jvm.config.ConfigException

/**
 * Receiver of `blocks(n) { ... }`: where the sLSTM blocks sit among the [count] blocks. Say it once, in one of
 * these ways; no placement means every block is mLSTM.
 */
@XlstmDsl
class BlocksScope internal constructor(val count: Int) {
    internal var placement: Placement? = null
        private set

    /**
     * The paper's xLSTM[m:s]: the stack is cut into groups of m+s consecutive blocks (so the count must be a
     * multiple of m+s) and the s sLSTM blocks of each group sit in the middle of s equal slices of it, rounded
     * down (see [BlockPlacement.ratio]). `ratio(7, 1)` over 8 blocks is "mmms mmmm"; `ratio(1, 0)` is mLSTM only,
     * `ratio(0, 1)` sLSTM only.
     */
    fun ratio(mLSTM: Int, sLSTM: Int) = set(Placement.Ratio(mLSTM, sLSTM))

    /** Every block is mLSTM: xLSTM[1:0]. */
    fun mlstmOnly() = ratio(1, 0)

    /** Every block is sLSTM: xLSTM[0:1]. */
    fun slstmOnly() = ratio(0, 1)

    /** Explicit sLSTM block indices (0-based), the official `slstm_at`. */
    fun slstmAt(vararg positions: Int) = set(Placement.At(positions.toList()))

    /** Explicit sLSTM block indices (0-based), the official `slstm_at`. */
    fun slstmAt(positions: Iterable<Int>) = set(Placement.At(positions.toList()))

    /**
     * One letter per block, 'm' or 's' (spaces, '_' and '|' ignored). A pattern shorter than the block count
     * repeats when its length divides the count: `blocks(24) { pattern("mmms mmmm") }` is 3 × "mmmsmmmm".
     */
    fun pattern(pattern: String) {
        val len = BlockPlacement.patternLength(pattern)
        val full = when {
            len == 0 || len == count || count <= 0 -> pattern
            count % len == 0 -> List(count / len) { pattern }.joinToString(" ")
            else -> throw ConfigException("pattern", "pattern \"$pattern\" names $len blocks, which neither equals " +
                    "nor divides the block count $count")
        }
        set(Placement.Pattern(full))
    }

    private fun set(p: Placement) {
        placement?.let {
            throw ConfigException("slstm_at", "blocks($count) { } gives the sLSTM placement twice (${it.describe()} " +
                    "and ${p.describe()}); keep one")
        }
        placement = p
    }
}
