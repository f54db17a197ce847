package org.xlstm.jvm.backend;

import org.xlstm.jvm.config.Activation;

/** Derivatives of the {@link ScalarMath} functions in double precision, as torch's autograd defines them at kinks. */
public final class Derivatives {
    private Derivatives() {}

    private static final double INV_SQRT_2PI = 1.0 / Math.sqrt(2 * Math.PI);
    private static final double SQRT_HALF = Math.sqrt(0.5);

    /** d act(x) / dx. At the kink of relu torch takes 0; selu's left branch includes 0. */
    public static double of(Activation act, double x) {
        return switch (act) {
            case GELU -> 0.5 * (1.0 + ScalarMath.erf(x * SQRT_HALF)) + x * Math.exp(-0.5 * x * x) * INV_SQRT_2PI;
            case RELU -> x > 0 ? 1.0 : 0.0;
            case RELU2 -> x > 0 ? 2 * x : 0.0;
            case SIGMOID -> {
                double s = ScalarMath.sigmoid(x);
                yield s * (1 - s);
            }
            case SWISH -> {
                double s = ScalarMath.sigmoid(x);
                yield s * (1 + x * (1 - s));
            }
            case SELU -> x > 0 ? ScalarMath.SELU_SCALE : ScalarMath.SELU_SCALE * ScalarMath.SELU_ALPHA * Math.exp(x);
        };
    }
}
