package org.xlstm.jvm.backend.cpu;

import static org.xlstm.jvm.backend.cpu.Simd.LANES;
import static org.xlstm.jvm.backend.cpu.Simd.S;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;
import jdk.incubator.vector.FloatVector;
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
 *
 * <p>The vector work sits in small methods with one loop each: the JIT compiles those fully into vector
 * instructions, where one big method would exceed its inlining budget and fall back to boxed vector objects.
 * Operands are gathered into on-heap arrays padded to whole vectors, so no loop needs a mask.
 */
final class MlstmKernels {
    private MlstmKernels() {}

    private static final ValueLayout.OfFloat F = ValueLayout.JAVA_FLOAT;

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
        float[] aHi = Scratch.floats(5, lp);            // a_u = i_u − bcum_u as hi + lo; hi = −∞ beyond the chunk
        float[] aLo = Scratch.floats(6, lp);
        float[] e = Scratch.floats(8, lp);              // one row of the gated score matrix
        float[] num = Scratch.floats(9, dvp);
        // Gate logs in double: F_t − F_u + i_u is a small difference of possibly large cumulative sums, which float
        // would resolve only to eps·|F|. The vector loop gets a as a float pair (hi + lo) for the same reason.
        double[] bcum = Scratch.doubles(0, lp);         // cumulative log forget gate inside the chunk
        double[] a = Scratch.doubles(1, lp);
        double[] pm = Scratch.doubles(2, lp);           // prefix maximum of a

        long stIdx = (long) b * nh + hd;
        double m;
        Arrays.fill(c, 0, dk * dvp, 0f);
        if (cs == null) {
            Arrays.fill(n, 0, dk, 0f);
            m = Double.NEGATIVE_INFINITY;
        } else {
            for (int d = 0; d < dk; d++) MemorySegment.copy(cs, F, ((stIdx * dk + d) * dv) * 4, c, d * dvp, dv);
            MemorySegment.copy(ns, F, stIdx * dk * 4, n, 0, dk);
            m = ms.getAtIndex(F, stIdx);
        }
        Arrays.fill(vc, 0, chunk * dvp, 0f);

        for (int t0 = 0; t0 < s; t0 += chunk) {
            int len = Math.min(chunk, s - t0);
            gather(sh, b, hd, t0, len, q, k, v, scale, qc, kt, lp, vc, dvp);
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
                int width = (t / LANES + 1) * LANES;
                double shift = bt - stab;
                float shHi = (float) shift;
                scoreRow(kt, lp, qc, t * dk, dk, width, e);
                gateRow(aHi, aLo, shHi, (float) (shift - shHi), width, e);
                Arrays.fill(e, t + 1, width, 0f);
                float den = 0f;
                for (int u = 0; u <= t; u++) den += e[u];
                weightedRows(vc, dvp, e, t + 1, num);
                if (inter != Double.NEGATIVE_INFINITY) {
                    float wi = (float) Math.exp(inter - stab);
                    float qn = 0f;
                    for (int d = 0; d < dk; d++) qn += qc[t * dk + d] * n[d];
                    den += wi * qn;
                    addQueryTimesState(c, dk, dvp, qc, t * dk, wi, num);
                }
                float norm = Math.max(Math.abs(den), (float) Math.exp(-stab)) + eps;
                scale(num, 1f / norm, dvp);
                MemorySegment.copy(num, 0, h, F, sh.v(b, t0 + t, hd, 0) * 4, dv);
            }

            // carry the state to the end of the chunk
            double g = bcum[len - 1];
            double mNew = Math.max(g + m, g + pm[len - 1]);
            float decay = (float) Math.exp(g + m - mNew);
            if (decay != 1f) {
                scale(c, decay, dk * dvp);
                for (int d = 0; d < dk; d++) n[d] *= decay;
            }
            for (int u = 0; u < len; u++) {
                float wu = (float) Math.exp(g + a[u] - mNew);
                for (int d = 0; d < dk; d++) {
                    float coef = kt[d * lp + u] * wu;
                    n[d] += coef;
                    axpy(coef, vc, u * dvp, c, d * dvp, dvp);
                }
            }
            m = mNew;
        }

        if (cs != null) {
            for (int d = 0; d < dk; d++) MemorySegment.copy(c, d * dvp, cs, F, ((stIdx * dk + d) * dv) * 4, dv);
            MemorySegment.copy(n, 0, ns, F, stIdx * dk * 4, dk);
            ms.setAtIndex(F, stIdx, (float) m);
        }
    }

    private static void gather(MlstmShapes sh, int b, int hd, int t0, int len, MemorySegment q, MemorySegment k,
                               MemorySegment v, float scale, float[] qc, float[] kt, int lp, float[] vc, int dvp) {
        int dk = sh.dqk(), dv = sh.dv();
        Arrays.fill(kt, 0, dk * lp, 0f);
        for (int u = 0; u < len; u++) {
            int t = t0 + u;
            MemorySegment.copy(q, F, sh.qk(b, t, hd, 0) * 4, qc, u * dk, dk);
            long kOff = sh.qk(b, t, hd, 0);
            for (int d = 0; d < dk; d++) kt[d * lp + u] = k.getAtIndex(F, kOff + d) * scale;
            MemorySegment.copy(v, F, sh.v(b, t, hd, 0) * 4, vc, u * dvp, dv);
        }
    }

    /** e[u] = Σ_d q[d]·kt[d][u] for u &lt; width (whole vectors). */
    private static void scoreRow(float[] kt, int lp, float[] qc, int qo, int dk, int width, float[] e) {
        for (int u0 = 0; u0 < width; u0 += LANES) {
            FloatVector sc = FloatVector.zero(S);
            for (int d = 0, ko = u0; d < dk; d++, ko += lp)
                sc = FloatVector.fromArray(S, kt, ko).fma(FloatVector.broadcast(S, qc[qo + d]), sc);
            sc.intoArray(e, u0);
        }
    }

    /** e[u] *= exp(a_u + shift), the exponent formed from hi/lo pairs: (aHi + shHi) is exact when they cancel. */
    private static void gateRow(float[] aHi, float[] aLo, float shHi, float shLo, int width, float[] e) {
        FloatVector hi = FloatVector.broadcast(S, shHi), lo = FloatVector.broadcast(S, shLo);
        for (int u0 = 0; u0 < width; u0 += LANES) {
            FloatVector arg = FloatVector.fromArray(S, aHi, u0).add(hi).add(FloatVector.fromArray(S, aLo, u0).add(lo));
            FloatVector.fromArray(S, e, u0).mul(VectorMath.exp(arg)).intoArray(e, u0);
        }
    }

    /** num = Σ_{u &lt; count} e[u]·vc[u]. */
    private static void weightedRows(float[] vc, int dvp, float[] e, int count, float[] num) {
        for (int d = 0; d < dvp; d += LANES) {
            FloatVector o = FloatVector.zero(S);
            for (int u = 0, vo = d; u < count; u++, vo += dvp)
                o = FloatVector.fromArray(S, vc, vo).fma(FloatVector.broadcast(S, e[u]), o);
            o.intoArray(num, d);
        }
    }

    /** num += w·(qᵀC). */
    private static void addQueryTimesState(float[] c, int dk, int dvp, float[] qc, int qo, float w, float[] num) {
        for (int dd = 0; dd < dvp; dd += LANES) {
            FloatVector o = FloatVector.zero(S);
            for (int d = 0, co = dd; d < dk; d++, co += dvp)
                o = FloatVector.fromArray(S, c, co).fma(FloatVector.broadcast(S, qc[qo + d]), o);
            o.fma(FloatVector.broadcast(S, w), FloatVector.fromArray(S, num, dd)).intoArray(num, dd);
        }
    }

    /** y[yo..yo+n) += a·x[xo..xo+n), n a multiple of the vector length. */
    private static void axpy(float a, float[] x, int xo, float[] y, int yo, int n) {
        FloatVector av = FloatVector.broadcast(S, a);
        for (int i = 0; i < n; i += LANES)
            FloatVector.fromArray(S, x, xo + i).fma(av, FloatVector.fromArray(S, y, yo + i)).intoArray(y, yo + i);
    }

    /** x[0..n) *= a, n a multiple of the vector length. */
    private static void scale(float[] x, float a, int n) {
        FloatVector av = FloatVector.broadcast(S, a);
        for (int i = 0; i < n; i += LANES) FloatVector.fromArray(S, x, i).mul(av).intoArray(x, i);
    }

    // ------------------------------------------------------------------------------------------ recurrent

    static void recurrent(MlstmShapes sh, Tensor q, Tensor k, Tensor v, Tensor ig, Tensor fg,
                          Tensor cs, Tensor ns, Tensor ms, float eps, Tensor h) {
        int batch = sh.batch(), nh = sh.heads();
        long work = (long) batch * nh * sh.seq() * 2L * sh.dqk() * sh.dv();
        // One step (generation): update C where it lives; copying it to the heap and back would cost more.
        boolean inPlace = sh.seq() == 1 && sh.dv() % LANES == 0;
        Parallel.forEach(batch * nh, work, task -> {
            if (inPlace) singleStepInPlace(sh, task / nh, task % nh, q.segment(), k.segment(), v.segment(), ig.segment(),
                    fg.segment(), cs.segment(), ns.segment(), ms.segment(), eps, h.segment());
            else stepTask(sh, task / nh, task % nh, q.segment(), k.segment(), v.segment(), ig.segment(), fg.segment(),
                    cs.segment(), ns.segment(), ms.segment(), eps, h.segment());
        });
    }

    /** The same recurrence as {@link #stepTask} for one token, with C updated directly in the state segment. */
    private static void singleStepInPlace(MlstmShapes sh, int b, int hd, MemorySegment q, MemorySegment k,
                                          MemorySegment v, MemorySegment ig, MemorySegment fg, MemorySegment cs,
                                          MemorySegment ns, MemorySegment ms, float eps, MemorySegment h) {
        int nh = sh.heads(), dk = sh.dqk(), dv = sh.dv();
        float scale = (float) (1.0 / Math.sqrt(dk));
        float[] vv = Scratch.floats(10, dv);
        float[] num = Scratch.floats(11, dv);
        float[] qv = Scratch.floats(12, dk);
        float[] kv = Scratch.floats(13, dk);
        long stIdx = (long) b * nh + hd, gi = (long) b * nh + hd;
        double m = ms.getAtIndex(F, stIdx);
        double logF = ScalarMath.logSigmoid(fg.getAtIndex(F, gi));
        double i = ig.getAtIndex(F, gi);
        double mNew = Math.max(logF + m, i);
        float fA = (float) Math.exp(logF + m - mNew), iA = (float) Math.exp(i - mNew);
        MemorySegment.copy(v, F, sh.v(b, 0, hd, 0) * 4, vv, 0, dv);
        MemorySegment.copy(q, F, sh.qk(b, 0, hd, 0) * 4, qv, 0, dk);
        MemorySegment.copy(k, F, sh.qk(b, 0, hd, 0) * 4, kv, 0, dk);
        long nBase = stIdx * dk;
        float qn = 0f;
        for (int d = 0; d < dk; d++) {
            float nd = fA * ns.getAtIndex(F, nBase + d) + kv[d] * scale * iA;
            ns.setAtIndex(F, nBase + d, nd);
            qn += qv[d] * nd;
        }
        updateAndReadSegment(cs, stIdx * dk * dv * 4, dk, dv, fA, kv, scale * iA, vv, qv, num);
        ms.setAtIndex(F, stIdx, (float) mNew);
        float inv = 1f / (Math.max(Math.abs(qn), (float) Math.exp(-mNew)) + eps);
        scale(num, inv, dv);
        MemorySegment.copy(num, 0, h, F, sh.v(b, 0, hd, 0) * 4, dv);
    }

    /** {@link #updateAndRead} on C stored row-major (dk, dv) at byte offset {@code base} of a segment. */
    private static void updateAndReadSegment(MemorySegment c, long base, int dk, int dv, float f, float[] k, float ks,
                                             float[] v, float[] q, float[] num) {
        FloatVector fv = FloatVector.broadcast(S, f);
        for (int e = 0; e < dv; e += LANES) {
            FloatVector ve = FloatVector.fromArray(S, v, e);
            FloatVector o = FloatVector.zero(S);
            long off = base + (long) e * 4;
            for (int d = 0; d < dk; d++, off += (long) dv * 4) {
                FloatVector cv = ve.fma(FloatVector.broadcast(S, k[d] * ks),
                        FloatVector.fromMemorySegment(S, c, off, Simd.ORDER).mul(fv));
                cv.intoMemorySegment(c, off, Simd.ORDER);
                o = cv.fma(FloatVector.broadcast(S, q[d]), o);
            }
            o.intoArray(num, e);
        }
    }

    /**
     * One (batch, head) through S recurrent steps. C is copied into a padded on-heap matrix once per call, updated
     * there step by step, and written back at the end.
     */
    private static void stepTask(MlstmShapes sh, int b, int hd, MemorySegment q, MemorySegment k, MemorySegment v,
                                 MemorySegment ig, MemorySegment fg, MemorySegment cs, MemorySegment ns,
                                 MemorySegment ms, float eps, MemorySegment h) {
        int s = sh.seq(), nh = sh.heads(), dk = sh.dqk(), dv = sh.dv(), dvp = pad(dv);
        float scale = (float) (1.0 / Math.sqrt(dk));
        float[] c = Scratch.floats(3, dk * dvp);
        float[] n = Scratch.floats(4, dk);
        float[] vv = Scratch.floats(10, dvp);
        float[] num = Scratch.floats(11, dvp);
        float[] qv = Scratch.floats(12, dk);
        float[] kv = Scratch.floats(13, dk);
        long stIdx = (long) b * nh + hd;
        for (int d = 0; d < dk; d++) {
            MemorySegment.copy(cs, F, ((stIdx * dk + d) * dv) * 4, c, d * dvp, dv);
            Arrays.fill(c, d * dvp + dv, (d + 1) * dvp, 0f);
        }
        MemorySegment.copy(ns, F, stIdx * dk * 4, n, 0, dk);
        Arrays.fill(vv, dv, dvp, 0f);
        double m = ms.getAtIndex(F, stIdx);
        for (int t = 0; t < s; t++) {
            long gi = ((long) b * s + t) * nh + hd;
            double logF = ScalarMath.logSigmoid(fg.getAtIndex(F, gi));
            double i = ig.getAtIndex(F, gi);
            double mNew = Math.max(logF + m, i);
            float fA = (float) Math.exp(logF + m - mNew), iA = (float) Math.exp(i - mNew);
            MemorySegment.copy(v, F, sh.v(b, t, hd, 0) * 4, vv, 0, dv);
            MemorySegment.copy(q, F, sh.qk(b, t, hd, 0) * 4, qv, 0, dk);
            MemorySegment.copy(k, F, sh.qk(b, t, hd, 0) * 4, kv, 0, dk);
            float qn = 0f;
            for (int d = 0; d < dk; d++) {
                float nd = fA * n[d] + kv[d] * scale * iA;
                n[d] = nd;
                qn += qv[d] * nd;
            }
            updateAndRead(c, dk, dvp, fA, kv, scale * iA, vv, qv, num);
            m = mNew;
            float inv = 1f / (Math.max(Math.abs(qn), (float) Math.exp(-mNew)) + eps);
            scale(num, inv, dvp);
            MemorySegment.copy(num, 0, h, F, sh.v(b, t, hd, 0) * 4, dv);
        }
        for (int d = 0; d < dk; d++) MemorySegment.copy(c, d * dvp, cs, F, ((stIdx * dk + d) * dv) * 4, dv);
        MemorySegment.copy(n, 0, ns, F, stIdx * dk * 4, dk);
        ms.setAtIndex(F, stIdx, (float) m);
    }

    /** C ← f·C + (ks·k)·vᵀ row by row, and num = qᵀC (new C), in one pass over C. */
    private static void updateAndRead(float[] c, int dk, int dvp, float f, float[] k, float ks, float[] v, float[] q,
                                      float[] num) {
        FloatVector fv = FloatVector.broadcast(S, f);
        for (int e = 0; e < dvp; e += LANES) {
            FloatVector ve = FloatVector.fromArray(S, v, e);
            FloatVector o = FloatVector.zero(S);
            for (int d = 0, co = e; d < dk; d++, co += dvp) {
                FloatVector cv = ve.fma(FloatVector.broadcast(S, k[d] * ks), FloatVector.fromArray(S, c, co).mul(fv));
                cv.intoArray(c, co);
                o = cv.fma(FloatVector.broadcast(S, q[d]), o);
            }
            o.intoArray(num, e);
        }
    }
}
