package org.xlstm.jvm.model;

import java.lang.foreign.Arena;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SplittableRandom;
import org.xlstm.jvm.nn.Init;
import org.xlstm.jvm.nn.ParamSource;
import org.xlstm.jvm.tensor.Shapes;
import org.xlstm.jvm.tensor.Tensor;

/**
 * Test parameters: every tensor random regardless of the official init, seeded per name, so that gates,
 * recurrent kernels and norms all take non-trivial values (the official init zeroes several of them).
 */
final class RandomParams implements ParamSource {
    private final Arena arena = Arena.ofShared();
    private final long seed;
    private final double scale;
    final Map<String, float[]> values = new LinkedHashMap<>();
    final Map<String, int[]> shapes = new LinkedHashMap<>();

    RandomParams(long seed, double scale) {
        this.seed = seed;
        this.scale = scale;
    }

    @Override
    public Tensor get(String name, Init init, int... shape) {
        float[] v = new float[(int) Shapes.numel(shape)];
        SplittableRandom r = new SplittableRandom(seed ^ name.hashCode() * 31L);
        // matrices scaled by 1/√fan_in so pre-activations stay O(1) (as in trained models): with larger ones the
        // mLSTM normaliser can nearly cancel and float rounding is amplified, in any float implementation
        double std = shape.length >= 2 ? scale / Math.sqrt(shape[shape.length - 1]) : scale;
        for (int i = 0; i < v.length; i++) v[i] = (float) (r.nextGaussian() * std);
        values.put(name, v);
        shapes.put(name, shape.clone());
        return Tensor.of(arena, v, shape);
    }

    @Override
    public void allow(String name) {}

    @Override
    public Arena arena() { return arena; }
}
