package org.xlstm.jvm.backend.cpu;

import static org.xlstm.jvm.backend.cpu.Simd.LANES;
import static org.xlstm.jvm.backend.cpu.Simd.ORDER;
import static org.xlstm.jvm.backend.cpu.Simd.S;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
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
        for (float[] a : new float[][] {h, c, n, m}) Arrays.fill(a, 0, dhp, 0f);
        MemorySegment.copy(hs, F, st * 4, h, 0, dh);
        MemorySegment.copy(cs, F, st * 4, c, 0, dh);
        MemorySegment.copy(ns, F, st * 4, n, 0, dh);
        MemorySegment.copy(ms, F, st * 4, m, 0, dh);
        Arrays.fill(bb, 0, g4, 0f);
        for (int g = 0; g < 4; g++) MemorySegment.copy(bias, F, (((long) hd * 4 + g) * dh) * 4, bb, g * dhp, dh);
        // padded lanes must stay finite: give them a normaliser of 1
        Arrays.fill(n, dh, dhp, 1f);
        float[] rr = p.r;
        int rBase = hd * dh * g4;
        VectorMask<Float> tail = S.indexInRange(0, dh % LANES == 0 ? LANES : dh % LANES);
        for (int t = 0; t < s; t++) {
            long xOff = ((long) b * s + t) * d + (long) hd * dh;
            for (int g = 0; g < 4; g++) {
                MemorySegment.copy(x[g], F, xOff * 4, raw, g * dhp, dh);
                Arrays.fill(raw, g * dhp + dh, (g + 1) * dhp, 0f);
            }
            // raw += bias + R_h·h_{t−1}
            for (int o = 0; o < g4; o += LANES) {
                FloatVector acc = FloatVector.fromArray(S, raw, o).add(FloatVector.fromArray(S, bb, o));
                for (int k = 0, ro = rBase + o; k < dh; k++, ro += g4)
                    acc = FloatVector.fromArray(S, rr, ro).fma(FloatVector.broadcast(S, h[k]), acc);
                acc.intoArray(raw, o);
            }
            boolean fresh = true;
            for (int j = 0; j < dh; j++) if (n[j] != 0f) { fresh = false; break; }
            for (int j = 0; j < dhp; j += LANES) {
                FloatVector ir = FloatVector.fromArray(S, raw, j), fr = FloatVector.fromArray(S, raw, dhp + j),
                        zr = FloatVector.fromArray(S, raw, 2 * dhp + j), or = FloatVector.fromArray(S, raw, 3 * dhp + j);
                FloatVector mv = FloatVector.fromArray(S, m, j), cv = FloatVector.fromArray(S, c, j),
                        nv = FloatVector.fromArray(S, n, j);
                FloatVector logFPlusM = mv.add(VectorMath.logSigmoid(fr));
                // the first step from the zero state (n all zero) takes m = ĩ, as the official cell does
                FloatVector mNew = fresh ? ir : ir.max(logFPlusM);
                FloatVector iA = VectorMath.exp(ir.sub(mNew)).min(1f);
                FloatVector fA = VectorMath.exp(logFPlusM.sub(mNew)).min(1f);
                FloatVector cNew = fA.mul(cv).add(iA.mul(VectorMath.tanh(zr)));
                FloatVector nNew = fA.mul(nv).add(iA);
                FloatVector hNew = VectorMath.sigmoid(or).mul(cNew).div(nNew);
                cNew.intoArray(c, j);
                nNew.intoArray(n, j);
                mNew.intoArray(m, j);
                hNew.intoArray(h, j);
                long yOff = (xOff + j) * 4;
                if (j + LANES <= dh) hNew.intoMemorySegment(y, yOff, ORDER);
                else hNew.intoMemorySegment(y, yOff, ORDER, tail);
            }
        }
        MemorySegment.copy(h, 0, hs, F, st * 4, dh);
        MemorySegment.copy(c, 0, cs, F, st * 4, dh);
        MemorySegment.copy(n, 0, ns, F, st * 4, dh);
        MemorySegment.copy(m, 0, ms, F, st * 4, dh);
    }
}
