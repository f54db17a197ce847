package org.xlstm.jvm.backend;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.function.DoubleSupplier;
import org.xlstm.jvm.tensor.Tensor;

/**
 * Gradient checks by finite differences. The loss is a fixed random projection of the outputs, summed in double;
 * each probed input element is moved by ±h and ±2h and the fourth-order central difference
 * (−L(2h) + 8L(h) − 8L(−h) + L(−2h)) / 12h compared with the analytic gradient.
 *
 * <p>Why this is meaningful with float32 tensors: the forward runs on {@link ReferenceOps}, which computes each
 * operation in double and rounds only its outputs, so L carries a relative noise of about 1e-7 per affected output;
 * with h = 1e-2 that puts the difference quotient within ~1e-5 (relative) of the true derivative, while the
 * fourth-order stencil keeps the truncation error near h⁴ — far below the 1e-3 bound used, and far above the
 * error of any wrong formula (a missing term, a wrong sign, a factor ½). Probing uses the actual float step
 * {@code (float)(x + h) − x}.
 */
public final class FiniteDifferences {
    private final List<Tensor> inputs = new ArrayList<>();
    private final List<Tensor> grads = new ArrayList<>();
    private final List<String> names = new ArrayList<>();
    private final SplittableRandom rnd;
    private final double h;
    private final int probes;

    public FiniteDifferences(long seed, double h, int probesPerTensor) {
        this.rnd = new SplittableRandom(seed);
        this.h = h;
        this.probes = probesPerTensor;
    }

    /** Registers an input whose analytic gradient is {@code grad}. */
    public FiniteDifferences wrt(String name, Tensor input, Tensor grad) {
        names.add(name);
        inputs.add(input);
        grads.add(grad);
        return this;
    }

    /** A random projection vector for an output of {@code n} elements. */
    public static double[] projection(long seed, long n) {
        SplittableRandom r = new SplittableRandom(seed);
        double[] p = new double[Math.toIntExact(n)];
        for (int i = 0; i < p.length; i++) p[i] = r.nextGaussian();
        return p;
    }

    /** Σ p·y over a tensor, in double. */
    public static double dot(double[] p, Tensor y) {
        double s = 0;
        for (int i = 0; i < p.length; i++) s += p[i] * y.get(i);
        return s;
    }

    /** Fills dy with the projection (the gradient of {@link #dot} with respect to y). */
    public static void seed(double[] p, Tensor dy) {
        for (int i = 0; i < p.length; i++) dy.set(i, (float) p[i]);
    }

    /**
     * Probes each registered input and asserts the normwise relative error of the analytic gradient over the
     * probed elements of each input is at most {@code tol}. Returns the worst error.
     */
    public double check(String what, DoubleSupplier loss, double tol) {
        double worst = 0;
        for (int t = 0; t < inputs.size(); t++) {
            Tensor x = inputs.get(t), g = grads.get(t);
            int n = (int) Math.min(probes, x.size());
            double num2 = 0, err2 = 0;
            StringBuilder detail = new StringBuilder();
            for (int p = 0; p < n; p++) {
                long i = n == x.size() ? p : rnd.nextLong(x.size());
                float x0 = x.get(i);
                double numeric = derivative(x, i, x0, loss);
                double analytic = g.get(i);
                num2 += numeric * numeric;
                err2 += (numeric - analytic) * (numeric - analytic);
                if (detail.length() < 600) detail.append(String.format(" [%d] fd=%.6g an=%.6g;", i, numeric, analytic));
            }
            double err = num2 == 0 ? Math.sqrt(err2) : Math.sqrt(err2 / num2);
            worst = Math.max(worst, err);
            assertTrue(err <= tol, what + ", d/d" + names.get(t) + ": finite-difference relative error " + err
                    + " > " + tol + ":" + detail);
        }
        return worst;
    }

    private double derivative(Tensor x, long i, float x0, DoubleSupplier loss) {
        float p1 = (float) (x0 + h), m1 = (float) (x0 - h), p2 = (float) (x0 + 2 * h), m2 = (float) (x0 - 2 * h);
        // the stencil needs equal steps; use the float grid's actual ones via a symmetric pair average
        x.set(i, p1);
        double lp1 = loss.getAsDouble();
        x.set(i, m1);
        double lm1 = loss.getAsDouble();
        x.set(i, p2);
        double lp2 = loss.getAsDouble();
        x.set(i, m2);
        double lm2 = loss.getAsDouble();
        x.set(i, x0);
        double h1 = ((double) p1 - m1) / 2, h2 = ((double) p2 - m2) / 2;
        double d1 = (lp1 - lm1) / (2 * h1), d2 = (lp2 - lm2) / (2 * h2);
        // Richardson: d1 = f' + c·h1², d2 = f' + c·h2²
        return (d1 * h2 * h2 - d2 * h1 * h1) / (h2 * h2 - h1 * h1);
    }
}
