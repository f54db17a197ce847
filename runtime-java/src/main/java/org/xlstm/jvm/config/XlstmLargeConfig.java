package org.xlstm.jvm.config;

import java.util.Collections;
import java.util.List;
import java.util.Map;

/**
 * The xLSTM-7B architecture (official {@code xlstm_large}), defaults as in XLSTM.md §7. Every block is an mLSTM
 * block followed by a SiLU-gated feed-forward.
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

    public XlstmLargeConfig {
        if (weightMode == null) weightMode = WeightMode.SINGLE;
        extras = extras == null ? Map.of() : Map.copyOf(extras);
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

    /** Query/key dimension of all heads together: D·qk_dim_factor. */
    public int qkDim() { return (int) (embeddingDim * qkDimFactor); }

    /** Value/output dimension of all heads together: D·v_dim_factor. */
    public int vDim() { return (int) (embeddingDim * vDimFactor); }

    /** Feed-forward hidden size: D·ffn_proj_factor rounded up to a multiple of ffn_round_up_to_multiple_of. */
    public int ffnHiddenDim() { return UpProjection.size(embeddingDim, ffnProjFactor, true, ffnRoundUpToMultipleOf); }
}
