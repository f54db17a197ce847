package org.xlstm.jvm.config;

import java.util.Map;
import java.util.Optional;

/**
 * {@code slstm_block}: x ← x + sLSTMLayer(LayerNorm(x)), then x ← x + FFN(LayerNorm(x)) when a feed-forward
 * is configured.
 *
 * @param feedforward null when the block has no feed-forward
 * @param extras      official block-level fields carried through unchanged
 */
public record SlstmBlockConfig(SlstmLayerConfig slstm, FeedForwardConfig feedforward, Map<String, Object> extras) {
    public static final SlstmBlockConfig DEFAULTS = new SlstmBlockConfig(SlstmLayerConfig.DEFAULTS, FeedForwardConfig.DEFAULTS);

    public SlstmBlockConfig {
        if (slstm == null) slstm = SlstmLayerConfig.DEFAULTS;
        extras = Extras.copyOf(extras);
    }

    public SlstmBlockConfig(SlstmLayerConfig slstm, FeedForwardConfig feedforward) { this(slstm, feedforward, Map.of()); }

    public Optional<FeedForwardConfig> feedforwardOpt() { return Optional.ofNullable(feedforward); }
}
