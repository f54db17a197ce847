package org.xlstm.jvm.config;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;

/**
 * The xLSTM language model of the paper (official {@code xLSTMLMModelConfig}), defaults as in XLSTM.md §1.
 *
 * @param slstmAt     block indices holding sLSTM blocks (explicit list; the official "all" is expanded on reading)
 * @param mlstmBlock  null when no mLSTM block is configured: then every block is sLSTM, as officially
 * @param slstmBlock  null when no sLSTM block is configured
 * @param extras      official top-level fields carried through unchanged
 */
public record XlstmConfig(
        int vocabSize,
        int contextLength,
        int numBlocks,
        int embeddingDim,
        List<Integer> slstmAt,
        MlstmBlockConfig mlstmBlock,
        SlstmBlockConfig slstmBlock,
        boolean addPostBlocksNorm,
        boolean bias,
        double dropout,
        boolean tieWeights,
        boolean weightDecayOnEmbedding,
        boolean addEmbeddingDropout,
        Map<String, Object> extras) implements ModelConfig {

    public XlstmConfig {
        slstmAt = slstmAt == null ? List.of() : List.copyOf(slstmAt);
        // Without an mLSTM block every block is sLSTM (the official rule); say so in slstm_at too, so that two
        // configs of the same architecture are equal however the file spelled it.
        if (mlstmBlock == null && numBlocks > 0 && !slstmAt.equals(allBlocks(numBlocks))) slstmAt = allBlocks(numBlocks);
        extras = Extras.copyOf(extras);
    }

    private static List<Integer> allBlocks(int n) {
        return java.util.stream.IntStream.range(0, n).boxed().toList();
    }

    /** Official defaults for everything but the sizes that have none (vocab size, context length). */
    public static XlstmConfig defaults(int vocabSize, int contextLength) {
        return new XlstmConfig(vocabSize, contextLength, 1, 128, List.of(), MlstmBlockConfig.DEFAULTS, null,
                true, false, 0.0, false, false, false, Map.of());
    }

    public static XlstmConfigBuilder builder() { return new XlstmConfigBuilder(); }

    @Override
    public List<BlockKind> blockMap() {
        List<BlockKind> map = new ArrayList<>(Collections.nCopies(Math.max(numBlocks, 0), BlockKind.MLSTM));
        if (mlstmBlock == null) {
            Collections.fill(map, BlockKind.SLSTM);
        } else {
            for (int i : slstmAt) if (i >= 0 && i < map.size()) map.set(i, BlockKind.SLSTM);
        }
        return List.copyOf(map);
    }

    /** The sLSTM positions in effect (all blocks when no mLSTM block is configured), ascending. */
    public List<Integer> effectiveSlstmAt() {
        List<Integer> out = new ArrayList<>();
        List<BlockKind> map = blockMap();
        for (int i = 0; i < map.size(); i++) if (map.get(i) == BlockKind.SLSTM) out.add(i);
        return out;
    }

    /** mLSTM inner dimension u (0 when no mLSTM block is configured). */
    public int mlstmInnerDim() {
        return mlstmBlock == null ? 0 : mlstmBlock.mlstm().innerDim(embeddingDim);
    }

    public XlstmConfigBuilder toBuilder() { return new XlstmConfigBuilder(this); }
}
