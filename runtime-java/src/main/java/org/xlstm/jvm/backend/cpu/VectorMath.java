package org.xlstm.jvm.backend.cpu;

import static org.xlstm.jvm.backend.cpu.Simd.S;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;
import org.xlstm.jvm.backend.ScalarMath;
import org.xlstm.jvm.config.Activation;

/**
 * Activations and gate functions on whole vectors, in float, tested against {@link ScalarMath}.
 *
 * <p>Why our own exp/expm1/log1p/tanh instead of {@code lanewise(EXP)} etc.: the Vector API computes those with a
 * native library once the JIT compiles the loop but with per-lane Java code before, and the two differ in the last
 * bit — the same input could give a different output depending on warm-up, breaking bit-reproducibility. These
 * are built only from IEEE add/mul/fma/compare and integer bit operations, which every tier computes identically.
 */
final class VectorMath {
    private VectorMath() {}

    private static final FloatVector ONE = FloatVector.broadcast(S, 1f);
    private static final float INV_SQRT2 = (float) Math.sqrt(0.5);
    private static final float SELU_ALPHA = (float) ScalarMath.SELU_ALPHA;
    private static final float SELU_SCALE = (float) ScalarMath.SELU_SCALE;
    private static final float LOG2E = 1.44269504088896341f;
    /** ln 2 split so that n·LN2_HI is exact for |n| &lt; 2^9 (Cody–Waite). */
    private static final float LN2_HI = 0.693359375f;
    private static final float LN2_LO = -2.12194440e-4f;
    /** 1.5·2^23: adding and subtracting it rounds a float to the nearest integer. */
    private static final float ROUNDER = 12582912f;
    private static final float EXP_MAX = 88.37f, EXP_OVERFLOW = 88.7228f, EXP_MIN = -87.33f;

    static FloatVector apply(Activation act, FloatVector x) {
        return switch (act) {
            case GELU -> gelu(x);
            case RELU -> x.max(0f);
            case RELU2 -> {
                FloatVector r = x.max(0f);
                yield r.mul(r);
            }
            case SIGMOID -> sigmoid(x);
            case SWISH -> x.mul(sigmoid(x));
            case SELU -> {
                FloatVector neg = expm1(x.min(0f)).mul(SELU_ALPHA);
                yield x.max(0f).add(neg).mul(SELU_SCALE);
            }
        };
    }

    /** e^x to about 2 ulp; +∞ above the float range, 0 below the normal range. */
    static FloatVector exp(FloatVector x) {
        FloatVector xc = x.max(EXP_MIN).min(EXP_MAX);
        FloatVector n = xc.mul(LOG2E).add(ROUNDER).sub(ROUNDER);
        FloatVector r = n.fma(FloatVector.broadcast(S, -LN2_HI), xc);
        r = n.fma(FloatVector.broadcast(S, -LN2_LO), r);
        // Taylor polynomial of e^r on |r| ≤ ln2/2, degree 7 (truncation below 2e-9)
        FloatVector p = r.mul(1f / 5040f).add(1f / 720f);
        p = p.fma(r, FloatVector.broadcast(S, 1f / 120f));
        p = p.fma(r, FloatVector.broadcast(S, 1f / 24f));
        p = p.fma(r, FloatVector.broadcast(S, 1f / 6f));
        p = p.fma(r, FloatVector.broadcast(S, 0.5f));
        p = p.fma(r, ONE);
        p = p.fma(r, ONE);
        IntVector bits = ((IntVector) n.convert(VectorOperators.F2I, 0)).add(127).lanewise(VectorOperators.LSHL, 23);
        FloatVector scale = bits.reinterpretAsFloats();
        FloatVector result = p.mul(scale);
        result = result.blend(0f, x.compare(VectorOperators.LT, EXP_MIN));
        return result.blend(Float.POSITIVE_INFINITY, x.compare(VectorOperators.GT, EXP_OVERFLOW));
    }

    /** e^x − 1, accurate near 0 (Taylor series for |x| &lt; ½, exp(x) − 1 beyond). */
    static FloatVector expm1(FloatVector x) {
        FloatVector p = x.mul(1f / 3628800f).add(1f / 362880f);
        p = p.fma(x, FloatVector.broadcast(S, 1f / 40320f));
        p = p.fma(x, FloatVector.broadcast(S, 1f / 5040f));
        p = p.fma(x, FloatVector.broadcast(S, 1f / 720f));
        p = p.fma(x, FloatVector.broadcast(S, 1f / 120f));
        p = p.fma(x, FloatVector.broadcast(S, 1f / 24f));
        p = p.fma(x, FloatVector.broadcast(S, 1f / 6f));
        p = p.fma(x, FloatVector.broadcast(S, 0.5f));
        p = p.fma(x, ONE).mul(x);
        FloatVector big = exp(x).sub(1f);
        return big.blend(p, x.abs().compare(VectorOperators.LT, 0.5f));
    }

    /** log(1 + y) for y ≥ 0 (the gate functions only need that range). */
    static FloatVector log1pNonNegative(FloatVector y) {
        FloatVector u = y.add(1f);
        // u = 2^e · f with f in [1, 2): take e from the exponent bits, then log f = 2·atanh((f−1)/(f+1))
        IntVector bits = u.reinterpretAsInts();
        IntVector e = bits.lanewise(VectorOperators.ASHR, 23).sub(127);
        FloatVector f = bits.and(0x007FFFFF).or(0x3F800000).reinterpretAsFloats();
        // move f to [√½, √2) so |s| ≤ 0.1716 and the series converges fast
        var high = f.compare(VectorOperators.GT, 1.41421356f);
        f = f.blend(f.mul(0.5f), high);
        FloatVector ef = ((FloatVector) e.convert(VectorOperators.I2F, 0)).add(ONE.blend(0f, high.not()));
        FloatVector s = f.sub(1f).div(f.add(1f));
        FloatVector s2 = s.mul(s);
        FloatVector p = s2.mul(1f / 11f).add(1f / 9f);
        p = p.fma(s2, FloatVector.broadcast(S, 1f / 7f));
        p = p.fma(s2, FloatVector.broadcast(S, 1f / 5f));
        p = p.fma(s2, FloatVector.broadcast(S, 1f / 3f));
        p = p.fma(s2, ONE);
        FloatVector logF = s.mul(2f).mul(p);
        FloatVector approx = ef.fma(FloatVector.broadcast(S, LN2_HI), ef.fma(FloatVector.broadcast(S, LN2_LO), logF));
        // 1 + y rounds away part of y; log(u)·y/(u − 1) undoes that (u − 1 is exact), and for u = 1, log1p(y) = y
        FloatVector um1 = u.sub(1f);
        FloatVector corrected = approx.mul(y.div(um1));
        return corrected.blend(y, um1.compare(VectorOperators.EQ, 0f));
    }

    /** tanh(x) = sign(x)·E/(E + 2) with E = expm1(2|x|), accurate for small and large |x|. */
    static FloatVector tanh(FloatVector x) {
        FloatVector ax = x.abs().min(20f);
        FloatVector em = expm1(ax.mul(2f));
        FloatVector t = em.div(em.add(2f));
        return t.blend(t.neg(), x.compare(VectorOperators.LT, 0f));
    }

    static FloatVector sigmoid(FloatVector x) {
        // 1/(1+e^{−x}); for very negative x, e^{−x} = ∞ and the quotient is the correct 0.
        return ONE.div(exp(x.neg()).add(1f));
    }

    /** log σ(x) = min(x, 0) − log1p(e^{−|x|}). */
    static FloatVector logSigmoid(FloatVector x) {
        return x.min(0f).sub(log1pNonNegative(exp(x.abs().neg())));
    }

    /**
     * GELU in the exact (erf) form. erfc(z) by the Chebyshev-fitted formula of Numerical Recipes (erfcc), whose
     * relative error is below 1.2e-7 everywhere, i.e. float precision: gelu(x) = ½x·(2 − erfc(z)) for x ≥ 0 and
     * ½x·erfc(z) for x &lt; 0, with z = |x|/√2 (no cancellation in either branch).
     */
    static FloatVector gelu(FloatVector x) {
        FloatVector z = x.abs().mul(INV_SQRT2);
        FloatVector t = ONE.div(z.mul(0.5f).add(1f));
        FloatVector poly = t.mul(0.17087277f).add(-0.82215223f);
        poly = poly.fma(t, FloatVector.broadcast(S, 1.48851587f));
        poly = poly.fma(t, FloatVector.broadcast(S, -1.13520398f));
        poly = poly.fma(t, FloatVector.broadcast(S, 0.27886807f));
        poly = poly.fma(t, FloatVector.broadcast(S, -0.18628806f));
        poly = poly.fma(t, FloatVector.broadcast(S, 0.09678418f));
        poly = poly.fma(t, FloatVector.broadcast(S, 0.37409196f));
        poly = poly.fma(t, FloatVector.broadcast(S, 1.00002368f));
        poly = poly.fma(t, FloatVector.broadcast(S, -1.26551223f));
        // e^{poly − z²} as e^{−z²_hi}·e^{poly − z²_lo}: z² = x²/2 split exactly (fma) so that the large part of the
        // exponent is never rounded together with the small one
        FloatVector x2hi = x.mul(x);
        FloatVector x2lo = x.fma(x, x2hi.neg());
        FloatVector erfc = t.mul(exp(x2hi.mul(-0.5f))).mul(exp(poly.sub(x2lo.mul(0.5f))));
        FloatVector phi2 = erfc.neg().add(2f).blend(erfc, x.compare(VectorOperators.LT, 0f));
        return x.mul(0.5f).mul(phi2);
    }

    static FloatVector softCap(FloatVector x, float cap) {
        return tanh(x.div(cap)).mul(cap);
    }
}
