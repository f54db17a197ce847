package org.xlstm.jvm.config;

import java.util.Map;

/**
 * {@code mlstm_block}: x ← x + mLSTMLayer(LayerNorm(x)); no feed-forward inside an mLSTM block.
 *
 * @param extras official block-level fields carried through unchanged (e.g. {@code _num_blocks} in dumped configs)
 */
public record MlstmBlockConfig(MlstmLayerConfig mlstm, Map<String, Object> extras) {
    public static final MlstmBlockConfig DEFAULTS = new MlstmBlockConfig(MlstmLayerConfig.DEFAULTS);

    public MlstmBlockConfig {
        if (mlstm == null) mlstm = MlstmLayerConfig.DEFAULTS;
        extras = Extras.copyOf(extras);
    }

    public MlstmBlockConfig(MlstmLayerConfig mlstm) { this(mlstm, Map.of()); }
}
