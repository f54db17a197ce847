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
    private static final FloatVector ZERO = FloatVector.zero(S);
    private static final FloatVector ONE = FloatVector.broadcast(S, 1f);

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

    private static FloatVector halfAtTie(FloatVector self, FloatVector other) {
        // torch: max/min pass the whole gradient to the winner, half to each at a tie
        return ZERO.blend(0.5f, self.compare(VectorOperators.EQ, other)).blend(1f, self.compare(VectorOperators.GT, other));
    }

    private static void headTask(int b, int hd, int s, int nh, int dh, int dhp, float[] rf, float[] rt,
                                 MemorySegment[] x, MemorySegment bias, MemorySegment dy, MemorySegment[] dx,
                                 float[] pr, int prOff, float[] pb, int pbOff) {
        int d = nh * dh, g4 = 4 * dhp;
        float[] raw = GradScratch.task(32, s * g4);
        float[] cA = GradScratch.task(33, (s + 1) * dhp), nA = GradScratch.task(34, (s + 1) * dhp),
                mA = GradScratch.task(35, (s + 1) * dhp), hA = GradScratch.task(36, (s + 1) * dhp);
        float[] bb = GradScratch.task(37, g4);
        float[] draw = GradScratch.task(38, g4);
        float[] vec = GradScratch.task(39, 4 * dhp);   // dhRec, dc, dn, dm
        boolean[] fresh = new boolean[s];
        Arrays.fill(cA, 0, dhp, 0f);
        Arrays.fill(mA, 0, dhp, 0f);
        Arrays.fill(hA, 0, dhp, 0f);
        Arrays.fill(nA, 0, dhp, 0f);
        Arrays.fill(nA, dh, dhp, 1f);   // padded lanes stay finite, as in the forward
        Arrays.fill(bb, 0, g4, 0f);
        for (int g = 0; g < 4; g++) MemorySegment.copy(bias, F, (((long) hd * 4 + g) * dh) * 4, bb, g * dhp, dh);
        int rBase = hd * dh * g4;
        VectorMask<Float> tail = S.indexInRange(0, dh % LANES == 0 ? LANES : dh % LANES);

        // ---- forward, as SlstmKernel computes it, keeping everything
        for (int t = 0; t < s; t++) {
            long xOff = ((long) b * s + t) * d + (long) hd * dh;
            int ro = t * g4, hp = t * dhp, hn = (t + 1) * dhp;
            for (int g = 0; g < 4; g++) {
                MemorySegment.copy(x[g], F, xOff * 4, raw, ro + g * dhp, dh);
                Arrays.fill(raw, ro + g * dhp + dh, ro + (g + 1) * dhp, 0f);
            }
            for (int o = 0; o < g4; o += LANES) {
                FloatVector acc = FloatVector.fromArray(S, raw, ro + o).add(FloatVector.fromArray(S, bb, o));
                for (int k = 0, rr = rBase + o; k < dh; k++, rr += g4)
                    acc = FloatVector.fromArray(S, rf, rr).fma(FloatVector.broadcast(S, hA[hp + k]), acc);
                acc.intoArray(raw, ro + o);
            }
            boolean fr = true;
            for (int j = 0; j < dh; j++) if (nA[hp + j] != 0f) { fr = false; break; }
            fresh[t] = fr;
            for (int j = 0; j < dhp; j += LANES) {
                FloatVector ir = FloatVector.fromArray(S, raw, ro + j), fg = FloatVector.fromArray(S, raw, ro + dhp + j),
                        zr = FloatVector.fromArray(S, raw, ro + 2 * dhp + j), or = FloatVector.fromArray(S, raw, ro + 3 * dhp + j);
                FloatVector mv = FloatVector.fromArray(S, mA, hp + j), cv = FloatVector.fromArray(S, cA, hp + j),
                        nv = FloatVector.fromArray(S, nA, hp + j);
                FloatVector logFPlusM = mv.add(VectorMath.logSigmoid(fg));
                FloatVector mNew = fr ? ir : ir.max(logFPlusM);
                FloatVector iA = VectorMath.exp(ir.sub(mNew)).min(1f);
                FloatVector fA = VectorMath.exp(logFPlusM.sub(mNew)).min(1f);
                FloatVector cNew = fA.mul(cv).add(iA.mul(VectorMath.tanh(zr)));
                FloatVector nNew = fA.mul(nv).add(iA);
                FloatVector hNew = VectorMath.sigmoid(or).mul(cNew).div(nNew);
                cNew.intoArray(cA, hn + j);
                nNew.intoArray(nA, hn + j);
                mNew.intoArray(mA, hn + j);
                hNew.intoArray(hA, hn + j);
            }
        }

        // ---- backward through time
        Arrays.fill(vec, 0, 4 * dhp, 0f);
        if (pr != null) Arrays.fill(pr, prOff, prOff + dh * g4, 0f);
        if (pb != null) Arrays.fill(pb, pbOff, pbOff + g4, 0f);
        int rtBase = hd * g4 * dhp;
        for (int t = s - 1; t >= 0; t--) {
            long xOff = ((long) b * s + t) * d + (long) hd * dh;
            int ro = t * g4, hp = t * dhp, hn = (t + 1) * dhp;
            for (int j = 0; j < dhp; j += LANES) {
                boolean whole = j + LANES <= dh;
                FloatVector gy = whole ? FloatVector.fromMemorySegment(S, dy, (xOff + j) * 4, ORDER)
                        : FloatVector.fromMemorySegment(S, dy, (xOff + j) * 4, ORDER, tail);
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
                FloatVector dhTot = gy.add(FloatVector.fromArray(S, vec, j));
                FloatVector invN = ONE.div(nN);
                FloatVector dcTot = FloatVector.fromArray(S, vec, dhp + j).add(dhTot.mul(o).mul(invN));
                FloatVector dnTot = FloatVector.fromArray(S, vec, 2 * dhp + j).sub(dhTot.mul(o).mul(cN).mul(invN).mul(invN));
                FloatVector dfG = dcTot.mul(cPrev).add(dnTot.mul(nPrev));
                FloatVector diG = dcTot.mul(zt).add(dnTot);
                FloatVector dzr = dcTot.mul(iG).mul(ONE.sub(zt.mul(zt)));
                FloatVector dor = dhTot.mul(cN).mul(invN).mul(o).mul(ONE.sub(o));
                dcTot.mul(fG).intoArray(vec, dhp + j);
                dnTot.mul(fG).intoArray(vec, 2 * dhp + j);
                FloatVector dArgI = diG.mul(halfAtTie(ONE, ia)).mul(ia);
                FloatVector dArgF = dfG.mul(halfAtTie(ONE, fa)).mul(fa);
                FloatVector dmNew = FloatVector.fromArray(S, vec, 3 * dhp + j).sub(dArgI).sub(dArgF);
                FloatVector dIr, dLfm;
                if (fresh[t]) {
                    dIr = dArgI.add(dmNew);
                    dLfm = dArgF;
                } else {
                    FloatVector share = halfAtTie(ir, lfm);
                    dIr = dArgI.add(dmNew.mul(share));
                    dLfm = dArgF.add(dmNew.mul(ONE.sub(share)));
                }
                dLfm.intoArray(vec, 3 * dhp + j);
                // d logσ(f̃)/df̃ = σ(−f̃)
                FloatVector dfr = dLfm.mul(VectorMath.sigmoid(fg.neg()));
                if (!whole) {   // padded lanes carry nothing
                    VectorMask<Float> off = S.indexInRange(j, dh).not();
                    dIr = dIr.blend(ZERO, off);
                    dfr = dfr.blend(ZERO, off);
                    dzr = dzr.blend(ZERO, off);
                    dor = dor.blend(ZERO, off);
                }
                dIr.intoArray(draw, j);
                dfr.intoArray(draw, dhp + j);
                dzr.intoArray(draw, 2 * dhp + j);
                dor.intoArray(draw, 3 * dhp + j);
            }
            for (int g = 0; g < 4; g++)
                if (dx[g] != null) MemorySegment.copy(draw, g * dhp, dx[g], F, xOff * 4, dh);
            if (pb != null)
                for (int o = 0; o < g4; o += LANES)
                    FloatVector.fromArray(S, draw, o).add(FloatVector.fromArray(S, pb, pbOff + o)).intoArray(pb, pbOff + o);
            if (pr != null)
                for (int k = 0; k < dh; k++) {
                    FloatVector hk = FloatVector.broadcast(S, hA[hp + k]);
                    int po = prOff + k * g4;
                    for (int o = 0; o < g4; o += LANES)
                        FloatVector.fromArray(S, draw, o).fma(hk, FloatVector.fromArray(S, pr, po + o)).intoArray(pr, po + o);
                }
            // dh_{t−1} = Σ_{g,j} R[k][g][j]·draw[g][j]
            for (int k = 0; k < dhp; k += LANES) {
                FloatVector acc = ZERO;
                for (int gj = 0, ri = rtBase + k; gj < g4; gj++, ri += dhp)
                    acc = FloatVector.fromArray(S, rt, ri).fma(FloatVector.broadcast(S, draw[gj]), acc);
                acc.intoArray(vec, k);
            }
        }
    }
}
