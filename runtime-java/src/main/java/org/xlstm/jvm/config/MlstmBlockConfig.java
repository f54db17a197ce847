package org.xlstm.jvm.config;

/** {@code mlstm_block}: x ← x + mLSTMLayer(LayerNorm(x)); no feed-forward inside an mLSTM block. */
public record MlstmBlockConfig(MlstmLayerConfig mlstm) {
    public static final MlstmBlockConfig DEFAULTS = new MlstmBlockConfig(MlstmLayerConfig.DEFAULTS);

    public MlstmBlockConfig {
        if (mlstm == null) mlstm = MlstmLayerConfig.DEFAULTS;
    }
}
