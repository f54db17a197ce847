package org.xlstm.jvm.config;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Records → the official layout as nested maps, every field explicit, extras after the known fields of their
 * section. The LM layout is what {@code dacite.from_dict(xLSTMLMModelConfig, ...)} (the official experiments' loader)
 * accepts: nested dicts, floats written as floats, ints as ints, unknown keys ignored by it. The xLSTM-7B layout is
 * {@code xLSTMLargeConfig}'s fields plus our {@code "architecture": "xlstm_large"} marker (as in the fixtures).
 */
final class OfficialWriter {
    private OfficialWriter() {}

    static Map<String, Object> tree(ModelConfig config) {
        return switch (config) {
            case XlstmConfig c -> lm(c);
            case XlstmLargeConfig c -> large(c);
        };
    }

    private static Map<String, Object> lm(XlstmConfig c) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("vocab_size", c.vocabSize());
        m.put("context_length", c.contextLength());
        m.put("num_blocks", c.numBlocks());
        m.put("embedding_dim", c.embeddingDim());
        m.put("slstm_at", c.slstmAt());
        m.put("mlstm_block", c.mlstmBlock() == null ? null : mlstmBlock(c.mlstmBlock()));
        m.put("slstm_block", c.slstmBlock() == null ? null : slstmBlock(c.slstmBlock()));
        m.put("add_post_blocks_norm", c.addPostBlocksNorm());
        m.put("bias", c.bias());
        m.put("dropout", c.dropout());
        m.put("tie_weights", c.tieWeights());
        m.put("weight_decay_on_embedding", c.weightDecayOnEmbedding());
        m.put("add_embedding_dropout", c.addEmbeddingDropout());
        putExtras(m, c.extras());
        return m;
    }

    private static Map<String, Object> mlstmBlock(MlstmBlockConfig b) {
        Map<String, Object> m = new LinkedHashMap<>();
        MlstmLayerConfig l = b.mlstm();
        Map<String, Object> layer = new LinkedHashMap<>();
        layer.put("num_heads", l.numHeads());
        layer.put("proj_factor", l.projFactor());
        layer.put("conv1d_kernel_size", l.conv1dKernelSize());
        layer.put("qkv_proj_blocksize", l.qkvProjBlocksize());
        layer.put("round_proj_up_dim_up", l.roundProjUpDimUp());
        layer.put("round_proj_up_to_multiple_of", l.roundProjUpToMultipleOf());
        putExtras(layer, l.extras());
        m.put("mlstm", layer);
        putExtras(m, b.extras());
        return m;
    }

    private static Map<String, Object> slstmBlock(SlstmBlockConfig b) {
        Map<String, Object> m = new LinkedHashMap<>();
        SlstmLayerConfig l = b.slstm();
        Map<String, Object> layer = new LinkedHashMap<>();
        layer.put("num_heads", l.numHeads());
        layer.put("conv1d_kernel_size", l.conv1dKernelSize());
        layer.put("backend", l.backend() == null ? null : l.backend().officialName());
        layer.put("bias_init", l.biasInit() == null ? null : l.biasInit().officialName());
        layer.put("recurrent_weight_init", l.recurrentWeightInit() == null ? null : l.recurrentWeightInit().officialName());
        layer.put("group_norm_weight", l.groupNormWeight());
        putExtras(layer, l.extras());
        m.put("slstm", layer);
        FeedForwardConfig f = b.feedforward();
        if (f == null) {
            m.put("feedforward", null);
        } else {
            Map<String, Object> ff = new LinkedHashMap<>();
            ff.put("proj_factor", f.projFactor());
            ff.put("act_fn", f.actFn() == null ? null : f.actFn().officialName());
            ff.put("bias", f.bias());
            ff.put("ff_type", "ffn_gated");
            ff.put("round_proj_up_dim_up", f.roundProjUpDimUp());
            ff.put("round_proj_up_to_multiple_of", f.roundProjUpToMultipleOf());
            putExtras(ff, f.extras());
            m.put("feedforward", ff);
        }
        putExtras(m, b.extras());
        return m;
    }

    private static Map<String, Object> large(XlstmLargeConfig c) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("embedding_dim", c.embeddingDim());
        m.put("num_heads", c.numHeads());
        m.put("num_blocks", c.numBlocks());
        m.put("vocab_size", c.vocabSize());
        m.put("use_bias", c.useBias());
        m.put("norm_eps", c.normEps());
        m.put("norm_reduction_force_float32", c.normReductionForceFloat32());
        m.put("add_out_norm", c.addOutNorm());
        m.put("qk_dim_factor", c.qkDimFactor());
        m.put("v_dim_factor", c.vDimFactor());
        m.put("chunk_size", c.chunkSize());
        m.put("eps", c.eps());
        m.put("ffn_proj_factor", c.ffnProjFactor());
        m.put("ffn_round_up_to_multiple_of", c.ffnRoundUpToMultipleOf());
        m.put("gate_soft_cap", c.hasGateSoftCap() ? c.gateSoftCap() : null);
        m.put("output_logit_soft_cap", c.hasOutputLogitSoftCap() ? c.outputLogitSoftCap() : null);
        m.put("weight_mode", c.weightMode().officialName());
        // A Hugging Face config reads hidden_size / num_hidden_layers first (their defaults are the 7B sizes),
        // so a config that came from one must carry them, consistent with the record.
        if ("xlstm".equals(c.extras().get("model_type"))) {
            m.put("hidden_size", c.embeddingDim());
            m.put("num_hidden_layers", c.numBlocks());
        }
        putExtras(m, c.extras());
        m.putIfAbsent("architecture", "xlstm_large"); // our marker, unless the file carried its own
        return m;
    }

    private static void putExtras(Map<String, Object> m, Map<String, Object> extras) {
        extras.forEach((k, v) -> { if (!m.containsKey(k)) m.put(k, v); });
    }
}
