package org.xlstm.jvm.dsl

import org.xlstm.jvm.config.WeightMode
import org.xlstm.jvm.config.XlstmLargeConfig
import org.xlstm.jvm.config.XlstmLargeConfigBuilder

/** Receiver of [xlstmLarge]; every field starts at the official `xlstm_large` default (xLSTM-7B sizes). */
@XlstmDsl
class XlstmLargeScope internal constructor() {
    private val d = XlstmLargeConfigBuilder().buildUnchecked()

    /** `embedding_dim` D. */
    var embeddingDim: Int = d.embeddingDim()

    /** `num_heads`. */
    var heads: Int = d.numHeads()

    /** `num_blocks`. */
    var blocks: Int = d.numBlocks()

    /** `vocab_size`. */
    var vocabSize: Int = d.vocabSize()

    /** `use_bias` in the linear maps. */
    var useBias: Boolean = d.useBias()

    /** `norm_eps` of the RMSNorms and the per-head norm. */
    var normEps: Double = d.normEps()

    /** `norm_reduction_force_float32`. */
    var normReductionForceFloat32: Boolean = d.normReductionForceFloat32()

    /** `add_out_norm`: RMSNorm after the last block. */
    var addOutNorm: Boolean = d.addOutNorm()

    /** `qk_dim_factor`: q and k have D·qkDimFactor features. */
    var qkDimFactor: Double = d.qkDimFactor()

    /** `v_dim_factor`: v and the output gate have D·vDimFactor features. */
    var vDimFactor: Double = d.vDimFactor()

    /** `ffn_proj_factor`. */
    var ffnProjFactor: Double = d.ffnProjFactor()

    /** `ffn_round_up_to_multiple_of`. */
    var ffnRoundUpToMultipleOf: Int = d.ffnRoundUpToMultipleOf()

    /** `gate_soft_cap` on the input/forget gate pre-activations. */
    var gateSoftCap: Double = d.gateSoftCap()

    /** `output_logit_soft_cap`. */
    var outputLogitSoftCap: Double = d.outputLogitSoftCap()

    /** `eps` of the mLSTM cell. */
    var eps: Double = d.eps()

    /** `chunk_size` of the chunkwise kernel. */
    var chunkSize: Int = d.chunkSize()

    /** `weight_mode`: SINGLE keeps q, k, v, o and i, f apart; FUSED concatenates them. */
    var weightMode: WeightMode = d.weightMode()

    val SINGLE = WeightMode.SINGLE
    val FUSED = WeightMode.FUSED

    private val extras = LinkedHashMap<String, Any?>(d.extras())

    /** An official field carried through unchanged (kernel choices such as `chunkwise_kernel`, `mode`). */
    fun extra(officialKey: String, value: Any?) { extras[officialKey] = value }

    internal fun build(): XlstmLargeConfig {
        val b = XlstmLargeConfigBuilder()
            .embeddingDim(embeddingDim).numHeads(heads).numBlocks(blocks).vocabSize(vocabSize)
            .useBias(useBias).normEps(normEps).normReductionForceFloat32(normReductionForceFloat32)
            .addOutNorm(addOutNorm).qkDimFactor(qkDimFactor).vDimFactor(vDimFactor).ffnProjFactor(ffnProjFactor)
            .ffnRoundUpToMultipleOf(ffnRoundUpToMultipleOf).gateSoftCap(gateSoftCap)
            .outputLogitSoftCap(outputLogitSoftCap).eps(eps).chunkSize(chunkSize).weightMode(weightMode)
        extras.forEach { (k, v) -> b.extra(k, v) }
        return b.build()
    }
}
