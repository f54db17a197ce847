package org.xlstm.jvm.backend.cpu;

import static org.xlstm.jvm.backend.cpu.Simd.S;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import org.xlstm.jvm.backend.ScalarMath;
import org.xlstm.jvm.config.Activation;

/**
 * Derivatives of the activations on whole vectors, in float, built from {@link VectorMath}'s bit-reproducible
 * functions; tested against {@link org.xlstm.jvm.backend.Derivatives}.
 */
final class VectorGrads {
    private VectorGrads() {}

    private static final float INV_SQRT2 = (float) Math.sqrt(0.5);
    private static final float INV_SQRT_2PI = (float) (1.0 / Math.sqrt(2 * Math.PI));
    private static final float SELU_SCALE = (float) ScalarMath.SELU_SCALE;
    private static final float SELU_AS = (float) (ScalarMath.SELU_SCALE * ScalarMath.SELU_ALPHA);

    @SuppressWarnings("unchecked")
    private static final jdk.incubator.vector.VectorShuffle<Float>[] ROTATE = new jdk.incubator.vector.VectorShuffle[Simd.LANES];

    static {
        for (int shift = 1; shift < Simd.LANES; shift *= 2) ROTATE[shift] = jdk.incubator.vector.VectorShuffle.iota(S, shift, 1, true);
    }

    /**
     * The sum of the lanes in a fixed order (pairwise by lane rotations). {@code reduceLanes(ADD)} leaves the order
     * to the implementation, and the interpreter and the JIT intrinsic do differ in the last bit: a result could
     * then depend on warm-up, and so on which thread ran the task.
     */
    static float sum(FloatVector v) {
        for (int shift = Simd.LANES / 2; shift >= 1; shift /= 2) v = v.add(v.rearrange(ROTATE[shift]));
        return v.lane(0);
    }

    /** act'(x). */
    static FloatVector derivative(Activation act, FloatVector x) {
        return switch (act) {
            case GELU -> geluDerivative(x);
            case RELU -> FloatVector.broadcast(S, 0f).blend(1f, x.compare(VectorOperators.GT, 0f));
            case RELU2 -> x.max(0f).mul(2f);
            case SIGMOID -> {
                FloatVector s = VectorMath.sigmoid(x);
                yield s.mul(s.neg().add(1f));
            }
            case SWISH -> {
                FloatVector s = VectorMath.sigmoid(x);
                yield x.mul(s.neg().add(1f)).add(1f).mul(s);
            }
            case SELU -> VectorMath.exp(x.min(0f)).mul(SELU_AS).blend(SELU_SCALE, x.compare(VectorOperators.GT, 0f));
        };
    }

    /** Φ(x) + x·φ(x): erfc as VectorMath.gelu computes it, and the normal density. */
    static FloatVector geluDerivative(FloatVector x) {
        FloatVector z = x.abs().mul(INV_SQRT2);
        FloatVector t = FloatVector.broadcast(S, 1f).div(z.mul(0.5f).add(1f));
        FloatVector poly = t.mul(0.17087277f).add(-0.82215223f);
        poly = poly.fma(t, FloatVector.broadcast(S, 1.48851587f));
        poly = poly.fma(t, FloatVector.broadcast(S, -1.13520398f));
        poly = poly.fma(t, FloatVector.broadcast(S, 0.27886807f));
        poly = poly.fma(t, FloatVector.broadcast(S, -0.18628806f));
        poly = poly.fma(t, FloatVector.broadcast(S, 0.09678418f));
        poly = poly.fma(t, FloatVector.broadcast(S, 0.37409196f));
        poly = poly.fma(t, FloatVector.broadcast(S, 1.00002368f));
        poly = poly.fma(t, FloatVector.broadcast(S, -1.26551223f));
        FloatVector x2hi = x.mul(x);
        FloatVector x2lo = x.fma(x, x2hi.neg());
        FloatVector gauss = VectorMath.exp(x2hi.mul(-0.5f));           // e^{−x²/2} up to the lo part
        FloatVector erfc = t.mul(gauss).mul(VectorMath.exp(poly.sub(x2lo.mul(0.5f))));
        FloatVector phi2 = erfc.neg().add(2f).blend(erfc, x.compare(VectorOperators.LT, 0f));
        FloatVector density = gauss.mul(VectorMath.exp(x2lo.mul(-0.5f))).mul(INV_SQRT_2PI);
        return phi2.mul(0.5f).add(x.mul(density));
    }

    /** d/dx cap·tanh(x/cap) = 1 − tanh²(x/cap). */
    static FloatVector softCapDerivative(FloatVector x, float cap) {
        FloatVector t = VectorMath.tanh(x.div(cap));
        return t.mul(t).neg().add(1f);
    }
}
