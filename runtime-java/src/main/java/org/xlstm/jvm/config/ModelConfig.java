package org.xlstm.jvm.config;

/**
 * A whole architecture: either the xLSTM language model of the paper ({@link XlstmConfig}, official
 * {@code xLSTMLMModelConfig}) or the xLSTM-7B architecture ({@link XlstmLargeConfig}, official {@code xlstm_large}).
 */
public sealed interface ModelConfig permits XlstmConfig, XlstmLargeConfig {
    int vocabSize();

    int embeddingDim();

    int numBlocks();

    /** The kind of block at each position, length {@link #numBlocks()}. */
    java.util.List<BlockKind> blockMap();

    /** Throws {@link ConfigException} listing every broken rule; returns this when the architecture is possible. */
    default ModelConfig validated() {
        ConfigValidator.requireValid(this);
        return this;
    }
}
