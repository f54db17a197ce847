package org.xlstm.jvm.config;

import java.util.Map;

/**
 * The gated feed-forward of an sLSTM block ({@code slstm_block.feedforward}); {@code ff_type} is always
 * "ffn_gated". Its {@code bias} is its own field (not copied from the top level); dropout comes from the top level.
 */
public record FeedForwardConfig(
        double projFactor,
        Activation actFn,
        boolean bias,
        boolean roundProjUpDimUp,
        int roundProjUpToMultipleOf,
        Map<String, Object> extras) {

    public static final FeedForwardConfig DEFAULTS = new FeedForwardConfig(1.3, Activation.GELU, false, true, 64, Map.of());

    public FeedForwardConfig {
        extras = Extras.copyOf(extras);
    }

    /** Hidden size u of the feed-forward for embedding dimension D. */
    public int hiddenDim(int embeddingDim) {
        return UpProjection.size(embeddingDim, projFactor, roundProjUpDimUp, roundProjUpToMultipleOf);
    }

    public FeedForwardConfig withProjFactor(double v) { return new FeedForwardConfig(v, actFn, bias, roundProjUpDimUp, roundProjUpToMultipleOf, extras); }
    public FeedForwardConfig withActFn(Activation v) { return new FeedForwardConfig(projFactor, v, bias, roundProjUpDimUp, roundProjUpToMultipleOf, extras); }
    public FeedForwardConfig withBias(boolean v) { return new FeedForwardConfig(projFactor, actFn, v, roundProjUpDimUp, roundProjUpToMultipleOf, extras); }
    public FeedForwardConfig withRoundProjUpDimUp(boolean v) { return new FeedForwardConfig(projFactor, actFn, bias, v, roundProjUpToMultipleOf, extras); }
    public FeedForwardConfig withRoundProjUpToMultipleOf(int v) { return new FeedForwardConfig(projFactor, actFn, bias, roundProjUpDimUp, v, extras); }
}
