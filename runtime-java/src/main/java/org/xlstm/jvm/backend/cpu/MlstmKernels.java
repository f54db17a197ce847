package org.xlstm.jvm.backend.cpu;

import static org.xlstm.jvm.backend.cpu.Simd.LANES;
import static org.xlstm.jvm.backend.cpu.Simd.ORDER;
import static org.xlstm.jvm.backend.cpu.Simd.S;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import org.xlstm.jvm.backend.MlstmShapes;
import org.xlstm.jvm.backend.ScalarMath;
import org.xlstm.jvm.tensor.Tensor;

/**
 * The mLSTM cell on the CPU, one task per (batch, head) — heads and batch rows are independent, and each task
 * runs its time loop in a fixed order, so results do not depend on the thread count.
 *
 * <p>Conventions shared with {@code ReferenceOps}: the state C and n accumulate the scaled keys k̂ = k/√DHQK, the
 * query is used unscaled; a null state means "zero state with m = −∞", which makes the chunkwise form reproduce the
 * official parallel form (row-maximum stabiliser) exactly.
 */
final class MlstmKernels {
    private MlstmKernels() {}

    private static final ValueLayout.OfFloat F = ValueLayout.JAVA_FLOAT;
    private static final FloatVector ZERO = FloatVector.zero(S);

    private static int pad(int n) { return (n + LANES - 1) / LANES * LANES; }

    // ------------------------------------------------------------------------------------------ chunkwise

    static void chunkwise(MlstmShapes sh, Tensor q, Tensor k, Tensor v, Tensor ig, Tensor fg,
                          Tensor cs, Tensor ns, Tensor ms, int chunk, float eps, Tensor h) {
        int batch = sh.batch(), nh = sh.heads(), s = sh.seq(), dk = sh.dqk(), dv = sh.dv();
        if (s == 0) return;
        int len = Math.min(chunk, s);
        long work = (long) batch * nh * s * ((long) len * (dk + dv) + 2L * dk * dv);
        Parallel.forEach(batch * nh, work, task -> chunkTask(sh, task / nh, task % nh, q.segment(), k.segment(),
                v.segment(), ig.segment(), fg.segment(), cs == null ? null : cs.segment(),
                ns == null ? null : ns.segment(), ms == null ? null : ms.segment(), len, eps, h.segment()));
    }

    private static void chunkTask(MlstmShapes sh, int b, int hd, MemorySegment q, MemorySegment k, MemorySegment v,
                                  MemorySegment ig, MemorySegment fg, MemorySegment cs, MemorySegment ns,
                                  MemorySegment ms, int chunk, float eps, MemorySegment h) {
        int s = sh.seq(), nh = sh.heads(), dk = sh.dqk(), dv = sh.dv();
        int lp = pad(chunk), dvp = pad(dv);
        float scale = (float) (1.0 / Math.sqrt(dk));
        float[] qc = Scratch.floats(0, chunk * dk);     // chunk queries, row-major (t, d)
        float[] kt = Scratch.floats(1, dk * lp);        // scaled keys, transposed (d, u), zero-padded
        float[] vc = Scratch.floats(2, chunk * dvp);    // chunk values (u, d), zero-padded rows
        float[] c = Scratch.floats(3, dk * dvp);        // state C (d, e)
        float[] n = Scratch.floats(4, dk);
        // Gate logs in double: F_t − F_u + i_u is a small difference of possibly large cumulative sums, which float
        // would resolve only to eps·|F|. The vector loop gets a as a float pair (hi + lo) for the same reason.
        double[] bcum = Scratch.doubles(0, lp);         // cumulative log forget gate inside the chunk
        double[] a = Scratch.doubles(1, lp);            // i_u − bcum_u
        double[] pm = Scratch.doubles(2, lp);           // prefix maximum of a
        float[] aHi = Scratch.floats(5, lp);            // a as hi + lo; hi = −∞ beyond the chunk
        float[] aLo = Scratch.floats(6, lp);
        float[] e = Scratch.floats(8, lp);              // one row of the gated score matrix
        float[] num = Scratch.floats(9, dvp);

        long stIdx = (long) b * nh + hd;
        float m;
        if (cs == null) {
            Arrays.fill(c, 0, dk * dvp, 0f);
            Arrays.fill(n, 0, dk, 0f);
            m = Float.NEGATIVE_INFINITY;
        } else {
            for (int d = 0; d < dk; d++) {
                MemorySegment.copy(cs, F, ((stIdx * dk + d) * dv) * 4, c, d * dvp, dv);
                Arrays.fill(c, d * dvp + dv, (d + 1) * dvp, 0f);
            }
            MemorySegment.copy(ns, F, stIdx * dk * 4, n, 0, dk);
            m = ms.getAtIndex(F, stIdx);
        }
        Arrays.fill(vc, 0, chunk * dvp, 0f);

        for (int t0 = 0; t0 < s; t0 += chunk) {
            int len = Math.min(chunk, s - t0);
            // gather the chunk
            Arrays.fill(kt, 0, dk * lp, 0f);
            for (int u = 0; u < len; u++) {
                int t = t0 + u;
                MemorySegment.copy(q, F, sh.qk(b, t, hd, 0) * 4, qc, u * dk, dk);
                long kOff = sh.qk(b, t, hd, 0);
                for (int d = 0; d < dk; d++) kt[d * lp + u] = k.getAtIndex(F, kOff + d) * scale;
                MemorySegment.copy(v, F, sh.v(b, t, hd, 0) * 4, vc, u * dvp, dv);
            }
            double acc = 0, run = Double.NEGATIVE_INFINITY;
            for (int u = 0; u < len; u++) {
                long gi = ((long) b * s + t0 + u) * nh + hd;
                acc += ScalarMath.logSigmoid(fg.getAtIndex(F, gi));
                bcum[u] = acc;
                a[u] = ig.getAtIndex(F, gi) - acc;
                aHi[u] = (float) a[u];
                aLo[u] = (float) (a[u] - aHi[u]);
                run = Math.max(run, a[u]);
                pm[u] = run;
            }
            Arrays.fill(aHi, len, lp, Float.NEGATIVE_INFINITY);
            Arrays.fill(aLo, len, lp, 0f);

            // outputs: intra-chunk parallel part + carried state
            for (int t = 0; t < len; t++) {
                double bt = bcum[t];
                double inter = bt + m;
                double stab = Math.max(bt + pm[t], inter);
                int nv = t / LANES + 1;
                FloatVector denV = ZERO;
                double shift = bt - stab;
                float shHi = (float) shift;
                FloatVector shiftHi = FloatVector.broadcast(S, shHi), shiftLo = FloatVector.broadcast(S, (float) (shift - shHi));
                int qo = t * dk;
                for (int j = 0; j < nv; j++) {
                    int u0 = j * LANES;
                    FloatVector sc = ZERO;
                    for (int d = 0, ko = u0; d < dk; d++, ko += lp)
                        sc = FloatVector.fromArray(S, kt, ko).fma(FloatVector.broadcast(S, qc[qo + d]), sc);
                    // (aHi + shiftHi) cancels exactly when the two are close (Sterbenz), the lo parts are small
                    FloatVector arg = FloatVector.fromArray(S, aHi, u0).add(shiftHi)
                            .add(FloatVector.fromArray(S, aLo, u0).add(shiftLo));
                    FloatVector w = VectorMath.exp(arg);
                    if (j == nv - 1) w = w.blend(ZERO, S.indexInRange(u0, t + 1).not());
                    FloatVector ev = sc.mul(w);
                    ev.intoArray(e, u0);
                    denV = denV.add(ev);
                }
                float den = denV.reduceLanes(VectorOperators.ADD);
                for (int d = 0; d < dvp; d += LANES) {
                    FloatVector o = ZERO;
                    for (int u = 0, vo = d; u <= t; u++, vo += dvp)
                        o = FloatVector.fromArray(S, vc, vo).fma(FloatVector.broadcast(S, e[u]), o);
                    o.intoArray(num, d);
                }
                if (inter != Double.NEGATIVE_INFINITY) {
                    float wi = (float) Math.exp(inter - stab);
                    float qn = 0f;
                    for (int d = 0; d < dk; d++) qn += qc[qo + d] * n[d];
                    den += wi * qn;
                    for (int dd = 0; dd < dvp; dd += LANES) {
                        FloatVector o = ZERO;
                        for (int d = 0, co = dd; d < dk; d++, co += dvp)
                            o = FloatVector.fromArray(S, c, co).fma(FloatVector.broadcast(S, qc[qo + d]), o);
                        o.fma(FloatVector.broadcast(S, wi), FloatVector.fromArray(S, num, dd)).intoArray(num, dd);
                    }
                }
                float norm = Math.max(Math.abs(den), (float) Math.exp(-stab)) + eps;
                float inv = 1f / norm;
                long ho = sh.v(b, t0 + t, hd, 0) * 4;
                for (int d = 0; d < dv; d += LANES) {
                    FloatVector o = FloatVector.fromArray(S, num, d).mul(inv);
                    if (d + LANES <= dv) o.intoMemorySegment(h, ho + (long) d * 4, ORDER);
                    else o.intoMemorySegment(h, ho + (long) d * 4, ORDER, S.indexInRange(0, dv - d));
                }
            }

            // carry the state to the end of the chunk
            double g = bcum[len - 1];
            double mNew = Math.max(g + m, g + pm[len - 1]);
            float decay = (float) Math.exp(g + m - mNew);
            if (decay != 1f) {
                FloatVector dec = FloatVector.broadcast(S, decay);
                for (int i = 0; i < dk * dvp; i += LANES) FloatVector.fromArray(S, c, i).mul(dec).intoArray(c, i);
                for (int d = 0; d < dk; d++) n[d] *= decay;
            }
            for (int u = 0; u < len; u++) {
                float wu = (float) Math.exp(g + a[u] - mNew);
                for (int d = 0; d < dk; d++) {
                    float coef = kt[d * lp + u] * wu;
                    n[d] += coef;
                    FloatVector cf = FloatVector.broadcast(S, coef);
                    for (int dd = 0, co = d * dvp, vo = u * dvp; dd < dvp; dd += LANES, co += LANES, vo += LANES)
                        FloatVector.fromArray(S, vc, vo).fma(cf, FloatVector.fromArray(S, c, co)).intoArray(c, co);
                }
            }
            m = (float) mNew;
        }

        if (cs != null) {
            for (int d = 0; d < dk; d++) MemorySegment.copy(c, d * dvp, cs, F, ((stIdx * dk + d) * dv) * 4, dv);
            MemorySegment.copy(n, 0, ns, F, stIdx * dk * 4, dk);
            ms.setAtIndex(F, stIdx, m);
        }
    }

    // ------------------------------------------------------------------------------------------ recurrent

    static void recurrent(MlstmShapes sh, Tensor q, Tensor k, Tensor v, Tensor ig, Tensor fg,
                          Tensor cs, Tensor ns, Tensor ms, float eps, Tensor h) {
        int batch = sh.batch(), nh = sh.heads();
        long work = (long) batch * nh * sh.seq() * 2L * sh.dqk() * sh.dv();
        Parallel.forEach(batch * nh, work, task -> stepTask(sh, task / nh, task % nh, q.segment(), k.segment(),
                v.segment(), ig.segment(), fg.segment(), cs.segment(), ns.segment(), ms.segment(), eps, h.segment()));
    }

    private static void stepTask(MlstmShapes sh, int b, int hd, MemorySegment q, MemorySegment k, MemorySegment v,
                                 MemorySegment ig, MemorySegment fg, MemorySegment cs, MemorySegment ns,
                                 MemorySegment ms, float eps, MemorySegment h) {
        int s = sh.seq(), nh = sh.heads(), dk = sh.dqk(), dv = sh.dv(), dvp = pad(dv);
        float scale = (float) (1.0 / Math.sqrt(dk));
        float[] vv = Scratch.floats(10, dvp);
        float[] num = Scratch.floats(11, dvp);
        float[] qv = Scratch.floats(12, dk);
        float[] kv = Scratch.floats(13, dk);
        long stIdx = (long) b * nh + hd;
        long cBase = stIdx * dk * dv * 4, nBase = stIdx * dk * 4;
        boolean full = dv % LANES == 0;
        VectorMask<Float> tail = S.indexInRange(0, dv % LANES == 0 ? LANES : dv % LANES);
        int lastVec = (dv - 1) / LANES * LANES;
        for (int t = 0; t < s; t++) {
            long gi = ((long) b * s + t) * nh + hd;
            double m = ms.getAtIndex(F, stIdx);
            double logF = ScalarMath.logSigmoid(fg.getAtIndex(F, gi));
            double i = ig.getAtIndex(F, gi);
            double mNew = Math.max(logF + m, i);
            float fA = (float) Math.exp(logF + m - mNew), iA = (float) Math.exp(i - mNew);
            MemorySegment.copy(v, F, sh.v(b, t, hd, 0) * 4, vv, 0, dv);
            Arrays.fill(vv, dv, dvp, 0f);
            Arrays.fill(num, 0, dvp, 0f);
            MemorySegment.copy(q, F, sh.qk(b, t, hd, 0) * 4, qv, 0, dk);
            MemorySegment.copy(k, F, sh.qk(b, t, hd, 0) * 4, kv, 0, dk);
            FloatVector fAv = FloatVector.broadcast(S, fA);
            float qn = 0f;
            for (int d = 0; d < dk; d++) {
                float kd = kv[d] * scale * iA;
                float nd = fA * ns.getAtIndex(F, nBase / 4 + d) + kd;
                ns.setAtIndex(F, nBase / 4 + d, nd);
                qn += qv[d] * nd;
                FloatVector kdv = FloatVector.broadcast(S, kd), qd = FloatVector.broadcast(S, qv[d]);
                long row = cBase + (long) d * dv * 4;
                for (int e = 0; e < dv; e += LANES) {
                    long off = row + (long) e * 4;
                    boolean whole = full || e != lastVec;
                    FloatVector cv = whole ? FloatVector.fromMemorySegment(S, cs, off, ORDER)
                            : FloatVector.fromMemorySegment(S, cs, off, ORDER, tail);
                    cv = FloatVector.fromArray(S, vv, e).fma(kdv, cv.mul(fAv));
                    if (whole) cv.intoMemorySegment(cs, off, ORDER);
                    else cv.intoMemorySegment(cs, off, ORDER, tail);
                    cv.fma(qd, FloatVector.fromArray(S, num, e)).intoArray(num, e);
                }
            }
            ms.setAtIndex(F, stIdx, (float) mNew);
            float inv = 1f / (Math.max(Math.abs(qn), (float) Math.exp(-mNew)) + eps);
            long ho = sh.v(b, t, hd, 0) * 4;
            for (int e = 0; e < dv; e += LANES) {
                FloatVector o = FloatVector.fromArray(S, num, e).mul(inv);
                if (full || e != lastVec) o.intoMemorySegment(h, ho + (long) e * 4, ORDER);
                else o.intoMemorySegment(h, ho + (long) e * 4, ORDER, tail);
            }
        }
    }
}
