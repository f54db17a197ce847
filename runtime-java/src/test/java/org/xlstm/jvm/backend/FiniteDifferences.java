package org.xlstm.jvm.backend;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.function.DoubleSupplier;
import org.xlstm.jvm.tensor.Tensor;

/**
 * Gradient checks by finite differences. The loss is a fixed random projection of the outputs, summed in double;
 * each probed input element is moved by ±h/2, ±h, ±2h. Two fourth-order estimates of the derivative come out:
 * Richardson on (h, 2h) and on (h/2, h). Their difference measures the finite-difference error itself (rounding
 * noise, which grows as 1/h, and curvature or a kink crossed, which grow with h), so the check is
 * {@code ‖fd − analytic‖ ≤ tol·‖fd‖ + 3·‖uncertainty‖} over the probed elements of each input, and the
 * uncertainty must itself be small ({@code ≤ 0.1·‖fd‖}) for the check to count: a wrong formula (a missing term,
 * a sign, a factor) shows up as an error of the order of the gradient, far outside both. Of a few step sizes the
 * one with the smallest relative uncertainty is used.
 *
 * <p>Why float32 tensors still give meaningful quotients: the forward runs on {@link ReferenceOps}, which computes
 * each operation in double and rounds only its outputs, so the loss carries a relative noise of ~1e-7 per output;
 * with h ≈ 1e-2 the quotient is good to ~1e-5 of the gradient's scale. Probing uses the actual float steps.
 */
public final class FiniteDifferences {
    private static final double[] STEPS_FACTORS = {1.0, 3.0, 0.3};
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
     * Probes each registered input; asserts, per input, the bound above. Returns the worst relative error
     * ‖fd − analytic‖/‖fd‖ seen.
     */
    public double check(String what, DoubleSupplier loss, double tol) {
        double worst = 0;
        for (int t = 0; t < inputs.size(); t++) {
            Tensor x = inputs.get(t), g = grads.get(t);
            int n = (int) Math.min(probes, x.size());
            long[] idx = new long[n];
            for (int p = 0; p < n; p++) idx[p] = n == x.size() ? p : rnd.nextLong(x.size());
            double bestRatio = Double.POSITIVE_INFINITY;
            double[] fd = null, unc = null;
            for (double f : STEPS_FACTORS) {
                double[] d = new double[n], u = new double[n];
                for (int p = 0; p < n; p++) {
                    double[] est = derivative(x, idx[p], h * f, loss);
                    d[p] = est[0];
                    u[p] = est[1];
                }
                double ratio = norm(u) / Math.max(norm(d), 1e-300);
                if (ratio < bestRatio) {
                    bestRatio = ratio;
                    fd = d;
                    unc = u;
                }
                if (ratio < 0.01 * tol) break;
            }
            double num2 = 0, err2 = 0;
            StringBuilder detail = new StringBuilder();
            for (int p = 0; p < n; p++) {
                double analytic = g.get(idx[p]);
                num2 += fd[p] * fd[p];
                err2 += (fd[p] - analytic) * (fd[p] - analytic);
                if (detail.length() < 700) detail.append(String.format(" [%d] fd=%.6g±%.1e an=%.6g;", idx[p], fd[p], unc[p], analytic));
            }
            double fdNorm = Math.sqrt(num2), err = Math.sqrt(err2), uncNorm = norm(unc);
            worst = Math.max(worst, fdNorm == 0 ? err : err / fdNorm);
            assertTrue(uncNorm <= 0.1 * fdNorm || (fdNorm == 0 && err == 0), what + ", d/d" + names.get(t)
                    + ": finite differences inconclusive (uncertainty " + uncNorm + " of " + fdNorm + "):" + detail);
            assertTrue(err <= tol * fdNorm + 3 * uncNorm, what + ", d/d" + names.get(t) + ": error " + err
                    + " > " + tol + "·" + fdNorm + " + 3·" + uncNorm + ":" + detail);
        }
        if (Boolean.getBoolean("xlstm.fdReport")) System.out.printf("FD %-40s worst relative error %.2e%n", what, worst);
        return worst;
    }

    private static double norm(double[] v) {
        double s = 0;
        for (double x : v) s += x * x;
        return Math.sqrt(s);
    }

    /** The loss with x[i] = v; the tensor is marked modified so that layers rebuild what they derived from it. */
    private static double at(Tensor x, long i, float v, DoubleSupplier loss) {
        x.set(i, v);
        x.markModified();
        return loss.getAsDouble();
    }

    /** {estimate, uncertainty}: Richardson on (h, 2h), compared with Richardson on (h/2, h). */
    private static double[] derivative(Tensor x, long i, double h, DoubleSupplier loss) {
        float x0 = x.get(i);
        float[] pts = {(float) (x0 + h / 2), (float) (x0 - h / 2), (float) (x0 + h), (float) (x0 - h),
                (float) (x0 + 2 * h), (float) (x0 - 2 * h)};
        double[] l = new double[6];
        for (int k = 0; k < 6; k++) l[k] = at(x, i, pts[k], loss);
        x.set(i, x0);
        x.markModified();
        double dHalf = central(l[0], l[1], pts[0], pts[1]), dOne = central(l[2], l[3], pts[2], pts[3]),
                dTwo = central(l[4], l[5], pts[4], pts[5]);
        double hh = ((double) pts[0] - pts[1]) / 2, h1 = ((double) pts[2] - pts[3]) / 2, h2 = ((double) pts[4] - pts[5]) / 2;
        double fine = richardson(dHalf, hh, dOne, h1), coarse = richardson(dOne, h1, dTwo, h2);
        return new double[] {coarse, Math.abs(coarse - fine)};
    }

    private static double central(double lp, double lm, float p, float m) { return (lp - lm) / ((double) p - m); }

    /** d_a = f' + c·a², d_b = f' + c·b² ⇒ f'. */
    private static double richardson(double da, double a, double db, double b) {
        return (da * b * b - db * a * a) / (b * b - a * a);
    }
}
