package org.xlstm.jvm.backend.cpu;

import static org.xlstm.jvm.backend.cpu.Simd.LANES;
import static org.xlstm.jvm.backend.cpu.Simd.ORDER;
import static org.xlstm.jvm.backend.cpu.Simd.S;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import org.xlstm.jvm.backend.MlstmShapes;
import org.xlstm.jvm.backend.ScalarMath;
import org.xlstm.jvm.tensor.Tensor;

/**
 * Backward of the chunkwise mLSTM cell ({@link MlstmKernels#chunkwise}) from a zero state, one task per
 * (batch, head) as the forward, so the result does not depend on the thread count.
 *
 * <p>Per task: first the chunk-start states (C, n, m) are recomputed exactly as the forward computes them (same
 * float arithmetic), then the chunks are visited last to first carrying dC, dn, dm (the gradient with respect to
 * the state after the chunk). Per chunk, the state update is differentiated first (it needs dC as it comes in),
 * then dC, dn are scaled by the decay and the outputs' gradients add the carried-state terms, leaving the gradient
 * with respect to the state before the chunk. Within a chunk every output row t is recomputed (scores, gate
 * weights, normaliser) and differentiated; the score gradients go into q, k̂ and v by broadcast multiply-adds.
 * Stabilisers are differentiated as computed (the official autograd does the same): the row maximum passes its
 * gradient to its arg-max gate, which matters only through eps. Gate logs are kept in double, as in the forward.
 */
final class MlstmBackward {
    private MlstmBackward() {}

    private static final ValueLayout.OfFloat F = ValueLayout.JAVA_FLOAT;
    private static final FloatVector ZERO = FloatVector.zero(S);

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

    /** One (batch, head): its scratch arrays and the two passes. */
    private static final class Task {
        final MlstmShapes sh;
        final int b, hd, s, nh, dk, dv, chunk, lp, dkp, dvp, nChunks;
        final float eps, scale;
        final float m0;
        // chunk gathers
        final float[] qc, kc, kt, vc, vt, dhc, dqc, dkc, dvc;
        // states at chunk starts and the carried gradients
        final float[] cs, ns, cpT, dC, dCT, dn;
        final double[] ms;
        // per chunk gate values and gradients
        final double[] bcum, a, pm, dbc, da;
        final float[] aHi, aLo, wRow, eRow, deRow, dlRow, daF, num, dNum, qcv, tu;

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
            deRow = GradScratch.task(slot++, lp);
            dlRow = GradScratch.task(slot++, lp);
            daF = GradScratch.task(slot++, lp);
            num = GradScratch.task(slot++, dvp);
            dNum = GradScratch.task(slot++, dvp);
            qcv = GradScratch.task(slot++, dvp);
            tu = GradScratch.task(slot, dkp);
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

        private boolean fresh() { return m0 == Float.NEGATIVE_INFINITY; }

        /** Loads chunk c's q, scaled k (both layouts), v (both layouts) and gate logs; returns its length. */
        private int gather(int c, MemorySegment q, MemorySegment k, MemorySegment v, MemorySegment ig, MemorySegment fg) {
            int t0 = c * chunk, len = Math.min(chunk, s - t0);
            Arrays.fill(kt, 0, dk * lp, 0f);
            Arrays.fill(vt, 0, dv * lp, 0f);
            for (int u = 0; u < len; u++) {
                int t = t0 + u;
                long qo = sh.qk(b, t, hd, 0), vo = sh.v(b, t, hd, 0);
                MemorySegment.copy(q, F, qo * 4, qc, u * dkp, dk);
                Arrays.fill(qc, u * dkp + dk, (u + 1) * dkp, 0f);
                for (int d = 0; d < dk; d++) {
                    float kh = k.getAtIndex(F, qo + d) * scale;
                    kt[d * lp + u] = kh;
                    kc[u * dkp + d] = kh;
                }
                Arrays.fill(kc, u * dkp + dk, (u + 1) * dkp, 0f);
                MemorySegment.copy(v, F, vo * 4, vc, u * dvp, dv);
                Arrays.fill(vc, u * dvp + dv, (u + 1) * dvp, 0f);
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
        }

        private static double share(double self, double other) { return self > other ? 1.0 : self == other ? 0.5 : 0.0; }

        /** Backward of chunk ci; dC, dn hold the gradient w.r.t. the state after it and are left w.r.t. the state before. */
        private double chunkBackward(int ci, double dmIn, MemorySegment q, MemorySegment k, MemorySegment v,
                                     MemorySegment ig, MemorySegment fg, MemorySegment dh, MemorySegment dq,
                                     MemorySegment dkOut, MemorySegment dvOut, MemorySegment di, MemorySegment df) {
            int len = gather(ci, q, k, v, ig, fg), t0 = ci * chunk;
            int cBase = ci * dk * dvp, nBase = ci * dkp;
            double m = ms[ci];
            for (int u = 0; u < len; u++) {
                MemorySegment.copy(dh, F, sh.v(b, t0 + u, hd, 0) * 4, dhc, u * dvp, dv);
                Arrays.fill(dhc, u * dvp + dv, (u + 1) * dvp, 0f);
            }
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
            double dg = 0, dmNew = dmIn;
            boolean anyState = ci < nChunks - 1;   // the last chunk's end state feeds nothing
            if (anyState) {
                FloatVector dd = ZERO;
                for (int x = 0; x < dk; x++) {
                    int co = x * dvp;
                    for (int e = 0; e < dvp; e += LANES)
                        dd = FloatVector.fromArray(S, dC, co + e).fma(FloatVector.fromArray(S, cs, cBase + co + e), dd);
                }
                double dDecay = VectorGrads.sum(dd);
                for (int x = 0; x < dk; x++) dDecay += (double) dn[x] * ns[nBase + x];
                if (decay != 0f) {
                    double l = dDecay * decay;
                    dg += l;
                    dmPrev += l;
                    dmNew -= l;
                }
                transpose(dC, dk, dvp, dCT, dkp);
                for (int u = 0; u < len; u++) {
                    float wu = (float) Math.exp(g + a[u] - mNew);
                    // tu = dC·v_u + dn  (over the key dimension)
                    for (int x = 0; x < dkp; x += LANES) {
                        FloatVector acc = FloatVector.fromArray(S, dn, x);
                        for (int e = 0, vo = u * dvp; e < dv; e++)
                            acc = FloatVector.fromArray(S, dCT, e * dkp + x).fma(FloatVector.broadcast(S, vc[vo + e]), acc);
                        acc.intoArray(tu, x);
                    }
                    FloatVector dot = ZERO;
                    FloatVector wv = FloatVector.broadcast(S, wu);
                    for (int x = 0; x < dkp; x += LANES) {
                        FloatVector t = FloatVector.fromArray(S, tu, x);
                        dot = t.fma(FloatVector.fromArray(S, kc, u * dkp + x), dot);
                        t.fma(wv, FloatVector.fromArray(S, dkc, u * dkp + x)).intoArray(dkc, u * dkp + x);
                    }
                    double l = (double) VectorGrads.sum(dot) * wu;
                    dg += l;
                    da[u] += l;
                    dmNew -= l;
                    // dv_u += w'_u·dCᵀ k̂_u
                    for (int e = 0; e < dvp; e += LANES) {
                        FloatVector acc = FloatVector.fromArray(S, dvc, u * dvp + e);
                        for (int x = 0; x < dk; x++)
                            acc = FloatVector.fromArray(S, dC, x * dvp + e).fma(FloatVector.broadcast(S, kc[u * dkp + x] * wu), acc);
                        acc.intoArray(dvc, u * dvp + e);
                    }
                }
                double sh0 = share(g + m, mLoc);
                dg += dmNew;
                dmPrev += dmNew * sh0;
                da[aMax] += dmNew * (1 - sh0);
                dbc[len - 1] += dg;
                // from here on dC, dn accumulate the gradient w.r.t. the state before the chunk
                FloatVector dec = FloatVector.broadcast(S, decay);
                for (int i = 0; i < dk * dvp; i += LANES) FloatVector.fromArray(S, dC, i).mul(dec).intoArray(dC, i);
                for (int x = 0; x < dkp; x++) dn[x] *= decay;
            } else {
                Arrays.fill(dC, 0, dk * dvp, 0f);
                Arrays.fill(dn, 0, dkp, 0f);
            }

            // ---- outputs
            boolean inter0 = m != Double.NEGATIVE_INFINITY;
            if (inter0) transpose(cs, cBase, dk, dvp, cpT, dkp);
            float[] np = ns;
            int runArg = 0;
            for (int t = 0; t < len; t++) {
                if (a[t] > a[runArg]) runArg = t;
                double bt = bcum[t];
                double inter = bt + m;
                double intra = bt + pm[t];
                double stab = Math.max(intra, inter);
                int nv = t / LANES + 1;
                double shift = bt - stab;
                float shHi = (float) shift;
                FloatVector shiftHi = FloatVector.broadcast(S, shHi), shiftLo = FloatVector.broadcast(S, (float) (shift - shHi));
                int qo = t * dkp;
                FloatVector denV = ZERO;
                for (int j = 0; j < nv; j++) {
                    int u0 = j * LANES;
                    FloatVector sc = ZERO;
                    for (int d = 0, ko = u0; d < dk; d++, ko += lp)
                        sc = FloatVector.fromArray(S, kt, ko).fma(FloatVector.broadcast(S, qc[qo + d]), sc);
                    FloatVector arg = FloatVector.fromArray(S, aHi, u0).add(shiftHi)
                            .add(FloatVector.fromArray(S, aLo, u0).add(shiftLo));
                    FloatVector w = VectorMath.exp(arg);
                    if (j == nv - 1) w = w.blend(ZERO, S.indexInRange(u0, t + 1).not());
                    FloatVector ev = sc.mul(w);
                    w.intoArray(wRow, u0);
                    ev.intoArray(eRow, u0);
                    denV = denV.add(ev);
                }
                float den = VectorGrads.sum(denV);
                for (int d = 0; d < dvp; d += LANES) {
                    FloatVector o = ZERO;
                    for (int u = 0, vo = d; u <= t; u++, vo += dvp)
                        o = FloatVector.fromArray(S, vc, vo).fma(FloatVector.broadcast(S, eRow[u]), o);
                    o.intoArray(num, d);
                }
                float wi = 0f, qn = 0f;
                if (inter0) {
                    wi = (float) Math.exp(inter - stab);
                    for (int d = 0; d < dk; d++) qn += qc[qo + d] * np[nBase + d];
                    den += wi * qn;
                    for (int dd = 0; dd < dvp; dd += LANES) {
                        FloatVector o = ZERO;
                        for (int d = 0, co = cBase + dd; d < dk; d++, co += dvp)
                            o = FloatVector.fromArray(S, cs, co).fma(FloatVector.broadcast(S, qc[qo + d]), o);
                        o.intoArray(qcv, dd);
                        o.fma(FloatVector.broadcast(S, wi), FloatVector.fromArray(S, num, dd)).intoArray(num, dd);
                    }
                }
                float expNeg = (float) Math.exp(-stab);
                float norm = Math.max(Math.abs(den), expNeg) + eps;
                float inv = 1f / norm;
                // dNum = dh/norm, dNorm = −dh·num/norm²
                FloatVector dotHN = ZERO;
                FloatVector invV = FloatVector.broadcast(S, inv);
                int ho = t * dvp;
                for (int d = 0; d < dvp; d += LANES) {
                    FloatVector gh = FloatVector.fromArray(S, dhc, ho + d);
                    dotHN = gh.fma(FloatVector.fromArray(S, num, d), dotHN);
                    gh.mul(invV).intoArray(dNum, d);
                }
                double dNorm = -(double) VectorGrads.sum(dotHN) * inv * inv;
                double shAbs = share(Math.abs(den), expNeg);
                float dDen = (float) (dNorm * shAbs * Math.signum(den));
                double dStab = -dNorm * (1 - shAbs) * expNeg;
                // de_u = dDen + dNum·v_u, over u
                FloatVector dDenV = FloatVector.broadcast(S, dDen);
                for (int j = 0; j < nv; j++) {
                    int u0 = j * LANES;
                    FloatVector de = dDenV;
                    for (int d = 0, vo = u0; d < dv; d++, vo += lp)
                        de = FloatVector.fromArray(S, vt, vo).fma(FloatVector.broadcast(S, dNum[d]), de);
                    FloatVector e = FloatVector.fromArray(S, eRow, u0);
                    FloatVector dl = de.mul(e);
                    if (j == nv - 1) dl = dl.blend(ZERO, S.indexInRange(u0, t + 1).not());
                    // ds_u = de_u·w_u (gradient of the score q·k̂_u)
                    de.mul(FloatVector.fromArray(S, wRow, u0)).intoArray(deRow, u0);
                    dl.intoArray(dlRow, u0);
                    FloatVector.fromArray(S, daF, u0).add(dl).intoArray(daF, u0);
                }
                double sumDl = 0;
                for (int u = 0; u <= t; u++) sumDl += dlRow[u];
                dbc[t] += sumDl;
                dStab -= sumDl;
                // dv_u += e_u·dNum; dq_t += Σ ds_u k̂_u; dk̂_u += ds_u q_t
                for (int u = 0; u <= t; u++) {
                    FloatVector eu = FloatVector.broadcast(S, eRow[u]), ds = FloatVector.broadcast(S, deRow[u]);
                    for (int d = 0; d < dvp; d += LANES)
                        FloatVector.fromArray(S, dNum, d).fma(eu, FloatVector.fromArray(S, dvc, u * dvp + d)).intoArray(dvc, u * dvp + d);
                    for (int d = 0; d < dkp; d += LANES) {
                        FloatVector.fromArray(S, kc, u * dkp + d).fma(ds, FloatVector.fromArray(S, dqc, qo + d)).intoArray(dqc, qo + d);
                        FloatVector.fromArray(S, qc, qo + d).fma(ds, FloatVector.fromArray(S, dkc, u * dkp + d)).intoArray(dkc, u * dkp + d);
                    }
                }
                if (inter0 && wi != 0f) {
                    FloatVector dw = ZERO;
                    for (int d = 0; d < dvp; d += LANES) dw = FloatVector.fromArray(S, dNum, d).fma(FloatVector.fromArray(S, qcv, d), dw);
                    double dwI = VectorGrads.sum(dw) + (double) dDen * qn;
                    // dq_t += wI·(Cp·dNum + dDen·np)
                    FloatVector wv = FloatVector.broadcast(S, wi);
                    for (int x = 0; x < dkp; x += LANES) {
                        FloatVector acc = FloatVector.fromArray(S, np, nBase + x).mul(dDen);
                        for (int e = 0; e < dv; e++)
                            acc = FloatVector.fromArray(S, cpT, e * dkp + x).fma(FloatVector.broadcast(S, dNum[e]), acc);
                        acc.fma(wv, FloatVector.fromArray(S, dqc, qo + x)).intoArray(dqc, qo + x);
                    }
                    // dCp += wI·q_t ⊗ dNum; dnp += wI·dDen·q_t
                    for (int x = 0; x < dk; x++) {
                        float qx = wi * qc[qo + x];
                        FloatVector qv = FloatVector.broadcast(S, qx);
                        for (int d = 0; d < dvp; d += LANES)
                            FloatVector.fromArray(S, dNum, d).fma(qv, FloatVector.fromArray(S, dC, x * dvp + d)).intoArray(dC, x * dvp + d);
                        dn[x] += qx * dDen;
                    }
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

        /** dst[c·ldd + r] = src[r·cols + c] for an (rows, cols) block. */
        private static void transpose(float[] src, int rows, int cols, float[] dst, int ldd) {
            transpose(src, 0, rows, cols, dst, ldd);
        }

        private static void transpose(float[] src, int off, int rows, int cols, float[] dst, int ldd) {
            for (int c = 0; c < cols; c++) Arrays.fill(dst, c * ldd + rows, c * ldd + ldd, 0f);
            for (int r = 0; r < rows; r++)
                for (int c = 0; c < cols; c++) dst[c * ldd + r] = src[off + r * cols + c];
        }
    }
}
