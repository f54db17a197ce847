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
 * Freshly initialised parameters following the official rules (each layer names its rule), seeded: the same seed
 * and architecture give the same weights. Each parameter draws from its own generator split off by name, so adding
 * a layer does not change the others.
 */
public final class InitParams implements ParamSource {
    private final Arena arena;
    private final long seed;
    private final Map<String, int[]> created = new LinkedHashMap<>();

    public InitParams(Arena arena, long seed) {
        this.arena = arena;
        this.seed = seed;
    }

    @Override
    public Tensor get(String name, Init init, int... shape) {
        created.put(name, shape.clone());
        float[] v = new float[Math.toIntExact(Shapes.numel(shape))];
        init.fill(v, new SplittableRandom(seed * 0x9E3779B97F4A7C15L + name.hashCode()));
        return Tensor.of(arena, v, shape);
    }

    @Override
    public void allow(String name) {}

    @Override
    public Arena arena() { return arena; }

    /** Official names and shapes of everything created, in order. */
    public Map<String, int[]> created() { return created; }
}
