package org.xlstm.jvm.backend.cpu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.function.DoubleUnaryOperator;
import java.util.function.UnaryOperator;
import jdk.incubator.vector.FloatVector;
import org.junit.jupiter.api.Test;
import org.xlstm.jvm.backend.ScalarMath;
import org.xlstm.jvm.config.Activation;

/** The deterministic vector functions against double-precision scalar math over dense sweeps. */
class VectorMathTest {
    private static double maxRelErr(UnaryOperator<FloatVector> f, DoubleUnaryOperator ref, double lo, double hi, double floor) {
        int lanes = Simd.LANES, n = 200_000;
        float[] in = new float[lanes], out = new float[lanes];
        double worst = 0;
        for (int i = 0; i < n; i += lanes) {
            for (int l = 0; l < lanes; l++) in[l] = (float) (lo + (hi - lo) * (i + l) / n);
            f.apply(FloatVector.fromArray(Simd.S, in, 0)).intoArray(out, 0);
            for (int l = 0; l < lanes; l++) {
                double r = ref.applyAsDouble(in[l]);
                double e = out[l] == r ? 0 : Math.abs(out[l] - r) / Math.max(Math.abs(r), floor);
                worst = Double.isNaN(e) ? Double.POSITIVE_INFINITY : Math.max(worst, e);
            }
        }
        return worst;
    }

    private static void check(String what, double err, double tol) {
        assertTrue(err < tol, what + ": max relative error " + err);
    }

    @Test
    void expExpm1TanhLog1pAreFloatAccurate() {
        check("exp", maxRelErr(VectorMath::exp, Math::exp, -87, 88, 0), 3e-7);
        check("expm1", maxRelErr(VectorMath::expm1, Math::expm1, -20, 20, 1e-30), 3e-7);
        check("tanh", maxRelErr(VectorMath::tanh, Math::tanh, -12, 12, 1e-30), 3e-7);
        check("tanh near 0", maxRelErr(VectorMath::tanh, Math::tanh, -1e-3, 1e-3, 1e-30), 3e-7);
        check("log1p", maxRelErr(VectorMath::log1pNonNegative, Math::log1p, 0, 3, 0), 3e-7);
        check("log1p near 0", maxRelErr(VectorMath::log1pNonNegative, Math::log1p, 0, 1e-3, 0), 3e-7);
        check("logSigmoid", maxRelErr(VectorMath::logSigmoid, ScalarMath::logSigmoid, -50, 30, 1e-30), 5e-7);
        check("sigmoid", maxRelErr(VectorMath::sigmoid, ScalarMath::sigmoid, -80, 80, 0), 3e-7);
    }

    @Test
    void everyActivationMatchesTheOfficialDefinition() {
        for (Activation a : Activation.values())
            // relative to max(|y|, 1e-4): far in the negative tail GELU's input x/√2 itself is only known to float
            // precision, which an exponent of −x²/2 amplifies
            check(a.toString(), maxRelErr(x -> VectorMath.apply(a, x), x -> ScalarMath.apply(a, x), -12, 12, 1e-4), 5e-7);
    }

    @Test
    void extremesSaturate() {
        float[] in = new float[Simd.LANES], out = new float[Simd.LANES];
        java.util.Arrays.fill(in, 100f);
        VectorMath.exp(FloatVector.fromArray(Simd.S, in, 0)).intoArray(out, 0);
        assertEquals(Float.POSITIVE_INFINITY, out[0]);
        java.util.Arrays.fill(in, -100f);
        VectorMath.exp(FloatVector.fromArray(Simd.S, in, 0)).intoArray(out, 0);
        assertEquals(0f, out[0]);
        VectorMath.sigmoid(FloatVector.fromArray(Simd.S, in, 0)).intoArray(out, 0);
        assertEquals(0f, out[0]);
        VectorMath.tanh(FloatVector.fromArray(Simd.S, in, 0)).intoArray(out, 0);
        assertEquals(-1f, out[0]);
    }
}
