package org.xlstm.jvm.config;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Fluent Java builder with the same power as the Kotlin DSL. Placement can be given as a ratio, a pattern or an
 * explicit list; the last one set wins. {@link #build()} resolves the placement and validates everything, throwing
 * {@link ConfigException} with every broken rule.
 */
public final class XlstmConfigBuilder {
    private int vocabSize = -1;
    private int contextLength = -1;
    private int numBlocks = 1;
    private boolean numBlocksSet;
    private int embeddingDim = 128;
    private List<Integer> slstmAt = List.of();
    private int ratioM = -1, ratioS = -1;
    private String pattern;
    private MlstmBlockConfig mlstmBlock = MlstmBlockConfig.DEFAULTS;
    private SlstmBlockConfig slstmBlock;
    private boolean addPostBlocksNorm = true;
    private boolean bias;
    private double dropout;
    private boolean tieWeights;
    private boolean weightDecayOnEmbedding;
    private boolean addEmbeddingDropout;
    private final Map<String, Object> extras = new java.util.LinkedHashMap<>();

    public XlstmConfigBuilder() {}

    XlstmConfigBuilder(XlstmConfig c) {
        vocabSize = c.vocabSize();
        contextLength = c.contextLength();
        numBlocks = c.numBlocks();
        numBlocksSet = true;
        embeddingDim = c.embeddingDim();
        slstmAt = c.slstmAt();
        mlstmBlock = c.mlstmBlock();
        slstmBlock = c.slstmBlock();
        addPostBlocksNorm = c.addPostBlocksNorm();
        bias = c.bias();
        dropout = c.dropout();
        tieWeights = c.tieWeights();
        weightDecayOnEmbedding = c.weightDecayOnEmbedding();
        addEmbeddingDropout = c.addEmbeddingDropout();
        extras.putAll(c.extras());
    }

    public XlstmConfigBuilder vocabSize(int v) { vocabSize = v; return this; }
    public XlstmConfigBuilder contextLength(int v) { contextLength = v; return this; }
    public XlstmConfigBuilder numBlocks(int v) { numBlocks = v; numBlocksSet = true; return this; }
    public XlstmConfigBuilder embeddingDim(int v) { embeddingDim = v; return this; }
    public XlstmConfigBuilder addPostBlocksNorm(boolean v) { addPostBlocksNorm = v; return this; }
    public XlstmConfigBuilder bias(boolean v) { bias = v; return this; }
    public XlstmConfigBuilder dropout(double v) { dropout = v; return this; }
    public XlstmConfigBuilder tieWeights(boolean v) { tieWeights = v; return this; }
    public XlstmConfigBuilder weightDecayOnEmbedding(boolean v) { weightDecayOnEmbedding = v; return this; }
    public XlstmConfigBuilder addEmbeddingDropout(boolean v) { addEmbeddingDropout = v; return this; }
    public XlstmConfigBuilder extra(String officialKey, Object value) { extras.put(officialKey, value); return this; }

    /** Explicit sLSTM positions (official {@code slstm_at}). */
    public XlstmConfigBuilder slstmAt(int... positions) {
        List<Integer> l = new ArrayList<>();
        for (int p : positions) l.add(p);
        return slstmAt(l);
    }

    public XlstmConfigBuilder slstmAt(List<Integer> positions) {
        slstmAt = List.copyOf(positions);
        ratioM = ratioS = -1;
        pattern = null;
        return this;
    }

    /** The paper's xLSTM[m:s]; positions follow {@link BlockPlacement#ratio}. */
    public XlstmConfigBuilder ratio(int mlstm, int slstm) {
        ratioM = mlstm;
        ratioS = slstm;
        pattern = null;
        return this;
    }

    /** A pattern such as "mmms mmmm"; sets the block count too unless it was set explicitly. */
    public XlstmConfigBuilder pattern(String p) {
        pattern = p;
        ratioM = ratioS = -1;
        return this;
    }

    public XlstmConfigBuilder mlstmBlock(MlstmBlockConfig v) { mlstmBlock = v; return this; }
    public XlstmConfigBuilder mlstm(MlstmLayerConfig v) {
        mlstmBlock = new MlstmBlockConfig(v, mlstmBlock == null ? Map.of() : mlstmBlock.extras());
        return this;
    }
    /** No mLSTM block configured: every block is sLSTM, as officially. */
    public XlstmConfigBuilder noMlstm() { mlstmBlock = null; return this; }
    public XlstmConfigBuilder slstmBlock(SlstmBlockConfig v) { slstmBlock = v; return this; }

    public XlstmConfigBuilder slstm(SlstmLayerConfig v) {
        slstmBlock = slstmBlock == null ? new SlstmBlockConfig(v, FeedForwardConfig.DEFAULTS)
                : new SlstmBlockConfig(v, slstmBlock.feedforward(), slstmBlock.extras());
        return this;
    }

    /** Sets the sLSTM block's feed-forward (configuring a default sLSTM layer if none yet); null removes it. */
    public XlstmConfigBuilder feedForward(FeedForwardConfig v) {
        slstmBlock = slstmBlock == null ? new SlstmBlockConfig(SlstmLayerConfig.DEFAULTS, v)
                : new SlstmBlockConfig(slstmBlock.slstm(), v, slstmBlock.extras());
        return this;
    }

    /** Resolves the placement, validates, and returns the immutable config. */
    public XlstmConfig build() {
        List<Integer> positions = slstmAt;
        int blocks = numBlocks;
        if (pattern != null) {
            positions = BlockPlacement.pattern(pattern);
            int len = BlockPlacement.patternLength(pattern);
            if (!numBlocksSet) blocks = len;
            else if (len != blocks)
                throw new ConfigException("pattern", "pattern \"" + pattern + "\" names " + len
                        + " blocks but num_blocks = " + blocks);
        } else if (ratioM >= 0) {
            positions = BlockPlacement.ratio(ratioM, ratioS, blocks);
        }
        XlstmConfig c = new XlstmConfig(vocabSize, contextLength, blocks, embeddingDim, positions, mlstmBlock,
                slstmBlock, addPostBlocksNorm, bias, dropout, tieWeights, weightDecayOnEmbedding, addEmbeddingDropout,
                extras);
        ConfigValidator.requireValid(c);
        return c;
    }

    /** Like {@link #build()} but without validation (for tools that report problems themselves). */
    public XlstmConfig buildUnchecked() {
        List<Integer> positions = slstmAt;
        int blocks = numBlocks;
        if (pattern != null) {
            positions = BlockPlacement.pattern(pattern);
            if (!numBlocksSet) blocks = BlockPlacement.patternLength(pattern);
        } else if (ratioM >= 0) {
            positions = BlockPlacement.ratio(ratioM, ratioS, blocks);
        }
        return new XlstmConfig(vocabSize, contextLength, blocks, embeddingDim, positions, mlstmBlock, slstmBlock,
                addPostBlocksNorm, bias, dropout, tieWeights, weightDecayOnEmbedding, addEmbeddingDropout, extras);
    }
}
