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
 * Backward of the chunkwise mLSTM cell ({@link MlstmKernels#chunkwise}) from a zero state, one task per
 * (batch, head) as the forward, so the result does not depend on the thread count.
 *
 * <p>Per task: first the chunk-start states (C, n, m) are recomputed exactly as the forward computes them, then the
 * chunks are visited last to first carrying dC, dn, dm (the gradient with respect to the state after the chunk).
 * Per chunk, the state update is differentiated first (it needs dC as it comes in), then dC, dn are scaled by the
 * decay and the outputs' gradients add the carried-state terms, leaving the gradient with respect to the state
 * before the chunk. Within a chunk two passes: over output rows t (recompute scores, gate weights, normaliser;
 * keep the score gradients dS[t][u] and gated scores E[t][u]; dq_t), then over source rows u (dk̂_u = Σ_t dS[t][u]·q_t,
 * dv_u = Σ_t E[t][u]·dNum_t), so every sum accumulates in registers. Stabilisers are differentiated as computed (as
 * autograd does the official code): the row maximum passes its gradient to its arg-max gate, which matters only
 * through eps. Gate logs are kept in double, as in the forward.
 *
 * <p>Hot loops are small static leaf methods with vectors local to them: C2 then compiles them to plain vector
 * instructions (a vector value crossing a call that is not inlined, or held in a static field, is boxed).
 */
final class MlstmBackward {
    private MlstmBackward() {}

    private static final ValueLayout.OfFloat F = ValueLayout.JAVA_FLOAT;

    private static int pad(int n) { return (n + LANES - 1) / LANES * LANES; }

    static void run(MlstmShapes sh, Tensor q, Tensor k, Tensor v, Tensor ig, Tensor fg, float m0, int chunk, float eps,
                    Tensor dh, Tensor dq, Tensor dk, Tensor dv, Tensor di, Tensor df) {
        int batch = sh.batch(), nh = sh.heads(), s = sh.seq();
        if (s == 0) return;
        int len = Math.min(chunk, s);
        long work = (long) batch * nh * s * ((long) len * (sh.dqk() + sh.dv()) * 3 + 6L * sh.dqk() * sh.dv());
        Parallel.forEach(batch * nh, work, task -> new Task(sh, task / nh, task % nh, len, eps, m0).run(
                q.segment(), k.segment(), v.segment(), ig.segment(), fg.segment(), dh.segment(),
                dq == null ? null : dq.segment(), dk == null ? null : dk.segment(), dv == null ? null : dv.segment(),
                di == null ? null : di.segment(), df == null ? null : df.segment()));
    }

    // ============================================================================================ leaf kernels

    /**
     * Scores of row t against the chunk: w[u] = exp(a_u + shift) for u ≤ t (0 beyond), e[u] = (q_t·k̂_u)·w[u];
     * returns Σ e. The exponent is (aHi + shiftHi) + (aLo + shiftLo) as in the forward.
     */
    static float scoreRow(float[] kt, int lp, float[] qc, int qo, int dk, float[] aHi, float[] aLo, float shiftHi,
                          float shiftLo, int t, float[] w, float[] e, float[] tmp) {
        int nv = t / LANES + 1;
        FloatVector zero = FloatVector.zero(S);
        FloatVector den = zero;
        FloatVector sh = FloatVector.broadcast(S, shiftHi), sl = FloatVector.broadcast(S, shiftLo);
        for (int j = 0; j < nv; j++) {
            int u0 = j * LANES;
            FloatVector sc = zero;
            for (int d = 0, ko = u0; d < dk; d++, ko += lp)
                sc = FloatVector.fromArray(S, kt, ko).fma(FloatVector.broadcast(S, qc[qo + d]), sc);
            FloatVector arg = FloatVector.fromArray(S, aHi, u0).add(sh).add(FloatVector.fromArray(S, aLo, u0).add(sl));
            FloatVector wv = VectorMath.exp(arg);
            if (j == nv - 1) wv = wv.blend(zero, S.indexInRange(u0, t + 1).not());
            FloatVector ev = sc.mul(wv);
            wv.intoArray(w, u0);
            ev.intoArray(e, u0);
            den = den.add(ev);
        }
        return VectorGrads.sum(den, tmp);
    }

    /** out[0..dvp) = Σ_{u≤t} e[u]·rows[u] (rows of stride dvp). */
    static void weightedRows(float[] rows, int stride, float[] e, int t, float[] out, int width) {
        for (int d = 0; d < width; d += LANES) {
            FloatVector o = FloatVector.zero(S);
            for (int u = 0, ro = d; u <= t; u++, ro += stride)
                o = FloatVector.fromArray(S, rows, ro).fma(FloatVector.broadcast(S, e[u]), o);
            o.intoArray(out, d);
        }
    }

    /** out = qᵀ·C (C rows of stride dvp at cBase), and num += wi·out. */
    static void queryState(float[] c, int cBase, int dk, int dvp, float[] qc, int qo, float wi, float[] out, float[] num) {
        FloatVector wv = FloatVector.broadcast(S, wi);
        for (int dd = 0; dd < dvp; dd += LANES) {
            FloatVector o = FloatVector.zero(S);
            for (int d = 0, co = cBase + dd; d < dk; d++, co += dvp)
                o = FloatVector.fromArray(S, c, co).fma(FloatVector.broadcast(S, qc[qo + d]), o);
            o.intoArray(out, dd);
            o.fma(wv, FloatVector.fromArray(S, num, dd)).intoArray(num, dd);
        }
    }

    /** dNum[no..] = dh[ho..]·inv; returns Σ dh·num. */
    static float scaleAndDot(float[] dh, int ho, float[] num, float inv, float[] dNum, int no, int dvp, float[] tmp) {
        FloatVector dot = FloatVector.zero(S), iv = FloatVector.broadcast(S, inv);
        for (int d = 0; d < dvp; d += LANES) {
            FloatVector g = FloatVector.fromArray(S, dh, ho + d);
            dot = g.fma(FloatVector.fromArray(S, num, d), dot);
            g.mul(iv).intoArray(dNum, no + d);
        }
        return VectorGrads.sum(dot, tmp);
    }

    /**
     * For u ≤ t: de_u = dDen + dNum·v_u; ds[u] = de_u·w[u] (the score gradient, stored in dsRow), dl[u] = de_u·e[u]
     * (the exponent's gradient, added to daF); returns Σ dl.
     */
    static float scoreGrads(float[] vt, int lp, float[] dNum, int no, int dv, float dDen, float[] w, float[] e, int t,
                            float[] dsRow, int so, float[] daF, float[] tmp) {
        int nv = t / LANES + 1;
        FloatVector zero = FloatVector.zero(S);
        FloatVector sum = zero;
        for (int j = 0; j < nv; j++) {
            int u0 = j * LANES;
            FloatVector de = FloatVector.broadcast(S, dDen);
            for (int d = 0, vo = u0; d < dv; d++, vo += lp)
                de = FloatVector.fromArray(S, vt, vo).fma(FloatVector.broadcast(S, dNum[no + d]), de);
            FloatVector dl = de.mul(FloatVector.fromArray(S, e, u0));
            if (j == nv - 1) dl = dl.blend(zero, S.indexInRange(u0, t + 1).not());
            de.mul(FloatVector.fromArray(S, w, u0)).intoArray(dsRow, so + u0);
            FloatVector.fromArray(S, daF, u0).add(dl).intoArray(daF, u0);
            sum = sum.add(dl);
        }
        return VectorGrads.sum(sum, tmp);
    }

    /** out[oo..oo+width) = Σ_{u≤t} ds[so+u]·rows[u] (rows of stride width). */
    static void rowCombination(float[] rows, float[] ds, int so, int t, float[] out, int oo, int width) {
        for (int d = 0; d < width; d += LANES) {
            FloatVector o = FloatVector.zero(S);
            for (int u = 0, ro = d; u <= t; u++, ro += width)
                o = FloatVector.fromArray(S, rows, ro).fma(FloatVector.broadcast(S, ds[so + u]), o);
            o.intoArray(out, oo + d);
        }
    }

    /** dq[qo..] += wi·(Σ_e dNum[e]·cpT[e][·] + dDen·np[·]). */
    static void interQueryGrad(float[] cpT, int dkp, float[] dNum, int no, int dv, float[] np, int nBase, float dDen, float wi,
                               float[] dq, int qo) {
        FloatVector wv = FloatVector.broadcast(S, wi);
        for (int x = 0; x < dkp; x += LANES) {
            FloatVector acc = FloatVector.fromArray(S, np, nBase + x).mul(dDen);
            for (int e = 0, co = x; e < dv; e++, co += dkp)
                acc = FloatVector.fromArray(S, cpT, co).fma(FloatVector.broadcast(S, dNum[no + e]), acc);
            acc.fma(wv, FloatVector.fromArray(S, dq, qo + x)).intoArray(dq, qo + x);
        }
    }

    /** Returns Σ a[0..n)·b[0..n) over padded arrays. */
    static float dot(float[] a, int ao, float[] b, int bo, int n, float[] tmp) {
        FloatVector s = FloatVector.zero(S);
        for (int i = 0; i < n; i += LANES) s = FloatVector.fromArray(S, a, ao + i).fma(FloatVector.fromArray(S, b, bo + i), s);
        return VectorGrads.sum(s, tmp);
    }

    /**
     * Per source row u: acc[u] += Σ_{t≥u} m[t][u]·rows[t] (m row-major with stride lp, rows of stride width). Used
     * for dk̂ (m = dS, rows = q) and dv (m = E, rows = dNum).
     */
    static void columnCombination(float[] m, int lp, float[] rows, int width, int len, float[] acc) {
        for (int u = 0; u < len; u++)
            for (int d = 0; d < width; d += LANES) {
                FloatVector o = FloatVector.fromArray(S, acc, u * width + d);
                for (int t = u, ro = u * width + d; t < len; t++, ro += width)
                    o = FloatVector.fromArray(S, rows, ro).fma(FloatVector.broadcast(S, m[t * lp + u]), o);
                o.intoArray(acc, u * width + d);
            }
    }

    /** dC[x][·] += Σ_t (wq[t]·q_t[x])·dNum_t[·] for all x (dNum rows of stride dvp, q rows of stride dkp). */
    static void interStateGrad(float[] qc, int dkp, int dk, float[] wq, float[] dNumAll, int dvp, int len, float[] dC) {
        for (int x = 0; x < dk; x++)
            for (int e = 0; e < dvp; e += LANES) {
                FloatVector o = FloatVector.fromArray(S, dC, x * dvp + e);
                for (int t = 0, no = e; t < len; t++, no += dvp)
                    o = FloatVector.fromArray(S, dNumAll, no).fma(FloatVector.broadcast(S, wq[t] * qc[t * dkp + x]), o);
                o.intoArray(dC, x * dvp + e);
            }
    }

    /** tu[·] = Σ_e v[e]·dCT[e][·] + dn[·]. */
    static void stateTimesValue(float[] dCT, int dkp, float[] vc, int vo, int dv, float[] dn, float[] tu) {
        for (int x = 0; x < dkp; x += LANES) {
            FloatVector acc = FloatVector.fromArray(S, dn, x);
            for (int e = 0, co = x; e < dv; e++, co += dkp)
                acc = FloatVector.fromArray(S, dCT, co).fma(FloatVector.broadcast(S, vc[vo + e]), acc);
            acc.intoArray(tu, x);
        }
    }

    /** acc[ao..] += s·src[so..] over n padded floats. */
    static void axpy(float s, float[] src, int so, float[] acc, int ao, int n) {
        FloatVector sv = FloatVector.broadcast(S, s);
        for (int i = 0; i < n; i += LANES)
            FloatVector.fromArray(S, src, so + i).fma(sv, FloatVector.fromArray(S, acc, ao + i)).intoArray(acc, ao + i);
    }

    /** out[0..dvp) += Σ_x coef·k̂[x]·dC[x][·]. */
    static void stateTimesKey(float[] dC, int dk, int dvp, float[] kc, int ko, float coef, float[] out, int oo) {
        for (int e = 0; e < dvp; e += LANES) {
            FloatVector acc = FloatVector.fromArray(S, out, oo + e);
            for (int x = 0, co = e; x < dk; x++, co += dvp)
                acc = FloatVector.fromArray(S, dC, co).fma(FloatVector.broadcast(S, kc[ko + x] * coef), acc);
            acc.intoArray(out, oo + e);
        }
    }

    static void scale(float[] a, int n, float s) {
        FloatVector sv = FloatVector.broadcast(S, s);
        for (int i = 0; i < n; i += LANES) FloatVector.fromArray(S, a, i).mul(sv).intoArray(a, i);
    }

    /** C += Σ_u w[u]·k̂_u v_uᵀ and n += Σ_u w[u]·k̂_u (the forward's state update after the decay). */
    static void stateUpdate(float[] kt, int lp, float[] vc, int dvp, int dk, int len, double[] a, double g, double mNew,
                            float[] c, float[] n) {
        for (int u = 0; u < len; u++) {
            float wu = (float) Math.exp(g + a[u] - mNew);
            for (int d = 0; d < dk; d++) {
                float coef = kt[d * lp + u] * wu;
                n[d] += coef;
                axpy(coef, vc, u * dvp, c, d * dvp, dvp);
            }
        }
    }

    /** dst[c·ldd + r] = src[off + r·cols + c] for an (rows, cols) block, padded columns of dst zeroed. */
    static void transpose(float[] src, int off, int rows, int cols, float[] dst, int ldd) {
        for (int c = 0; c < cols; c++) Arrays.fill(dst, c * ldd + rows, c * ldd + ldd, 0f);
        for (int r = 0; r < rows; r++)
            for (int c = 0; c < cols; c++) dst[c * ldd + r] = src[off + r * cols + c];
    }

    private static double share(double self, double other) { return self > other ? 1.0 : self == other ? 0.5 : 0.0; }

    // ============================================================================================ per (b, head)

    private static final class Task {
        final MlstmShapes sh;
        final int b, hd, s, nh, dk, dv, chunk, lp, dkp, dvp, nChunks;
        final float eps, scale, m0;
        final float[] qc, kc, kt, vc, vt, dhc, dqc, dkc, dvc, cs, ns, cpT, dC, dCT, dn;
        final float[] aHi, aLo, wRow, eRow, daF, num, qcv, tu, tmp, dsAll, eAll, dNumAll, wq;
        final double[] ms, bcum, a, pm, dbc, da;

        Task(MlstmShapes sh, int b, int hd, int chunk, float eps, float m0) {
            this.sh = sh;
            this.b = b;
            this.hd = hd;
            this.s = sh.seq();
            this.nh = sh.heads();
            this.dk = sh.dqk();
            this.dv = sh.dv();
            this.chunk = chunk;
            this.lp = pad(chunk);
            this.dkp = pad(dk);
            this.dvp = pad(dv);
            this.nChunks = (s + chunk - 1) / chunk;
            this.eps = eps;
            this.scale = (float) (1.0 / Math.sqrt(dk));
            this.m0 = m0;
            int slot = 6;
            qc = GradScratch.task(slot++, chunk * dkp);
            kc = GradScratch.task(slot++, chunk * dkp);
            kt = GradScratch.task(slot++, dk * lp);
            vc = GradScratch.task(slot++, chunk * dvp);
            vt = GradScratch.task(slot++, dv * lp);
            dhc = GradScratch.task(slot++, chunk * dvp);
            dqc = GradScratch.task(slot++, chunk * dkp);
            dkc = GradScratch.task(slot++, chunk * dkp);
            dvc = GradScratch.task(slot++, chunk * dvp);
            cs = GradScratch.task(slot++, nChunks * dk * dvp);
            ns = GradScratch.task(slot++, nChunks * dkp);
            cpT = GradScratch.task(slot++, dvp * dkp);
            dC = GradScratch.task(slot++, dk * dvp);
            dCT = GradScratch.task(slot++, dvp * dkp);
            dn = GradScratch.task(slot++, dkp);
            aHi = GradScratch.task(slot++, lp);
            aLo = GradScratch.task(slot++, lp);
            wRow = GradScratch.task(slot++, lp);
            eRow = GradScratch.task(slot++, lp);
            daF = GradScratch.task(slot++, lp);
            num = GradScratch.task(slot++, dvp);
            qcv = GradScratch.task(slot++, dvp);
            tu = GradScratch.task(slot++, dkp);
            tmp = GradScratch.task(slot++, LANES);
            dsAll = GradScratch.task(slot++, chunk * lp);
            eAll = GradScratch.task(slot++, chunk * lp);
            dNumAll = GradScratch.task(slot++, chunk * dvp);
            wq = GradScratch.task(slot, lp);
            ms = GradScratch.taskDoubles(0, nChunks);
            bcum = GradScratch.taskDoubles(1, lp);
            a = GradScratch.taskDoubles(2, lp);
            pm = GradScratch.taskDoubles(3, lp);
            dbc = GradScratch.taskDoubles(4, lp);
            da = GradScratch.taskDoubles(5, lp);
        }

        void run(MemorySegment q, MemorySegment k, MemorySegment v, MemorySegment ig, MemorySegment fg, MemorySegment dh,
                 MemorySegment dqOut, MemorySegment dkOut, MemorySegment dvOut, MemorySegment di, MemorySegment df) {
            statesPass(q, k, v, ig, fg);
            Arrays.fill(dC, 0, dk * dvp, 0f);
            Arrays.fill(dn, 0, dkp, 0f);
            double dm = 0;
            for (int c = nChunks - 1; c >= 0; c--)
                dm = chunkBackward(c, dm, q, k, v, ig, fg, dh, dqOut, dkOut, dvOut, di, df);
        }

        /** Loads chunk c's q, scaled k (both layouts), v (both layouts) and gate logs; returns its length. */
        private int gather(int c, MemorySegment q, MemorySegment k, MemorySegment v, MemorySegment ig, MemorySegment fg) {
            int t0 = c * chunk, len = Math.min(chunk, s - t0);
            Arrays.fill(kt, 0, dk * lp, 0f);
            Arrays.fill(vt, 0, dv * lp, 0f);
            Arrays.fill(qc, 0, chunk * dkp, 0f);
            Arrays.fill(kc, 0, chunk * dkp, 0f);
            Arrays.fill(vc, 0, chunk * dvp, 0f);
            for (int u = 0; u < len; u++) {
                int t = t0 + u;
                long qo = sh.qk(b, t, hd, 0), vo = sh.v(b, t, hd, 0);
                MemorySegment.copy(q, F, qo * 4, qc, u * dkp, dk);
                MemorySegment.copy(k, F, qo * 4, kc, u * dkp, dk);
                for (int d = 0; d < dk; d++) {
                    float kh = kc[u * dkp + d] * scale;
                    kt[d * lp + u] = kh;
                    kc[u * dkp + d] = kh;
                }
                MemorySegment.copy(v, F, vo * 4, vc, u * dvp, dv);
                for (int d = 0; d < dv; d++) vt[d * lp + u] = vc[u * dvp + d];
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
            return len;
        }

        /** The chunk-start states, as the forward computes them (state C of chunk c at cs[c·dk·dvp]). */
        private void statesPass(MemorySegment q, MemorySegment k, MemorySegment v, MemorySegment ig, MemorySegment fg) {
            float[] c = GradScratch.task(40, dk * dvp);
            float[] n = GradScratch.task(41, dkp);
            Arrays.fill(c, 0, dk * dvp, 0f);
            Arrays.fill(n, 0, dkp, 0f);
            float m = m0;
            for (int ci = 0; ci < nChunks; ci++) {
                System.arraycopy(c, 0, cs, ci * dk * dvp, dk * dvp);
                System.arraycopy(n, 0, ns, ci * dkp, dkp);
                ms[ci] = m;
                if (ci == nChunks - 1) break;
                int len = gather(ci, q, k, v, ig, fg);
                double g = bcum[len - 1];
                double mNew = Math.max(g + m, g + pm[len - 1]);
                float decay = (float) Math.exp(g + m - mNew);
                if (decay != 1f) {
                    scale(c, dk * dvp, decay);
                    for (int d = 0; d < dk; d++) n[d] *= decay;
                }
                stateUpdate(kt, lp, vc, dvp, dk, len, a, g, mNew, c, n);
                m = (float) mNew;
            }
        }

        /** Backward of chunk ci; dC, dn hold the gradient w.r.t. the state after it and are left w.r.t. the state before. */
        private double chunkBackward(int ci, double dmIn, MemorySegment q, MemorySegment k, MemorySegment v,
                                     MemorySegment ig, MemorySegment fg, MemorySegment dh, MemorySegment dq,
                                     MemorySegment dkOut, MemorySegment dvOut, MemorySegment di, MemorySegment df) {
            int len = gather(ci, q, k, v, ig, fg), t0 = ci * chunk;
            int cBase = ci * dk * dvp, nBase = ci * dkp;
            double m = ms[ci];
            Arrays.fill(dhc, 0, chunk * dvp, 0f);
            for (int u = 0; u < len; u++) MemorySegment.copy(dh, F, sh.v(b, t0 + u, hd, 0) * 4, dhc, u * dvp, dv);
            Arrays.fill(dqc, 0, len * dkp, 0f);
            Arrays.fill(dkc, 0, len * dkp, 0f);
            Arrays.fill(dvc, 0, len * dvp, 0f);
            Arrays.fill(dbc, 0, len, 0);
            Arrays.fill(da, 0, len, 0);
            Arrays.fill(daF, 0, lp, 0f);
            double dmPrev = 0;

            // ---- the state update C_end = decay·Cp + Σ_u w'_u k̂_u v_uᵀ (n likewise), mNew = max(g + m, g + max a)
            double g = bcum[len - 1];
            int aMax = 0;
            for (int u = 1; u < len; u++) if (a[u] > a[aMax]) aMax = u;
            double mLoc = g + a[aMax];
            double mNew = Math.max(g + m, mLoc);
            float decay = (float) Math.exp(g + m - mNew);
            if (ci < nChunks - 1) {   // the last chunk's end state feeds nothing
                double dg = 0, dmNew = dmIn;
                double dDecay = dot(dC, 0, cs, cBase, dk * dvp, tmp);
                for (int x = 0; x < dk; x++) dDecay += (double) dn[x] * ns[nBase + x];
                if (decay != 0f) {
                    double l = dDecay * decay;
                    dg += l;
                    dmPrev += l;
                    dmNew -= l;
                }
                transpose(dC, 0, dk, dvp, dCT, dkp);
                for (int u = 0; u < len; u++) {
                    float wu = (float) Math.exp(g + a[u] - mNew);
                    stateTimesValue(dCT, dkp, vc, u * dvp, dv, dn, tu);            // tu = dC·v_u + dn
                    double l = (double) dot(tu, 0, kc, u * dkp, dkp, tmp) * wu;
                    axpy(wu, tu, 0, dkc, u * dkp, dkp);                            // dk̂_u += w'_u·tu
                    stateTimesKey(dC, dk, dvp, kc, u * dkp, wu, dvc, u * dvp);     // dv_u += w'_u·dCᵀk̂_u
                    dg += l;
                    da[u] += l;
                    dmNew -= l;
                }
                double sh0 = share(g + m, mLoc);
                dg += dmNew;
                dmPrev += dmNew * sh0;
                da[aMax] += dmNew * (1 - sh0);
                dbc[len - 1] += dg;
                // from here on dC, dn accumulate the gradient w.r.t. the state before the chunk
                scale(dC, dk * dvp, decay);
                for (int x = 0; x < dkp; x++) dn[x] *= decay;
            } else {
                Arrays.fill(dC, 0, dk * dvp, 0f);
                Arrays.fill(dn, 0, dkp, 0f);
            }

            // ---- outputs, pass over rows t
            boolean inter0 = m != Double.NEGATIVE_INFINITY;
            if (inter0) transpose(cs, cBase, dk, dvp, cpT, dkp);
            Arrays.fill(wq, 0, lp, 0f);
            int runArg = 0;
            for (int t = 0; t < len; t++) {
                if (a[t] > a[runArg]) runArg = t;
                double bt = bcum[t];
                double inter = bt + m, intra = bt + pm[t];
                double stab = Math.max(intra, inter);
                double shift = bt - stab;
                float shHi = (float) shift;
                int qo = t * dkp, ho = t * dvp, so = t * lp;
                float den = scoreRow(kt, lp, qc, qo, dk, aHi, aLo, shHi, (float) (shift - shHi), t, wRow, eRow, tmp);
                weightedRows(vc, dvp, eRow, t, num, dvp);
                float wi = 0f, qn = 0f;
                if (inter0) {
                    wi = (float) Math.exp(inter - stab);
                    qn = dot(qc, qo, ns, nBase, dkp, tmp);
                    den += wi * qn;
                    queryState(cs, cBase, dk, dvp, qc, qo, wi, qcv, num);
                }
                float expNeg = (float) Math.exp(-stab);
                float norm = Math.max(Math.abs(den), expNeg) + eps;
                float inv = 1f / norm;
                double dNorm = -(double) scaleAndDot(dhc, ho, num, inv, dNumAll, ho, dvp, tmp) * inv * inv;
                double shAbs = share(Math.abs(den), expNeg);
                float dDen = (float) (dNorm * shAbs * Math.signum(den));
                double dStab = -dNorm * (1 - shAbs) * expNeg;
                Arrays.fill(dsAll, so, so + lp, 0f);
                Arrays.fill(eAll, so, so + lp, 0f);
                double sumDl = scoreGrads(vt, lp, dNumAll, ho, dv, dDen, wRow, eRow, t, dsAll, so, daF, tmp);
                System.arraycopy(eRow, 0, eAll, so, t + 1);
                dbc[t] += sumDl;
                dStab -= sumDl;
                rowCombination(kc, dsAll, so, t, dqc, qo, dkp);   // dq_t = Σ_u dS[t][u]·k̂_u
                if (inter0 && wi != 0f) {
                    double dwI = dot(dNumAll, ho, qcv, 0, dvp, tmp) + (double) dDen * qn;
                    interQueryGrad(cpT, dkp, dNumAll, ho, dv, ns, nBase, dDen, wi, dqc, qo);
                    wq[t] = wi;
                    for (int x = 0; x < dk; x++) dn[x] += wi * qc[qo + x] * dDen;
                    double l = dwI * wi;
                    dbc[t] += l;
                    dmPrev += l;
                    dStab -= l;
                }
                double shIntra = share(intra, inter);
                dbc[t] += dStab;
                da[runArg] += dStab * shIntra;
                dmPrev += dStab * (1 - shIntra);
            }
            if (inter0) interStateGrad(qc, dkp, dk, wq, dNumAll, dvp, len, dC);   // dCp += Σ_t wI_t q_t ⊗ dNum_t
            // ---- pass over source rows u
            columnCombination(dsAll, lp, qc, dkp, len, dkc);       // dk̂_u += Σ_t dS[t][u]·q_t
            columnCombination(eAll, lp, dNumAll, dvp, len, dvc);   // dv_u += Σ_t E[t][u]·dNum_t

            // ---- gates and write-out
            for (int u = 0; u < len; u++) {
                da[u] += daF[u];
                dbc[u] -= da[u];
            }
            double suffix = 0;
            for (int j = len - 1; j >= 0; j--) {
                suffix += dbc[j];
                long gi = ((long) b * s + t0 + j) * nh + hd;
                if (df != null) df.setAtIndex(F, gi, (float) (suffix * ScalarMath.sigmoid(-fg.getAtIndex(F, gi))));
                if (di != null) di.setAtIndex(F, gi, (float) da[j]);
            }
            for (int u = 0; u < len; u++) {
                int t = t0 + u;
                long qo = sh.qk(b, t, hd, 0), vo = sh.v(b, t, hd, 0);
                if (dq != null) MemorySegment.copy(dqc, u * dkp, dq, F, qo * 4, dk);
                if (dkOut != null)
                    for (int d = 0; d < dk; d++) dkOut.setAtIndex(F, qo + d, dkc[u * dkp + d] * scale);
                if (dvOut != null) MemorySegment.copy(dvc, u * dvp, dvOut, F, vo * 4, dv);
            }
            return dmPrev;
        }
    }
}
