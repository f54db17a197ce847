package org.xlstm.jvm.train;

import java.util.List;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;
import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;

/** Gradient norms and clipping by the global L2 norm, as torch.nn.utils.clip_grad_norm_. */
public final class GradientClipping {
    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    private static final ByteOrder NATIVE = ByteOrder.nativeOrder();

    private GradientClipping() {}

    /** The L2 norm of all gradients together (summed in double: exact enough for any model size). */
    public static double globalNorm(List<Parameter> parameters) {
        double sum = 0;
        for (Parameter p : parameters) sum += squaredSum(p.grad(), p.size());
        return Math.sqrt(sum);
    }

    /**
     * Scales every gradient by maxNorm / (norm + 1e-6) when that is below 1 (torch's rule, the 1e-6 included) and
     * returns the norm before clipping. A non-finite norm is returned without scaling (torch would scale the
     * gradients to NaN); the trainer stops on it.
     */
    public static double clipByGlobalNorm(List<Parameter> parameters, double maxNorm) {
        double norm = globalNorm(parameters);
        if (!Double.isFinite(norm)) return norm;
        float coef = (float) (maxNorm / (norm + 1e-6));
        if (coef < 1f) for (Parameter p : parameters) scale(p.grad(), p.size(), coef);
        return norm;
    }

    static double squaredSum(MemorySegment g, long n) {
        double total = 0;
        long i = 0;
        // Blocks of float lanes summed in float then folded into double: fast, and each block is short.
        long upper = S.loopBound(n);
        while (i < upper) {
            FloatVector acc = FloatVector.zero(S);
            long blockEnd = Math.min(upper, i + 64L * S.length());
            for (; i < blockEnd; i += S.length()) {
                FloatVector v = FloatVector.fromMemorySegment(S, g, i * 4, NATIVE);
                acc = v.fma(v, acc);
            }
            total += acc.reduceLanes(VectorOperators.ADD);
        }
        for (; i < n; i++) {
            float x = g.getAtIndex(Parameter.F32, i);
            total += (double) x * x;
        }
        return total;
    }

    static void scale(MemorySegment g, long n, float c) {
        long i = 0;
        for (long upper = S.loopBound(n); i < upper; i += S.length())
            FloatVector.fromMemorySegment(S, g, i * 4, NATIVE).mul(c).intoMemorySegment(g, i * 4, NATIVE);
        for (; i < n; i++) g.setAtIndex(Parameter.F32, i, g.getAtIndex(Parameter.F32, i) * c);
    }
}
