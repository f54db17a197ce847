package org.xlstm.jvm.backend.cuda;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.lang.foreign.Arena;
import java.util.SplittableRandom;
import org.xlstm.jvm.cuda.CudaContext;
import org.xlstm.jvm.tensor.Tensor;

/** What the GPU tests share: the device context (or a clean skip where there is no GPU), random inputs, errors. */
final class GpuTests {
    private GpuTests() {}

    /** Device 0's context, or the calling test class skipped with the reason (CI machines have no GPU). */
    static CudaContext openOrSkip() {
        assumeTrue(CudaContext.isAvailable(), () -> "GPU tests skipped: " + CudaContext.unavailableReason());
        return CudaContext.open(0);
    }

    /** A host tensor of normal values, mean {@code shift}, standard deviation {@code scale}. */
    static Tensor gaussian(Arena a, SplittableRandom r, double scale, double shift, int... shape) {
        Tensor t = Tensor.allocate(a, shape);
        for (long i = 0; i < t.size(); i++) t.set(i, (float) (shift + r.nextGaussian() * scale));
        return t;
    }

    /** Normwise relative error ‖got − want‖ / ‖want‖ (absolute when want is 0; infinite when got holds a NaN). */
    static double relErr(Tensor got, Tensor want) {
        return relErr(got, want, 0);
    }

    /** As {@link #relErr(Tensor, Tensor)} with ‖want‖ floored at {@code floor} per element. */
    static double relErr(Tensor got, Tensor want, double floor) {
        double num = 0, den = 0;
        for (long i = 0; i < want.size(); i++) {
            double d = (double) got.get(i) - want.get(i);
            num += d * d;
            den += (double) want.get(i) * want.get(i);
        }
        den = Math.max(den, floor * floor * want.size());
        double e = den == 0 ? Math.sqrt(num) : Math.sqrt(num / den);
        return Double.isNaN(e) ? Double.POSITIVE_INFINITY : e;
    }
}
