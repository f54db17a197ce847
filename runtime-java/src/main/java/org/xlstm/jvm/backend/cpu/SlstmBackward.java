package org.xlstm.jvm.backend.cpu;

import static org.xlstm.jvm.backend.cpu.Simd.LANES;
import static org.xlstm.jvm.backend.cpu.Simd.S;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import org.xlstm.jvm.tensor.Tensor;

/**
 * Backpropagation through time of the sLSTM recurrence ({@link SlstmKernel}) from the zero state. One task per
 * (batch row, head), as the forward: the task reruns the forward with the forward's float arithmetic, keeping
 * every step's gate pre-activations and states, then walks back in time carrying dh (through the recurrent
 * matrices), dc, dn and dm. The official vanilla cell lets the gradient flow through the stabiliser
 * m = max(ĩ, logσ(f̃) + m) and the clamps min(exp(·), 1); we differentiate the same graph, ties split in half as
 * torch does. Recurrent-kernel and bias gradients are summed per task and then over the batch in row order.
 */
final class SlstmBackward {
    private SlstmBackward() {}

    private static final ValueLayout.OfFloat F = ValueLayout.JAVA_FLOAT;

    static void run(Tensor xi, Tensor xf, Tensor xz, Tensor xo, Tensor r, Tensor bias, Tensor dy,
                    Tensor dxi, Tensor dxf, Tensor dxz, Tensor dxo, Tensor dr, Tensor dbias) {
        int nh = r.dim(0), dh = r.dim(1), dhp = (dh + LANES - 1) / LANES * LANES, g4 = 4 * dhp;
        int batch = xi.dim(0), s = xi.dim(1);
        MemorySegment rs = r.segment();
        // forward layout rf[(h·dh + k)·g4 + g·dhp + j] = R[h][k][g][j]; transposed rt[(h·g4 + g·dhp + j)·dhp + k]
        float[] rf = GradScratch.shared(6, nh * dh * g4);
        float[] rt = GradScratch.shared(7, nh * g4 * dhp);
        Arrays.fill(rf, 0, nh * dh * g4, 0f);
        Arrays.fill(rt, 0, nh * g4 * dhp, 0f);
        for (int h = 0; h < nh; h++)
            for (int k = 0; k < dh; k++)
                for (int g = 0; g < 4; g++)
                    for (int j = 0; j < dh; j++) {
                        float v = rs.getAtIndex(F, (((long) h * dh + k) * 4 + g) * dh + j);
                        rf[(h * dh + k) * g4 + g * dhp + j] = v;
                        rt[(h * g4 + g * dhp + j) * dhp + k] = v;
                    }
        int tasks = batch * nh, partR = dh * g4, partB = g4;
        float[] pr = dr == null ? null : GradScratch.shared(8, tasks * partR);
        float[] pb = dbias == null ? null : GradScratch.shared(9, tasks * partB);
        MemorySegment[] x = {xi.segment(), xf.segment(), xz.segment(), xo.segment()};
        MemorySegment[] dx = {seg(dxi), seg(dxf), seg(dxz), seg(dxo)};
        long work = (long) batch * s * nh * dh * 4L * dh * 3;
        Parallel.forEach(tasks, work, task -> headTask(task / nh, task % nh, s, nh, dh, dhp, rf, rt, x, bias.segment(),
                dy.segment(), dx, pr, task * partR, pb, task * partB));
        // reduce over the batch, per head, in row order
        if (dr != null) {
            MemorySegment d = dr.segment();
            for (int h = 0; h < nh; h++)
                for (int k = 0; k < dh; k++)
                    for (int g = 0; g < 4; g++)
                        for (int j = 0; j < dh; j++) {
                            float sum = 0f;
                            for (int b = 0; b < batch; b++) sum += pr[(b * nh + h) * partR + k * g4 + g * dhp + j];
                            long i = (((long) h * dh + k) * 4 + g) * dh + j;
                            d.setAtIndex(F, i, d.getAtIndex(F, i) + sum);
                        }
        }
        if (dbias != null) {
            MemorySegment d = dbias.segment();
            for (int h = 0; h < nh; h++)
                for (int g = 0; g < 4; g++)
                    for (int j = 0; j < dh; j++) {
                        float sum = 0f;
                        for (int b = 0; b < batch; b++) sum += pb[(b * nh + h) * partB + g * dhp + j];
                        long i = ((long) h * 4 + g) * dh + j;
                        d.setAtIndex(F, i, d.getAtIndex(F, i) + sum);
                    }
        }
    }

    private static MemorySegment seg(Tensor t) { return t == null ? null : t.segment(); }

    /** torch: max/min pass the whole gradient to the winner, half to each at a tie. */
    private static FloatVector halfAtTie(FloatVector self, FloatVector other) {
        return FloatVector.zero(S).blend(0.5f, self.compare(VectorOperators.EQ, other))
                .blend(1f, self.compare(VectorOperators.GT, other));
    }

    private static void headTask(int b, int hd, int s, int nh, int dh, int dhp, float[] rf, float[] rt,
                                 MemorySegment[] x, MemorySegment bias, MemorySegment dy, MemorySegment[] dx,
                                 float[] pr, int prOff, float[] pb, int pbOff) {
        int d = nh * dh, g4 = 4 * dhp;
        float[] raw = GradScratch.task(32, s * g4);
        float[] cA = GradScratch.task(33, (s + 1) * dhp), nA = GradScratch.task(34, (s + 1) * dhp),
                mA = GradScratch.task(35, (s + 1) * dhp), hA = GradScratch.task(36, (s + 1) * dhp);
        float[] bb = GradScratch.task(37, g4);
        float[] drawAll = GradScratch.task(38, s * g4);
        float[] vec = GradScratch.task(39, 5 * dhp);   // dhRec, dc, dn, dm, dy of the step
        boolean[] fresh = new boolean[s];
        Arrays.fill(cA, 0, dhp, 0f);
        Arrays.fill(mA, 0, dhp, 0f);
        Arrays.fill(hA, 0, dhp, 0f);
        Arrays.fill(nA, 0, dhp, 0f);
        Arrays.fill(nA, dh, dhp, 1f);   // padded lanes stay finite, as in the forward
        Arrays.fill(bb, 0, g4, 0f);
        for (int g = 0; g < 4; g++) MemorySegment.copy(bias, F, (((long) hd * 4 + g) * dh) * 4, bb, g * dhp, dh);
        int rBase = hd * dh * g4;

        // ---- forward, as SlstmKernel computes it, keeping everything
        for (int t = 0; t < s; t++) {
            long xOff = ((long) b * s + t) * d + (long) hd * dh;
            int ro = t * g4, hp = t * dhp;
            for (int g = 0; g < 4; g++) {
                MemorySegment.copy(x[g], F, xOff * 4, raw, ro + g * dhp, dh);
                Arrays.fill(raw, ro + g * dhp + dh, ro + (g + 1) * dhp, 0f);
            }
            recurrentMatVec(rf, rBase, dh, g4, hA, hp, bb, raw, ro);
            boolean fr = true;
            for (int j = 0; j < dh; j++) if (nA[hp + j] != 0f) { fr = false; break; }
            fresh[t] = fr;
            pointwiseForward(raw, ro, dhp, fr, cA, nA, mA, hA, hp);
        }

        // ---- backward through time (the recurrent gradient is sequential; the weight sums come after)
        Arrays.fill(vec, 0, 5 * dhp, 0f);
        int rtBase = hd * g4 * dhp;
        for (int t = s - 1; t >= 0; t--) {
            long xOff = ((long) b * s + t) * d + (long) hd * dh;
            int ro = t * g4, hp = t * dhp;
            MemorySegment.copy(dy, F, xOff * 4, vec, 4 * dhp, dh);
            pointwiseBackward(raw, ro, dhp, dh, fresh[t], cA, nA, mA, hp, vec, drawAll, ro);
            for (int g = 0; g < 4; g++)
                if (dx[g] != null) MemorySegment.copy(drawAll, ro + g * dhp, dx[g], F, xOff * 4, dh);
            recurrentTransposed(rt, rtBase, dhp, g4, drawAll, ro, vec);
        }
        // dR[k][·] = Σ_t h_{t−1}[k]·draw_t[·], dbias = Σ_t draw_t (h_{t−1} of step t is hA[t])
        if (pr != null) weightSums(hA, dhp, dh, drawAll, g4, s, pr, prOff);
        if (pb != null) biasSums(drawAll, g4, s, pb, pbOff);
    }

    /** p[k·g4 + o] = Σ_t h[t·dhp + k]·draw[t·g4 + o], four k per pass sharing each load of draw. */
    private static void weightSums(float[] h, int dhp, int dh, float[] draw, int g4, int s, float[] p, int pOff) {
        for (int o = 0; o < g4; o += LANES)
            for (int k = 0; k < dh; k += 4) {
                int k1 = Math.min(k + 1, dh - 1), k2 = Math.min(k + 2, dh - 1), k3 = Math.min(k + 3, dh - 1);
                FloatVector a0 = FloatVector.zero(S), a1 = a0, a2 = a0, a3 = a0;
                for (int t = 0, ho = 0, dOff = o; t < s; t++, ho += dhp, dOff += g4) {
                    FloatVector dv = FloatVector.fromArray(S, draw, dOff);
                    a0 = dv.fma(FloatVector.broadcast(S, h[ho + k]), a0);
                    a1 = dv.fma(FloatVector.broadcast(S, h[ho + k1]), a1);
                    a2 = dv.fma(FloatVector.broadcast(S, h[ho + k2]), a2);
                    a3 = dv.fma(FloatVector.broadcast(S, h[ho + k3]), a3);
                }
                a0.intoArray(p, pOff + k * g4 + o);
                if (k + 1 < dh) a1.intoArray(p, pOff + k1 * g4 + o);
                if (k + 2 < dh) a2.intoArray(p, pOff + k2 * g4 + o);
                if (k + 3 < dh) a3.intoArray(p, pOff + k3 * g4 + o);
            }
    }

    private static void biasSums(float[] draw, int g4, int s, float[] p, int pOff) {
        for (int o = 0; o < g4; o += LANES) {
            FloatVector acc = FloatVector.zero(S);
            for (int t = 0, dOff = o; t < s; t++, dOff += g4) acc = acc.add(FloatVector.fromArray(S, draw, dOff));
            acc.intoArray(p, pOff + o);
        }
    }

    /** raw[ro..] += bias + R_h·h_{t−1} (R rows input-major, padded to g4). */
    private static void recurrentMatVec(float[] r, int rBase, int dh, int g4, float[] h, int hp, float[] bias, float[] raw, int ro) {
        for (int o = 0; o < g4; o += LANES) {
            FloatVector acc = FloatVector.fromArray(S, raw, ro + o).add(FloatVector.fromArray(S, bias, o));
            for (int k = 0, rr = rBase + o; k < dh; k++, rr += g4)
                acc = FloatVector.fromArray(S, r, rr).fma(FloatVector.broadcast(S, h[hp + k]), acc);
            acc.intoArray(raw, ro + o);
        }
    }

    /** One step's gating (XLSTM.md §4), states of step t at hp, of step t+1 at hp + dhp. */
    private static void pointwiseForward(float[] raw, int ro, int dhp, boolean fresh, float[] c, float[] n, float[] m,
                                         float[] h, int hp) {
        int hn = hp + dhp;
        for (int j = 0; j < dhp; j += LANES) {
            FloatVector ir = FloatVector.fromArray(S, raw, ro + j), fr = FloatVector.fromArray(S, raw, ro + dhp + j),
                    zr = FloatVector.fromArray(S, raw, ro + 2 * dhp + j), or = FloatVector.fromArray(S, raw, ro + 3 * dhp + j);
            FloatVector logFPlusM = FloatVector.fromArray(S, m, hp + j).add(VectorMath.logSigmoid(fr));
            FloatVector mNew = fresh ? ir : ir.max(logFPlusM);
            FloatVector iA = VectorMath.exp(ir.sub(mNew)).min(1f);
            FloatVector fA = VectorMath.exp(logFPlusM.sub(mNew)).min(1f);
            FloatVector cNew = fA.mul(FloatVector.fromArray(S, c, hp + j)).add(iA.mul(VectorMath.tanh(zr)));
            FloatVector nNew = fA.mul(FloatVector.fromArray(S, n, hp + j)).add(iA);
            VectorMath.sigmoid(or).mul(cNew).div(nNew).intoArray(h, hn + j);
            cNew.intoArray(c, hn + j);
            nNew.intoArray(n, hn + j);
            mNew.intoArray(m, hn + j);
        }
    }

    /**
     * One step back: vec holds [dh from the recurrence, dc, dn, dm, dy of this step] (each dhp), updated to the
     * values for step t−1; draw receives the gate pre-activation gradients (padded lanes 0).
     */
    private static void pointwiseBackward(float[] raw, int ro, int dhp, int dh, boolean fresh, float[] cA, float[] nA,
                                          float[] mA, int hp, float[] vec, float[] draw, int dOff) {
        int hn = hp + dhp;
        FloatVector one = FloatVector.broadcast(S, 1f), zero = FloatVector.zero(S);
        for (int j = 0; j < dhp; j += LANES) {
            FloatVector ir = FloatVector.fromArray(S, raw, ro + j), fg = FloatVector.fromArray(S, raw, ro + dhp + j),
                    zr = FloatVector.fromArray(S, raw, ro + 2 * dhp + j), or = FloatVector.fromArray(S, raw, ro + 3 * dhp + j);
            FloatVector mPrev = FloatVector.fromArray(S, mA, hp + j), cPrev = FloatVector.fromArray(S, cA, hp + j),
                    nPrev = FloatVector.fromArray(S, nA, hp + j);
            FloatVector mN = FloatVector.fromArray(S, mA, hn + j), cN = FloatVector.fromArray(S, cA, hn + j),
                    nN = FloatVector.fromArray(S, nA, hn + j);
            FloatVector lfm = mPrev.add(VectorMath.logSigmoid(fg));
            FloatVector ia = VectorMath.exp(ir.sub(mN)), fa = VectorMath.exp(lfm.sub(mN));
            FloatVector iG = ia.min(1f), fG = fa.min(1f);
            FloatVector o = VectorMath.sigmoid(or), zt = VectorMath.tanh(zr);
            FloatVector dhTot = FloatVector.fromArray(S, vec, 4 * dhp + j).add(FloatVector.fromArray(S, vec, j));
            FloatVector invN = one.div(nN);
            FloatVector dcTot = FloatVector.fromArray(S, vec, dhp + j).add(dhTot.mul(o).mul(invN));
            FloatVector dnTot = FloatVector.fromArray(S, vec, 2 * dhp + j).sub(dhTot.mul(o).mul(cN).mul(invN).mul(invN));
            FloatVector dfG = dcTot.mul(cPrev).add(dnTot.mul(nPrev));
            FloatVector diG = dcTot.mul(zt).add(dnTot);
            FloatVector dzr = dcTot.mul(iG).mul(one.sub(zt.mul(zt)));
            FloatVector dor = dhTot.mul(cN).mul(invN).mul(o).mul(one.sub(o));
            dcTot.mul(fG).intoArray(vec, dhp + j);
            dnTot.mul(fG).intoArray(vec, 2 * dhp + j);
            FloatVector dArgI = diG.mul(halfAtTie(one, ia)).mul(ia);
            FloatVector dArgF = dfG.mul(halfAtTie(one, fa)).mul(fa);
            FloatVector dmNew = FloatVector.fromArray(S, vec, 3 * dhp + j).sub(dArgI).sub(dArgF);
            FloatVector dIr, dLfm;
            if (fresh) {
                dIr = dArgI.add(dmNew);
                dLfm = dArgF;
            } else {
                FloatVector share = halfAtTie(ir, lfm);
                dIr = dArgI.add(dmNew.mul(share));
                dLfm = dArgF.add(dmNew.mul(one.sub(share)));
            }
            // d logσ(f̃)/df̃ = σ(−f̃)
            FloatVector dfr = dLfm.mul(VectorMath.sigmoid(fg.neg()));
            if (j + LANES > dh) {   // padded lanes carry nothing
                var off = S.indexInRange(j, dh).not();
                dIr = dIr.blend(zero, off);
                dfr = dfr.blend(zero, off);
                dzr = dzr.blend(zero, off);
                dor = dor.blend(zero, off);
                dLfm = dLfm.blend(zero, off);
            }
            dLfm.intoArray(vec, 3 * dhp + j);
            dIr.intoArray(draw, dOff + j);
            dfr.intoArray(draw, dOff + dhp + j);
            dzr.intoArray(draw, dOff + 2 * dhp + j);
            dor.intoArray(draw, dOff + 3 * dhp + j);
        }
    }

    /** vec[0..dhp) = Σ_{g,j} R[k][g][j]·draw[g][j] (the recurrent gradient dh_{t−1}). */
    private static void recurrentTransposed(float[] rt, int rtBase, int dhp, int g4, float[] draw, int dOff, float[] vec) {
        for (int k = 0; k < dhp; k += LANES) {
            FloatVector acc = FloatVector.zero(S);
            for (int gj = 0, ri = rtBase + k; gj < g4; gj++, ri += dhp)
                acc = FloatVector.fromArray(S, rt, ri).fma(FloatVector.broadcast(S, draw[dOff + gj]), acc);
            acc.intoArray(vec, k);
        }
    }
}
