package org.xlstm.jvm.config;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Rejects impossible architectures before anything is allocated. {@link #check} collects every broken rule (not
 * just the first), each as a {@link ConfigError} whose field is the official key path (e.g.
 * {@code mlstm_block.mlstm.num_heads}) and whose message names the values involved and the rule.
 *
 * <p>The rules are those under which the official code builds a working model, made explicit (the official code
 * often fails late with a bare assert, or silently computes something else). Summary, docs/config-model.md has the
 * full list:
 * <ul>
 *   <li>sizes (vocab_size, embedding_dim, num_blocks, num_heads, proj factors, qkv_proj_blocksize, round-to
 *       multiples, chunk_size) are positive; up-projected sizes do not round to 0;</li>
 *   <li>context_length is positive when the stack holds an mLSTM block (the official mLSTM cell allocates a
 *       context_length² causal mask and cannot run without one); an sLSTM-only stack may leave it at the official
 *       "unset" value −1;</li>
 *   <li>head counts divide what they split: mLSTM num_heads and qkv_proj_blocksize divide the inner dim u; sLSTM
 *       num_heads divides embedding_dim; xLSTM-7B num_heads divides the q/k and v dims;</li>
 *   <li>slstm_at positions lie in [0, num_blocks) and are not repeated, and an sLSTM position needs a configured
 *       slstm_block; at least one of mlstm_block and slstm_block is configured;</li>
 *   <li>dropout lies in [0, 1); mLSTM conv1d_kernel_size ≥ 1 (the official mLSTM layer cannot be built with 0);
 *       sLSTM conv1d_kernel_size ≥ 0 (0 = no convolution); the powerlaw sLSTM bias init needs head dim ≥ 2;</li>
 *   <li>xLSTM-7B: D·qk_dim_factor and D·v_dim_factor are whole, positive numbers; eps, norm_eps &gt; 0; soft caps
 *       &gt; 0 or switched off ({@link XlstmLargeConfig#NO_SOFT_CAP}); no tied embedding.</li>
 * </ul>
 * Unknown enum names (activation, bias init, backend, weight mode) are rejected when read, by the enums.
 */
public final class ConfigValidator {
    private ConfigValidator() {}

    /** Every broken rule of {@code config}; empty when the architecture is possible. */
    public static List<ConfigError> check(ModelConfig config) {
        List<ConfigError> errors = new ArrayList<>();
        switch (config) {
            case XlstmConfig c -> checkLm(c, errors);
            case XlstmLargeConfig c -> checkLarge(c, errors);
        }
        return List.copyOf(errors);
    }

    /** Throws {@link ConfigException} listing every broken rule. */
    public static void requireValid(ModelConfig config) {
        List<ConfigError> errors = check(config);
        if (!errors.isEmpty()) throw new ConfigException(errors);
    }

    // ---------------------------------------------------------------- xLSTM LM (xLSTMLMModelConfig)

    private static void checkLm(XlstmConfig c, List<ConfigError> errors) {
        positive(errors, "vocab_size", c.vocabSize());
        positive(errors, "embedding_dim", c.embeddingDim());
        positive(errors, "num_blocks", c.numBlocks());
        probability(errors, "dropout", c.dropout());

        if (c.mlstmBlock() == null && c.slstmBlock() == null)
            errors.add(new ConfigError("mlstm_block", "neither mlstm_block nor slstm_block is configured (both null);"
                    + " a stack needs at least one block kind"));

        checkPlacement(c, errors);

        boolean hasMlstm = c.blockMap().contains(BlockKind.MLSTM);
        if (hasMlstm && c.contextLength() <= 0)
            errors.add(new ConfigError("context_length", "must be positive when the stack has mLSTM blocks; got "
                    + c.contextLength() + " (the official mLSTM cell allocates a context_length × context_length"
                    + " causal mask and cannot be built without it)"));
        else if (!hasMlstm && c.contextLength() <= 0 && c.contextLength() != -1)
            errors.add(new ConfigError("context_length", "must be positive, or -1 (unset) in an sLSTM-only stack; got "
                    + c.contextLength()));

        if (c.mlstmBlock() != null) checkMlstm(c, c.mlstmBlock().mlstm(), errors);
        if (c.slstmBlock() != null) {
            checkSlstm(c, c.slstmBlock().slstm(), errors);
            if (c.slstmBlock().feedforward() != null) checkFeedForward(c, c.slstmBlock().feedforward(), errors);
        }
    }

    private static void checkPlacement(XlstmConfig c, List<ConfigError> errors) {
        List<Integer> at = c.slstmAt();
        List<Integer> outside = new ArrayList<>();
        Map<Integer, Integer> counts = new LinkedHashMap<>();
        for (Integer p : at) {
            if (p == null) {
                errors.add(new ConfigError("slstm_at", "contains null; positions are block indices in [0, "
                        + c.numBlocks() + ")"));
                continue;
            }
            if (p < 0 || p >= c.numBlocks()) outside.add(p);
            counts.merge(p, 1, Integer::sum);
        }
        if (!outside.isEmpty())
            errors.add(new ConfigError("slstm_at", "position" + (outside.size() > 1 ? "s " : " ") + outside
                    + " outside [0, " + c.numBlocks() + "): block indices start at 0 and num_blocks = "
                    + c.numBlocks() + "; slstm_at = " + at));
        List<String> repeated = new ArrayList<>();
        counts.forEach((p, n) -> { if (n > 1) repeated.add(p + " (" + n + " times)"); });
        if (!repeated.isEmpty())
            errors.add(new ConfigError("slstm_at", "repeated position" + (repeated.size() > 1 ? "s " : " ")
                    + String.join(", ", repeated) + "; each block index may appear once; slstm_at = " + at));

        if (c.slstmBlock() == null && c.mlstmBlock() != null) {
            List<Integer> placed = c.effectiveSlstmAt();
            if (!placed.isEmpty())
                errors.add(new ConfigError("slstm_block", "slstm_at = " + placed
                        + " places sLSTM blocks but slstm_block is null; configure slstm_block (e.g. {} for the"
                        + " official defaults) or remove those positions"));
        }
    }

    private static void checkMlstm(XlstmConfig c, MlstmLayerConfig m, List<ConfigError> errors) {
        String p = "mlstm_block.mlstm.";
        boolean headsOk = positive(errors, p + "num_heads", m.numHeads());
        boolean sizeOk = positive(errors, p + "proj_factor", m.projFactor());
        sizeOk &= positive(errors, p + "round_proj_up_to_multiple_of", m.roundProjUpToMultipleOf());
        boolean blockOk = positive(errors, p + "qkv_proj_blocksize", m.qkvProjBlocksize());
        if (m.conv1dKernelSize() < 1)
            errors.add(new ConfigError(p + "conv1d_kernel_size", "must be at least 1 in an mLSTM layer; got "
                    + m.conv1dKernelSize() + " (unlike the sLSTM layer, the official mLSTM layer has no"
                    + " \"0 = no convolution\" mode and cannot be built with 0)"));
        if (!sizeOk || c.embeddingDim() <= 0) return;
        int u = m.innerDim(c.embeddingDim());
        String uText = "the inner dim u = " + u + " (proj_factor " + m.projFactor() + " · embedding_dim "
                + c.embeddingDim() + " = " + m.projFactor() * c.embeddingDim() + ", rounded "
                + (m.roundProjUpDimUp() ? "up" : "down") + " to a multiple of " + m.roundProjUpToMultipleOf() + ")";
        if (u <= 0) {
            errors.add(new ConfigError(p + "proj_factor", "gives " + uText + "; it must be positive"));
            return;
        }
        if (headsOk && u % m.numHeads() != 0)
            errors.add(new ConfigError(p + "num_heads", "num_heads = " + m.numHeads() + " does not divide " + uText
                    + "; each head needs a whole head dim (u / num_heads)"));
        if (blockOk && u % m.qkvProjBlocksize() != 0)
            errors.add(new ConfigError(p + "qkv_proj_blocksize", "qkv_proj_blocksize = " + m.qkvProjBlocksize()
                    + " does not divide " + uText + "; q, k and v are block-diagonal with blocks of this size"));
    }

    private static void checkSlstm(XlstmConfig c, SlstmLayerConfig s, List<ConfigError> errors) {
        String p = "slstm_block.slstm.";
        boolean headsOk = positive(errors, p + "num_heads", s.numHeads());
        if (s.conv1dKernelSize() < 0)
            errors.add(new ConfigError(p + "conv1d_kernel_size", "must be ≥ 0 (0 = no convolution); got "
                    + s.conv1dKernelSize()));
        if (s.backend() == null) errors.add(new ConfigError(p + "backend", "is not set; use cuda or vanilla"));
        if (s.biasInit() == null)
            errors.add(new ConfigError(p + "bias_init", "is not set; use powerlaw_blockdependent, small_init,"
                    + " standard or zeros"));
        if (s.recurrentWeightInit() == null)
            errors.add(new ConfigError(p + "recurrent_weight_init", "is not set; use zeros or standard"));
        if (!headsOk || c.embeddingDim() <= 0) return;
        if (c.embeddingDim() % s.numHeads() != 0) {
            errors.add(new ConfigError(p + "num_heads", "num_heads = " + s.numHeads()
                    + " does not divide embedding_dim = " + c.embeddingDim()
                    + "; the sLSTM splits the hidden state into num_heads heads of equal size"));
            return;
        }
        int dh = c.embeddingDim() / s.numHeads();
        if (dh < 2 && s.biasInit() == BiasInit.POWERLAW_BLOCKDEPENDENT)
            errors.add(new ConfigError(p + "bias_init", "powerlaw_blockdependent needs a head dim of at least 2;"
                    + " got head dim " + dh + " (embedding_dim " + c.embeddingDim() + " / num_heads " + s.numHeads()
                    + "): its forget-gate bias divides by head_dim − 1 and would be NaN"));
    }

    private static void checkFeedForward(XlstmConfig c, FeedForwardConfig f, List<ConfigError> errors) {
        String p = "slstm_block.feedforward.";
        boolean ok = positive(errors, p + "proj_factor", f.projFactor());
        ok &= positive(errors, p + "round_proj_up_to_multiple_of", f.roundProjUpToMultipleOf());
        if (f.actFn() == null)
            errors.add(new ConfigError(p + "act_fn", "is not set; known: " + Activation.known()));
        if (!ok || c.embeddingDim() <= 0) return;
        int u = f.hiddenDim(c.embeddingDim());
        if (u <= 0)
            errors.add(new ConfigError(p + "proj_factor", "gives a hidden dim of " + u + " (proj_factor "
                    + f.projFactor() + " · embedding_dim " + c.embeddingDim() + ", rounded "
                    + (f.roundProjUpDimUp() ? "up" : "down") + " to a multiple of " + f.roundProjUpToMultipleOf()
                    + "); it must be positive"));
    }

    // ---------------------------------------------------------------- xLSTM-7B (xlstm_large)

    private static void checkLarge(XlstmLargeConfig c, List<ConfigError> errors) {
        positive(errors, "vocab_size", c.vocabSize());
        boolean dOk = positive(errors, "embedding_dim", c.embeddingDim());
        positive(errors, "num_blocks", c.numBlocks());
        boolean hOk = positive(errors, "num_heads", c.numHeads());
        boolean qkOk = positive(errors, "qk_dim_factor", c.qkDimFactor());
        boolean vOk = positive(errors, "v_dim_factor", c.vDimFactor());
        boolean ffOk = positive(errors, "ffn_proj_factor", c.ffnProjFactor());
        ffOk &= positive(errors, "ffn_round_up_to_multiple_of", c.ffnRoundUpToMultipleOf());
        positive(errors, "norm_eps", c.normEps());
        positive(errors, "eps", c.eps());
        positive(errors, "chunk_size", c.chunkSize());
        softCap(errors, "gate_soft_cap", c.gateSoftCap());
        softCap(errors, "output_logit_soft_cap", c.outputLogitSoftCap());
        if (Boolean.TRUE.equals(c.extras().get("tie_word_embeddings")))
            errors.add(new ConfigError("tie_word_embeddings", "is true, but the xLSTM-7B architecture has a separate"
                    + " lm_head (official xlstm_large never ties it to the embedding)"));
        if (!dOk) return;
        if (qkOk) headSplit(errors, "qk_dim_factor", "q/k", c.embeddingDim(), c.qkDimFactor(), hOk ? c.numHeads() : 0);
        if (vOk) headSplit(errors, "v_dim_factor", "v", c.embeddingDim(), c.vDimFactor(), hOk ? c.numHeads() : 0);
        if (ffOk) {
            int u = c.ffnHiddenDim();
            if (u <= 0)
                errors.add(new ConfigError("ffn_proj_factor", "gives a feed-forward hidden dim of " + u
                        + " (embedding_dim " + c.embeddingDim() + " · ffn_proj_factor " + c.ffnProjFactor()
                        + ", rounded up to a multiple of " + c.ffnRoundUpToMultipleOf() + "); it must be positive"));
        }
    }

    /** D·factor must be a whole positive number that num_heads divides (skipped when heads ≤ 0). */
    private static void headSplit(List<ConfigError> errors, String field, String what, int d, double factor, int heads) {
        double dim = d * factor;
        if (dim != Math.rint(dim)) {
            errors.add(new ConfigError(field, field + " = " + factor + " gives a " + what + " dim of embedding_dim "
                    + d + " · " + factor + " = " + dim + ", which is not a whole number (the official code would"
                    + " silently truncate it to " + (int) dim + ")"));
            return;
        }
        if (dim < 1) {
            errors.add(new ConfigError(field, field + " = " + factor + " gives a " + what + " dim of " + (long) dim
                    + " (embedding_dim " + d + " · " + factor + "); it must be positive"));
            return;
        }
        if (heads > 0 && ((long) dim) % heads != 0)
            errors.add(new ConfigError("num_heads", "num_heads = " + heads + " does not divide the " + what + " dim "
                    + (long) dim + " (embedding_dim " + d + " · " + field + " " + factor
                    + "); each head needs a whole head dim"));
    }

    private static void softCap(List<ConfigError> errors, String field, double v) {
        if (v == XlstmLargeConfig.NO_SOFT_CAP) return;
        if (!(v > 0) || Double.isInfinite(v))
            errors.add(new ConfigError(field, "must be positive (or null for no cap); got " + v
                    + " (softcap(x) = cap·tanh(x/cap))"));
    }

    // ---------------------------------------------------------------- shared rules

    private static boolean positive(List<ConfigError> errors, String field, long v) {
        if (v > 0) return true;
        errors.add(new ConfigError(field, "must be positive; got " + v));
        return false;
    }

    private static boolean positive(List<ConfigError> errors, String field, double v) {
        if (v > 0 && Double.isFinite(v)) return true;
        errors.add(new ConfigError(field, "must be a positive, finite number; got " + v));
        return false;
    }

    private static void probability(List<ConfigError> errors, String field, double v) {
        if (v >= 0 && v < 1) return;
        errors.add(new ConfigError(field, "must lie in [0, 1) (a drop probability); got " + v));
    }
}
