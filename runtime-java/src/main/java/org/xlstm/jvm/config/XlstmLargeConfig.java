package org.xlstm.jvm.config;

import java.util.Collections;
import java.util.List;
import java.util.Map;

/**
 * The xLSTM-7B architecture (official {@code xlstm_large}), defaults as in XLSTM.md §7. Every block is an mLSTM
 * block followed by a SiLU-gated feed-forward.
 *
 * <p>Soft caps: the official code skips a cap given as {@code None}. Here "no cap" is
 * {@link #NO_SOFT_CAP} (+∞, the limit of c·tanh(x/c) as c grows); the official I/O writes it back as {@code null}.
 * Do not evaluate c·tanh(x/c) with c = +∞ (that is ∞·0); ask {@link #hasGateSoftCap()} first.
 *
 * @param extras official fields carried through unchanged (kernel choices such as chunkwise_kernel, mode)
 */
public record XlstmLargeConfig(
        int embeddingDim,
        int numHeads,
        int numBlocks,
        int vocabSize,
        boolean useBias,
        double normEps,
        boolean normReductionForceFloat32,
        boolean addOutNorm,
        double qkDimFactor,
        double vDimFactor,
        double ffnProjFactor,
        int ffnRoundUpToMultipleOf,
        double gateSoftCap,
        double outputLogitSoftCap,
        double eps,
        int chunkSize,
        WeightMode weightMode,
        Map<String, Object> extras) implements ModelConfig {

    /** The value of a soft cap that is switched off (official {@code None}). */
    public static final double NO_SOFT_CAP = Double.POSITIVE_INFINITY;

    public XlstmLargeConfig {
        if (weightMode == null) weightMode = WeightMode.SINGLE;
        extras = Extras.copyOf(extras);
    }

    /** The published xLSTM-7B sizes: D=4096, 8 heads, 32 blocks, vocab 50,304. */
    public static XlstmLargeConfig xlstm7b() { return defaults(4096, 8, 32, 50304); }

    /** Official defaults with the given sizes. */
    public static XlstmLargeConfig defaults(int embeddingDim, int numHeads, int numBlocks, int vocabSize) {
        return new XlstmLargeConfig(embeddingDim, numHeads, numBlocks, vocabSize, false, 1e-6, true, true, 0.5, 1.0,
                2.6667, 64, 15.0, 30.0, 1e-6, 64, WeightMode.SINGLE, Map.of());
    }

    public static XlstmLargeConfigBuilder builder() { return new XlstmLargeConfigBuilder(); }

    public XlstmLargeConfigBuilder toBuilder() { return new XlstmLargeConfigBuilder(this); }

    @Override
    public List<BlockKind> blockMap() { return Collections.nCopies(Math.max(numBlocks, 0), BlockKind.MLSTM); }

    /** Query/key dimension of all heads together: int(D·qk_dim_factor), truncated as officially. */
    public int qkDim() { return (int) (embeddingDim * qkDimFactor); }

    /** Value/output dimension of all heads together: int(D·v_dim_factor), truncated as officially. */
    public int vDim() { return (int) (embeddingDim * vDimFactor); }

    /** Query/key head dimension DHQK = qkDim / num_heads. */
    public int qkHeadDim() { return numHeads == 0 ? 0 : qkDim() / numHeads; }

    /** Value head dimension DHV = vDim / num_heads. */
    public int vHeadDim() { return numHeads == 0 ? 0 : vDim() / numHeads; }

    /**
     * Feed-forward hidden size: the official round_up_to_next_multiple_of(D·ffn_proj_factor,
     * ffn_round_up_to_multiple_of), see {@link UpProjection#roundUpToNextMultipleOf}.
     */
    public int ffnHiddenDim() {
        return UpProjection.roundUpToNextMultipleOf(embeddingDim * ffnProjFactor, ffnRoundUpToMultipleOf);
    }

    /** Whether gate pre-activations are soft-capped (false when gate_soft_cap is official None). */
    public boolean hasGateSoftCap() { return gateSoftCap != NO_SOFT_CAP; }

    /** Whether logits are soft-capped (false when output_logit_soft_cap is official None). */
    public boolean hasOutputLogitSoftCap() { return outputLogitSoftCap != NO_SOFT_CAP; }
}
