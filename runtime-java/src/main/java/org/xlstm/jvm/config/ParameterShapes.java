package org.xlstm.jvm.config;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The trainable tensors of an architecture, computed from its config alone: exactly the names, shapes and order of
 * the official {@code model.state_dict()} (XLSTM.md §6 and §7). Use it to count parameters and to check a checkpoint
 * before loading it (a missing, extra or misshapen tensor is a layout mistake).
 *
 * <p>What decides the list:
 * <ul>
 *   <li>LM: {@code bias} adds the biases of the mLSTM proj_up, q/k/v and proj_down (never of norms, sLSTM gates or
 *       the lm_head); {@code slstm_block.feedforward.bias} adds the FFN biases; the causal conv always has a bias and
 *       is absent when conv1d_kernel_size is 0 (sLSTM only); {@code group_norm_weight} false removes the sLSTM
 *       group-norm weight; {@code add_post_blocks_norm} false removes the final norm; under {@code tie_weights}
 *       {@code lm_head.weight} is listed (the official state_dict has it) but marked tied;</li>
 *   <li>sLSTM layout: {@code _recurrent_kernel_} is (NH, 4·DH, DH) for backend "vanilla" and (NH, DH, 4·DH) for
 *       "cuda"; {@code _bias_} is (4·D) in both;</li>
 *   <li>xLSTM-7B: {@code use_bias} adds the biases of every linear layer and norm (the i/f gate biases exist
 *       always); {@code weight_mode} "fused" stores {@code qkv_opreact} (2·qk + 2·v, D), {@code ifgate_preact}
 *       (2·NH, D) and {@code proj_up_gate_z} (2·H, D) instead of the single tensors; the lm_head is never tied.</li>
 * </ul>
 * The config must be valid ({@link ConfigValidator}); this class throws {@link ConfigException} otherwise.
 */
public final class ParameterShapes {
    private ParameterShapes() {}

    public static final String LM_BLOCKS = "xlstm_block_stack.blocks.";
    public static final String LARGE_BLOCKS = "backbone.blocks.";

    /** Every trainable tensor, in official state_dict order. */
    public static List<ParamSpec> of(ModelConfig config) {
        ConfigValidator.requireValid(config);
        List<ParamSpec> out = new ArrayList<>();
        switch (config) {
            case XlstmConfig c -> {
                for (int i = 0; i < c.numBlocks(); i++) out.addAll(blockOf(c, i));
                if (c.addPostBlocksNorm()) out.add(new ParamSpec("xlstm_block_stack.post_blocks_norm.weight", c.embeddingDim()));
                out.add(new ParamSpec("token_embedding.weight", c.vocabSize(), c.embeddingDim()));
                out.add(new ParamSpec("lm_head.weight", new long[] {c.vocabSize(), c.embeddingDim()}, c.tieWeights()));
            }
            case XlstmLargeConfig c -> {
                out.add(new ParamSpec("embedding.weight", c.vocabSize(), c.embeddingDim()));
                for (int i = 0; i < c.numBlocks(); i++) out.addAll(blockOf(c, i));
                if (c.addOutNorm()) norm(out, "backbone.out_norm", c.embeddingDim(), c.useBias());
                out.add(new ParamSpec("lm_head.weight", c.vocabSize(), c.embeddingDim()));
            }
        }
        return List.copyOf(out);
    }

    /** The official state_dict as name → spec, in order. */
    public static Map<String, ParamSpec> byName(ModelConfig config) {
        Map<String, ParamSpec> m = new LinkedHashMap<>();
        for (ParamSpec p : of(config)) m.put(p.name(), p);
        return m;
    }

    /** Distinct trainable scalars, tied matrices once. */
    public static long count(ModelConfig config) {
        long n = 0;
        for (ParamSpec p : of(config)) n += p.ownParameters();
        return n;
    }

    /** The tensors of block {@code i} (names include the block prefix). */
    public static List<ParamSpec> block(ModelConfig config, int i) {
        ConfigValidator.requireValid(config);
        if (i < 0 || i >= config.numBlocks())
            throw new IndexOutOfBoundsException("block " + i + " of " + config.numBlocks());
        return List.copyOf(blockOf(config, i));
    }

    private static List<ParamSpec> blockOf(ModelConfig config, int i) {
        List<ParamSpec> out = new ArrayList<>();
        switch (config) {
            case XlstmConfig c -> {
                if (c.blockMap().get(i) == BlockKind.MLSTM) mlstmBlock(out, c, LM_BLOCKS + i + ".");
                else slstmBlock(out, c, LM_BLOCKS + i + ".");
            }
            case XlstmLargeConfig c -> largeBlock(out, c, LARGE_BLOCKS + i + ".");
        }
        return out;
    }

    // ------------------------------------------------------------------ xLSTM LM blocks

    private static void mlstmBlock(List<ParamSpec> out, XlstmConfig c, String p) {
        int d = c.embeddingDim();
        MlstmLayerConfig m = c.mlstmBlock().mlstm();
        int u = m.innerDim(d);
        int bs = m.qkvProjBlocksize();
        boolean bias = c.bias();
        out.add(new ParamSpec(p + "xlstm_norm.weight", d));
        String x = p + "xlstm.";
        // A module's own parameters come before its submodules' in a state_dict: learnable_skip first.
        out.add(new ParamSpec(x + "learnable_skip", u));
        linear(out, x + "proj_up", 2L * u, d, bias);
        for (String proj : List.of("q_proj", "k_proj", "v_proj")) {
            out.add(new ParamSpec(x + proj + ".weight", u / bs, bs, bs));
            if (bias) out.add(new ParamSpec(x + proj + ".bias", u));
        }
        conv(out, x + "conv1d.conv", u, m.conv1dKernelSize());
        linear(out, x + "mlstm_cell.igate", m.numHeads(), 3L * u, true);
        linear(out, x + "mlstm_cell.fgate", m.numHeads(), 3L * u, true);
        out.add(new ParamSpec(x + "mlstm_cell.outnorm.weight", u));
        linear(out, x + "proj_down", d, u, bias);
    }

    private static void slstmBlock(List<ParamSpec> out, XlstmConfig c, String p) {
        int d = c.embeddingDim();
        SlstmLayerConfig s = c.slstmBlock().slstm();
        int nh = s.numHeads();
        int dh = d / nh;
        out.add(new ParamSpec(p + "xlstm_norm.weight", d));
        String x = p + "xlstm.";
        if (s.conv1dKernelSize() > 0) conv(out, x + "conv1d.conv", d, s.conv1dKernelSize());
        for (String gate : List.of("fgate", "igate", "zgate", "ogate"))
            out.add(new ParamSpec(x + gate + ".weight", nh, dh, dh));
        out.add(s.backend() == SlstmBackend.VANILLA
                ? new ParamSpec(x + "slstm_cell._recurrent_kernel_", nh, 4L * dh, dh)
                : new ParamSpec(x + "slstm_cell._recurrent_kernel_", nh, dh, 4L * dh));
        out.add(new ParamSpec(x + "slstm_cell._bias_", 4L * d));
        if (s.groupNormWeight()) out.add(new ParamSpec(x + "group_norm.weight", d));
        FeedForwardConfig f = c.slstmBlock().feedforward();
        if (f != null) {
            int h = f.hiddenDim(d);
            out.add(new ParamSpec(p + "ffn_norm.weight", d));
            linear(out, p + "ffn.proj_up", 2L * h, d, f.bias());
            linear(out, p + "ffn.proj_down", d, h, f.bias());
        }
    }

    // ------------------------------------------------------------------ xLSTM-7B block

    private static void largeBlock(List<ParamSpec> out, XlstmLargeConfig c, String p) {
        int d = c.embeddingDim();
        long qk = c.qkDim(), v = c.vDim(), nh = c.numHeads(), h = c.ffnHiddenDim();
        boolean bias = c.useBias();
        norm(out, p + "norm_mlstm", d, bias);
        String x = p + "mlstm_layer.";
        if (c.weightMode() == WeightMode.FUSED) {
            linear(out, x + "qkv_opreact", 2 * qk + 2 * v, d, bias);
            linear(out, x + "ifgate_preact", 2 * nh, d, true);
        } else {
            linear(out, x + "q", qk, d, bias);
            linear(out, x + "k", qk, d, bias);
            linear(out, x + "v", v, d, bias);
            linear(out, x + "ogate_preact", v, d, bias);
            linear(out, x + "igate_preact", nh, d, true);
            linear(out, x + "fgate_preact", nh, d, true);
        }
        norm(out, x + "multihead_norm", v, bias);
        linear(out, x + "out_proj", d, v, bias);
        norm(out, p + "norm_ffn", d, bias);
        if (c.weightMode() == WeightMode.FUSED) {
            linear(out, p + "ffn.proj_up_gate_z", 2 * h, d, bias);
        } else {
            linear(out, p + "ffn.proj_up_gate", h, d, bias);
            linear(out, p + "ffn.proj_up", h, d, bias);
        }
        linear(out, p + "ffn.proj_down", d, h, bias);
    }

    // ------------------------------------------------------------------ components

    /** nn.Linear: weight (out, in), optional bias (out). */
    private static void linear(List<ParamSpec> out, String name, long outF, long inF, boolean bias) {
        out.add(new ParamSpec(name + ".weight", outF, inF));
        if (bias) out.add(new ParamSpec(name + ".bias", outF));
    }

    /** Depthwise nn.Conv1d with bias: weight (F, 1, K), bias (F). */
    private static void conv(List<ParamSpec> out, String name, long features, int kernel) {
        out.add(new ParamSpec(name + ".weight", features, 1, kernel));
        out.add(new ParamSpec(name + ".bias", features));
    }

    /** xLSTM-7B norm layer: weight, and bias when use_bias. */
    private static void norm(List<ParamSpec> out, String name, long features, boolean bias) {
        out.add(new ParamSpec(name + ".weight", features));
        if (bias) out.add(new ParamSpec(name + ".bias", features));
    }
}
