package org.xlstm.jvm.config;

import java.util.Map;

/**
 * The sLSTM layer ({@code slstm_block.slstm}). Hidden size is the top-level embedding dim; dropout is copied from
 * the top level.
 *
 * @param conv1dKernelSize 0 means no causal convolution
 * @param backend          changes only the stored layout of the recurrent kernel and bias (XLSTM.md §5)
 * @param extras           official fields carried through unchanged (kernel tuning such as dtype, function)
 */
public record SlstmLayerConfig(
        int numHeads,
        int conv1dKernelSize,
        SlstmBackend backend,
        BiasInit biasInit,
        RecurrentWeightInit recurrentWeightInit,
        boolean groupNormWeight,
        Map<String, Object> extras) {

    public static final SlstmLayerConfig DEFAULTS = new SlstmLayerConfig(4, 4, SlstmBackend.CUDA,
            BiasInit.POWERLAW_BLOCKDEPENDENT, RecurrentWeightInit.ZEROS, true, Map.of());

    public SlstmLayerConfig {
        extras = Extras.copyOf(extras);
    }

    public SlstmLayerConfig withNumHeads(int v) { return new SlstmLayerConfig(v, conv1dKernelSize, backend, biasInit, recurrentWeightInit, groupNormWeight, extras); }
    public SlstmLayerConfig withConv1dKernelSize(int v) { return new SlstmLayerConfig(numHeads, v, backend, biasInit, recurrentWeightInit, groupNormWeight, extras); }
    public SlstmLayerConfig withBackend(SlstmBackend v) { return new SlstmLayerConfig(numHeads, conv1dKernelSize, v, biasInit, recurrentWeightInit, groupNormWeight, extras); }
    public SlstmLayerConfig withBiasInit(BiasInit v) { return new SlstmLayerConfig(numHeads, conv1dKernelSize, backend, v, recurrentWeightInit, groupNormWeight, extras); }
    public SlstmLayerConfig withRecurrentWeightInit(RecurrentWeightInit v) { return new SlstmLayerConfig(numHeads, conv1dKernelSize, backend, biasInit, v, groupNormWeight, extras); }
    public SlstmLayerConfig withGroupNormWeight(boolean v) { return new SlstmLayerConfig(numHeads, conv1dKernelSize, backend, biasInit, recurrentWeightInit, v, extras); }
}
