package org.xlstm.jvm.config;

import java.util.Map;

/**
 * The mLSTM layer ({@code mlstm_block.mlstm}). {@code bias}, {@code dropout}, {@code embedding_dim} and
 * {@code context_length} are copied from the top level by the official code, so they live on {@link XlstmConfig}.
 *
 * @param extras official fields we carry through unchanged (kernel tuning that does not change the math)
 */
public record MlstmLayerConfig(
        int numHeads,
        double projFactor,
        int conv1dKernelSize,
        int qkvProjBlocksize,
        boolean roundProjUpDimUp,
        int roundProjUpToMultipleOf,
        Map<String, Object> extras) {

    public static final MlstmLayerConfig DEFAULTS = new MlstmLayerConfig(4, 2.0, 4, 4, true, 64, Map.of());

    public MlstmLayerConfig {
        extras = Extras.copyOf(extras);
    }

    /** Inner (up-projected) dimension u for embedding dimension D. */
    public int innerDim(int embeddingDim) {
        return UpProjection.size(embeddingDim, projFactor, roundProjUpDimUp, roundProjUpToMultipleOf);
    }

    public MlstmLayerConfig withNumHeads(int v) { return new MlstmLayerConfig(v, projFactor, conv1dKernelSize, qkvProjBlocksize, roundProjUpDimUp, roundProjUpToMultipleOf, extras); }
    public MlstmLayerConfig withProjFactor(double v) { return new MlstmLayerConfig(numHeads, v, conv1dKernelSize, qkvProjBlocksize, roundProjUpDimUp, roundProjUpToMultipleOf, extras); }
    public MlstmLayerConfig withConv1dKernelSize(int v) { return new MlstmLayerConfig(numHeads, projFactor, v, qkvProjBlocksize, roundProjUpDimUp, roundProjUpToMultipleOf, extras); }
    public MlstmLayerConfig withQkvProjBlocksize(int v) { return new MlstmLayerConfig(numHeads, projFactor, conv1dKernelSize, v, roundProjUpDimUp, roundProjUpToMultipleOf, extras); }
    public MlstmLayerConfig withRoundProjUpDimUp(boolean v) { return new MlstmLayerConfig(numHeads, projFactor, conv1dKernelSize, qkvProjBlocksize, v, roundProjUpToMultipleOf, extras); }
    public MlstmLayerConfig withRoundProjUpToMultipleOf(int v) { return new MlstmLayerConfig(numHeads, projFactor, conv1dKernelSize, qkvProjBlocksize, roundProjUpDimUp, v, extras); }
}
