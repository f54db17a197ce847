package org.xlstm.jvm.dsl

import org.xlstm.jvm.config.BiasInit
import org.xlstm.jvm.config.FeedForwardConfig
import org.xlstm.jvm.config.RecurrentWeightInit
import org.xlstm.jvm.config.SlstmBackend
import org.xlstm.jvm.config.SlstmLayerConfig

/**
 * Receiver of `slstm { }`: the sLSTM layer (`slstm_block.slstm`) and the block's gated feed-forward
 * (`slstm_block.feedforward`); starts from the official defaults, which include a feed-forward.
 */
@XlstmDsl
class SlstmScope internal constructor(start: SlstmLayerConfig, startFeedForward: FeedForwardConfig?) {
    /** `num_heads` NH; D must divide by it. */
    var heads: Int = start.numHeads()

    /** `conv1d_kernel_size`; 0 means no causal convolution. */
    var convKernel: Int = start.conv1dKernelSize()

    /** `backend`: only the stored layout of the recurrent kernel and bias (CUDA is the official default). */
    var backend: SlstmBackend = start.backend()

    /** `bias_init` of the gates. */
    var biasInit: BiasInit = start.biasInit()

    /** `recurrent_weight_init`. */
    var recurrentWeightInit: RecurrentWeightInit = start.recurrentWeightInit()

    /** `group_norm_weight`. */
    var groupNormWeight: Boolean = start.groupNormWeight()

    /** The block's feed-forward; null means none (same as [noFeedForward]). */
    var feedForward: FeedForwardConfig? = startFeedForward

    /** Shorthands so `backend = CUDA` reads as in the paper's configs. */
    val CUDA = SlstmBackend.CUDA
    val VANILLA = SlstmBackend.VANILLA

    private val extras = LinkedHashMap<String, Any?>(start.extras())

    /** The gated feed-forward after the sLSTM layer; starts from the current one (or the official default). */
    fun feedForward(configure: FeedForwardScope.() -> Unit) {
        feedForward = FeedForwardScope(feedForward ?: FeedForwardConfig.DEFAULTS).apply(configure).build()
    }

    /** The sLSTM block gets no feed-forward (official `feedforward: null`). */
    fun noFeedForward() { feedForward = null }

    /** An official field of the layer carried through unchanged (kernel tuning; no effect on the math). */
    fun extra(officialKey: String, value: Any?) { extras[officialKey] = value }

    internal fun buildLayer() = SlstmLayerConfig(heads, convKernel, backend, biasInit, recurrentWeightInit,
        groupNormWeight, extras)
}
