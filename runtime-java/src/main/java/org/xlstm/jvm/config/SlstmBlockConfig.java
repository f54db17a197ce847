package org.xlstm.jvm.config;

import java.util.Optional;

/**
 * {@code slstm_block}: x ← x + sLSTMLayer(LayerNorm(x)), then x ← x + FFN(LayerNorm(x)) when a feed-forward
 * is configured.
 *
 * @param feedforward null when the block has no feed-forward
 */
public record SlstmBlockConfig(SlstmLayerConfig slstm, FeedForwardConfig feedforward) {
    public static final SlstmBlockConfig DEFAULTS = new SlstmBlockConfig(SlstmLayerConfig.DEFAULTS, FeedForwardConfig.DEFAULTS);

    public SlstmBlockConfig {
        if (slstm == null) slstm = SlstmLayerConfig.DEFAULTS;
    }

    public Optional<FeedForwardConfig> feedforwardOpt() { return Optional.ofNullable(feedforward); }
}
