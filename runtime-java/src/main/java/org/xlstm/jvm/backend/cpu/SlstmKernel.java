package org.xlstm.jvm.backend.cpu;

import static org.xlstm.jvm.backend.cpu.Simd.LANES;
import static org.xlstm.jvm.backend.cpu.Simd.S;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;
import jdk.incubator.vector.FloatVector;
import org.xlstm.jvm.tensor.Tensor;

/**
 * The sLSTM recurrence on the CPU. The recurrent kernel is block-diagonal over heads, so every (batch row, head)
 * pair is an independent task running its own time loop. Per step: the recurrent mat-vec R_h·h_{t−1} is vectorised
 * over the 4·DH gate outputs (the logical (DH_in, 4, DH_out) layout makes each input's row contiguous), then the
 * exponential gating is vectorised over DH.
 */
final class SlstmKernel {
    private SlstmKernel() {}

    private static final ValueLayout.OfFloat F = ValueLayout.JAVA_FLOAT;

    /** R per head as [k][g][j] with j padded to dhp. */
    private record Packed(int nh, int dh, int dhp, float[] r) {}

    private static Packed pack(Tensor r) {
        if (r.backendCache() instanceof Packed p) return p;
        int nh = r.dim(0), dh = r.dim(1), dhp = (dh + LANES - 1) / LANES * LANES;
        float[] a = new float[nh * dh * 4 * dhp];
        for (int h = 0; h < nh; h++)
            for (int k = 0; k < dh; k++)
                for (int g = 0; g < 4; g++)
                    MemorySegment.copy(r.segment(), F, ((((long) h * dh + k) * 4 + g) * dh) * 4, a,
                            ((h * dh + k) * 4 + g) * dhp, dh);
        Packed p = new Packed(nh, dh, dhp, a);
        r.backendCache(p);
        return p;
    }

    static void run(Tensor xi, Tensor xf, Tensor xz, Tensor xo, Tensor r, Tensor bias,
                    Tensor hs, Tensor cs, Tensor ns, Tensor ms, Tensor y) {
        Packed p = pack(r);
        int batch = xi.dim(0), s = xi.dim(1);
        long work = (long) batch * s * p.nh * p.dh * 4L * p.dh;
        MemorySegment[] x = {xi.segment(), xf.segment(), xz.segment(), xo.segment()};
        Parallel.forEach(batch * p.nh, work, task -> headTask(p, task / p.nh, task % p.nh, s, x, bias.segment(),
                hs.segment(), cs.segment(), ns.segment(), ms.segment(), y.segment()));
    }

    private static void headTask(Packed p, int b, int hd, int s, MemorySegment[] x, MemorySegment bias,
                                 MemorySegment hs, MemorySegment cs, MemorySegment ns, MemorySegment ms, MemorySegment y) {
        int dh = p.dh, dhp = p.dhp, d = p.nh * dh, g4 = 4 * dhp;
        float[] raw = Scratch.floats(0, g4);
        float[] bb = Scratch.floats(1, g4);
        float[] h = Scratch.floats(2, dhp), c = Scratch.floats(3, dhp), n = Scratch.floats(4, dhp), m = Scratch.floats(5, dhp);
        long st = (long) b * d + (long) hd * dh;
        Arrays.fill(h, 0, dhp, 0f);
        Arrays.fill(c, 0, dhp, 0f);
        Arrays.fill(m, 0, dhp, 0f);
        MemorySegment.copy(hs, F, st * 4, h, 0, dh);
        MemorySegment.copy(cs, F, st * 4, c, 0, dh);
        MemorySegment.copy(ns, F, st * 4, n, 0, dh);
        MemorySegment.copy(ms, F, st * 4, m, 0, dh);
        // padded lanes must stay finite: give them a normaliser of 1
        Arrays.fill(n, dh, dhp, 1f);
        Arrays.fill(bb, 0, g4, 0f);
        for (int g = 0; g < 4; g++) MemorySegment.copy(bias, F, (((long) hd * 4 + g) * dh) * 4, bb, g * dhp, dh);
        int rBase = hd * dh * g4;
        for (int t = 0; t < s; t++) {
            long xOff = ((long) b * s + t) * d + (long) hd * dh;
            for (int g = 0; g < 4; g++) {
                MemorySegment.copy(x[g], F, xOff * 4, raw, g * dhp, dh);
                Arrays.fill(raw, g * dhp + dh, (g + 1) * dhp, 0f);
            }
            recurrentMatVec(p.r, rBase, dh, g4, h, bb, raw);
            boolean fresh = true;
            for (int j = 0; j < dh; j++) if (n[j] != 0f) { fresh = false; break; }
            pointwise(raw, dhp, fresh, h, c, n, m);
            MemorySegment.copy(h, 0, y, F, xOff * 4, dh);
        }
        MemorySegment.copy(h, 0, hs, F, st * 4, dh);
        MemorySegment.copy(c, 0, cs, F, st * 4, dh);
        MemorySegment.copy(n, 0, ns, F, st * 4, dh);
        MemorySegment.copy(m, 0, ms, F, st * 4, dh);
    }

    /** raw += bias + R_h·h_{t−1}, vectorised over the 4·DH gate outputs (R rows are input-major). */
    private static void recurrentMatVec(float[] r, int rBase, int dh, int g4, float[] h, float[] bias, float[] raw) {
        for (int o = 0; o < g4; o += LANES) {
            FloatVector acc = FloatVector.fromArray(S, raw, o).add(FloatVector.fromArray(S, bias, o));
            for (int k = 0, ro = rBase + o; k < dh; k++, ro += g4)
                acc = FloatVector.fromArray(S, r, ro).fma(FloatVector.broadcast(S, h[k]), acc);
            acc.intoArray(raw, o);
        }
    }

    /**
     * Exponential gating with the stabiliser, XLSTM.md §4; the state arrays are updated in place. Done as several
     * short array passes, each with one transcendental function, so that each loop compiles with its function
     * inlined (one loop holding six of them exceeds what the JIT inlines, and then boxes every vector).
     */
    private static void pointwise(float[] raw, int dhp, boolean fresh, float[] h, float[] c, float[] n, float[] m) {
        float[] t = Scratch.floats(6, 5 * dhp);
        int lf = 0, tz = dhp, so = 2 * dhp, argI = 3 * dhp, argF = 4 * dhp;
        logSigmoidPass(raw, dhp, t, lf, dhp);
        tanhPass(raw, 2 * dhp, t, tz, dhp);
        sigmoidPass(raw, 3 * dhp, t, so, dhp);
        stabilise(raw, t, lf, argI, argF, fresh, m, dhp);
        expPass(t, argI, dhp);
        expPass(t, argF, dhp);
        update(t, tz, so, argI, argF, h, c, n, dhp);
    }

    private static void logSigmoidPass(float[] src, int so, float[] dst, int d0, int len) {
        for (int j = 0; j < len; j += LANES) VectorMath.logSigmoid(FloatVector.fromArray(S, src, so + j)).intoArray(dst, d0 + j);
    }

    private static void tanhPass(float[] src, int so, float[] dst, int d0, int len) {
        for (int j = 0; j < len; j += LANES) VectorMath.tanh(FloatVector.fromArray(S, src, so + j)).intoArray(dst, d0 + j);
    }

    private static void sigmoidPass(float[] src, int so, float[] dst, int d0, int len) {
        for (int j = 0; j < len; j += LANES) VectorMath.sigmoid(FloatVector.fromArray(S, src, so + j)).intoArray(dst, d0 + j);
    }

    /** m_new = ĩ on the first step from zero (n all zero), else max(ĩ, log σ(f̃) + m); the exponents of i and f. */
    private static void stabilise(float[] raw, float[] t, int lf, int argI, int argF, boolean fresh, float[] m, int len) {
        for (int j = 0; j < len; j += LANES) {
            FloatVector ir = FloatVector.fromArray(S, raw, j);
            FloatVector logFPlusM = FloatVector.fromArray(S, m, j).add(FloatVector.fromArray(S, t, lf + j));
            FloatVector mNew = fresh ? ir : ir.max(logFPlusM);
            ir.sub(mNew).intoArray(t, argI + j);
            logFPlusM.sub(mNew).intoArray(t, argF + j);
            mNew.intoArray(m, j);
        }
    }

    /** t[o..o+len) = min(exp(t[o..o+len)), 1). */
    private static void expPass(float[] t, int o, int len) {
        for (int j = 0; j < len; j += LANES)
            VectorMath.exp(FloatVector.fromArray(S, t, o + j)).min(1f).intoArray(t, o + j);
    }

    private static void update(float[] t, int tz, int so, int iA, int fA, float[] h, float[] c, float[] n, int len) {
        for (int j = 0; j < len; j += LANES) {
            FloatVector i = FloatVector.fromArray(S, t, iA + j), f = FloatVector.fromArray(S, t, fA + j);
            FloatVector cNew = f.mul(FloatVector.fromArray(S, c, j)).add(i.mul(FloatVector.fromArray(S, t, tz + j)));
            FloatVector nNew = f.mul(FloatVector.fromArray(S, n, j)).add(i);
            FloatVector.fromArray(S, t, so + j).mul(cNew).div(nNew).intoArray(h, j);
            cNew.intoArray(c, j);
            nNew.intoArray(n, j);
        }
    }
}
