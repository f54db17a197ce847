package org.xlstm.jvm.backend;

import org.xlstm.jvm.config.Activation;

/**
 * Scalar functions in double precision, as the official code defines them. The reference backend uses these
 * directly; the fast backend uses vectorised float versions and is tested against these.
 */
public final class ScalarMath {
    private ScalarMath() {}

    private static final double TWO_OVER_SQRT_PI = 2.0 / Math.sqrt(Math.PI);
    private static final double SQRT_PI = Math.sqrt(Math.PI);
    private static final double SQRT_HALF = Math.sqrt(0.5);
    /** SELU constants of torch.nn.functional.selu. */
    public static final double SELU_ALPHA = 1.6732632423543772848170429916717;
    public static final double SELU_SCALE = 1.0507009873554804934193349852946;

    /**
     * The error function to about 1e-15 relative. Java has none, and torch's default GELU is the exact erf form
     * (approximate="none"), so we need one. For |x| &lt; 2.5 the series
     * erf(x) = (2/√π)·e^{−x²}·Σ 2ⁿx^{2n+1}/(2n+1)!! has only positive terms (no cancellation); beyond, the continued
     * fraction of erfc converges fast.
     */
    public static double erf(double x) {
        double ax = Math.abs(x);
        if (ax < 2.5) {
            double t = x, s = x, x2 = x * x;
            for (int n = 0; n < 200 && Math.abs(t) > 1e-17 * Math.abs(s); n++) {
                t *= 2 * x2 / (2 * n + 3);
                s += t;
            }
            return TWO_OVER_SQRT_PI * Math.exp(-x2) * s;
        }
        double r = 1.0 - erfcLarge(ax);
        return x < 0 ? -r : r;
    }

    /** erfc(x) for x ≥ 2.5 by the continued fraction erfc(x) = e^{−x²}/(√π·(x + ½/(x + 1/(x + 3/2/(x + …))))). */
    private static double erfcLarge(double x) {
        if (x > 27) return 0.0;
        double k = x;
        for (int j = 60; j >= 1; j--) k = x + (j * 0.5) / k;
        return Math.exp(-x * x) / (SQRT_PI * k);
    }

    /** GELU, exact form x·Φ(x) = ½x·(1 + erf(x/√2)) (torch's default). */
    public static double gelu(double x) {
        return 0.5 * x * (1.0 + erf(x * SQRT_HALF));
    }

    public static double sigmoid(double x) {
        return x >= 0 ? 1.0 / (1.0 + Math.exp(-x)) : Math.exp(x) / (1.0 + Math.exp(x));
    }

    /** log σ(x) = −softplus(−x), computed without overflow. */
    public static double logSigmoid(double x) {
        return Math.min(x, 0.0) - Math.log1p(Math.exp(-Math.abs(x)));
    }

    public static double silu(double x) {
        return x * sigmoid(x);
    }

    public static double selu(double x) {
        return SELU_SCALE * (x > 0 ? x : SELU_ALPHA * Math.expm1(x));
    }

    public static double apply(Activation act, double x) {
        return switch (act) {
            case GELU -> gelu(x);
            case RELU -> Math.max(x, 0.0);
            case RELU2 -> x > 0 ? x * x : 0.0;
            case SIGMOID -> sigmoid(x);
            case SWISH -> silu(x);
            case SELU -> selu(x);
        };
    }
}
