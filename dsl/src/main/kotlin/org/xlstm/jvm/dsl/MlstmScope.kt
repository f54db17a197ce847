package org.xlstm.jvm.dsl

import org.xlstm.jvm.config.MlstmLayerConfig

/** Receiver of `mlstm { }`: the mLSTM layer (`mlstm_block.mlstm`); starts from the official defaults. */
@XlstmDsl
class MlstmScope internal constructor(start: MlstmLayerConfig) {
    /** `num_heads` NH; the inner dimension must divide by it. */
    var heads: Int = start.numHeads()

    /** `proj_factor`: inner dimension u = projFactor·D, rounded up to a multiple of [roundProjUpToMultipleOf]. */
    var projFactor: Double = start.projFactor()

    /** `conv1d_kernel_size` of the causal convolution. */
    var convKernel: Int = start.conv1dKernelSize()

    /** `qkv_proj_blocksize`: size of the blocks of the block-diagonal q, k, v projections. */
    var qkvBlockSize: Int = start.qkvProjBlocksize()

    /** `round_proj_up_dim_up`: round u up (true) or down. */
    var roundProjUpDimUp: Boolean = start.roundProjUpDimUp()

    /** `round_proj_up_to_multiple_of`. */
    var roundProjUpToMultipleOf: Int = start.roundProjUpToMultipleOf()

    private val extras = LinkedHashMap<String, Any?>(start.extras())

    /** An official field of the layer carried through unchanged (kernel tuning; no effect on the math). */
    fun extra(officialKey: String, value: Any?) { extras[officialKey] = value }

    internal fun build() = MlstmLayerConfig(heads, projFactor, convKernel, qkvBlockSize, roundProjUpDimUp,
        roundProjUpToMultipleOf, extras)
}
