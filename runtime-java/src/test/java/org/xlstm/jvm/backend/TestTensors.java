package org.xlstm.jvm.backend;

import java.lang.foreign.Arena;
import java.util.SplittableRandom;
import org.xlstm.jvm.tensor.Tensor;

/** Random tensors and error measures for backend tests. */
final class TestTensors {
    private TestTensors() {}

    static Tensor random(Arena arena, SplittableRandom rnd, double scale, int... shape) {
        Tensor t = Tensor.allocate(arena, shape);
        for (long i = 0; i < t.size(); i++) t.set(i, (float) (rnd.nextGaussian() * scale));
        return t;
    }

    static Tensor copy(Arena arena, Tensor t) {
        Tensor c = Tensor.allocate(arena, t.shape());
        c.copyFrom(t);
        return c;
    }

    /** Normwise relative error ‖a − b‖ / ‖b‖ (the fixtures' measure). */
    static double relErr(Tensor a, Tensor b) {
        double num = 0, den = 0;
        for (long i = 0; i < b.size(); i++) {
            double d = (double) a.get(i) - b.get(i);
            num += d * d;
            den += (double) b.get(i) * b.get(i);
        }
        return den == 0 ? Math.sqrt(num) : Math.sqrt(num / den);
    }
}
