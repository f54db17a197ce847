package org.xlstm.jvm.backend.cpu;

import static org.xlstm.jvm.backend.cpu.Simd.LANES;
import static org.xlstm.jvm.backend.cpu.Simd.ORDER;
import static org.xlstm.jvm.backend.cpu.Simd.S;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import org.xlstm.jvm.backend.DropoutMask;
import org.xlstm.jvm.backend.GradChecks;
import org.xlstm.jvm.backend.GradOps;
import org.xlstm.jvm.backend.MlstmShapes;
import org.xlstm.jvm.backend.OpChecks;
import org.xlstm.jvm.config.Activation;
import org.xlstm.jvm.tensor.Tensor;

/**
 * The fast CPU backward: Vector API kernels, work split by {@link Parallel} into tasks fixed by the shapes (never
 * by the thread count), reductions across tasks done afterwards in task order, so every gradient is bit-identical
 * on one thread and on many. Steady-state calls reuse per-thread scratch arrays.
 */
public final class CpuGradOps implements GradOps {
    private static final ValueLayout.OfFloat F = ValueLayout.JAVA_FLOAT;
    private static final int PIECE = 1 << 14;

    @Override
    public String name() { return "cpu (" + Parallel.threads() + " threads, " + LANES + "-lane vectors)"; }

    // ---------------------------------------------------------------- dense algebra

    @Override
    public void linearBackward(Tensor x, Tensor w, Tensor dy, Tensor dx, boolean accumulateDx, Tensor dw, Tensor db) {
        OpChecks.linear(x, w, db, dy);
        GradChecks.sameOrNull("linearBackward", "dx", x, dx);
        GradChecks.sameOrNull("linearBackward", "dw", w, dw);
        int rows = x.rows(), in = w.dim(1), out = w.dim(0);
        if (dx != null) DenseGrads.inputGrad(dy.segment(), rows, out, w.segment(), in, dx.segment(), accumulateDx);
        if (dw != null) DenseGrads.weightGrad(dy.segment(), rows, out, x.segment(), in, dw.segment());
        if (db != null) DenseGrads.columnSums(dy.segment(), rows, out, db.segment());
    }

    @Override
    public void matmulBackward(Tensor a, Tensor b, Tensor dc, Tensor da, Tensor db) {
        OpChecks.matmul(a, b, dc);
        GradChecks.sameOrNull("matmulBackward", "da", a, da);
        GradChecks.sameOrNull("matmulBackward", "db", b, db);
        int m = a.dim(0), k = a.dim(1), n = b.dim(1);
        // da += dc·Bᵀ: Bᵀ is B read as an (out = k, in = n) weight
        if (da != null) Gemm.multiply(dc.segment(), m, n, DenseGrads.packTransposed(0, b.segment(), k, n), null, da.segment(), k, true);
        // db += Aᵀ·dc
        if (db != null) DenseGrads.weightGrad(a.segment(), m, k, dc.segment(), n, db.segment());
    }

    @Override
    public void linearHeadwiseBackward(Tensor x, Tensor w, Tensor dy, Tensor dx, boolean accumulateDx, Tensor dw, Tensor db) {
        OpChecks.linearHeadwise(x, w, db, dy);
        GradChecks.sameOrNull("linearHeadwiseBackward", "dx", x, dx);
        GradChecks.sameOrNull("linearHeadwiseBackward", "dw", w, dw);
        HeadwiseBackward.run(x, w, dy, dx, accumulateDx, dw);
        if (db != null) DenseGrads.columnSums(dy.segment(), dy.rows(), dy.cols(), db.segment());
    }

    @Override
    public void embeddingBackward(int[] tokens, Tensor dy, Tensor dTable) {
        OpChecks.embedding(tokens, dTable, dy);
        int d = dTable.dim(1), blocks = (d + LANES - 1) / LANES;
        MemorySegment ys = dy.segment(), ts = dTable.segment();
        // tasks own column blocks and add the rows in order: repeated tokens sum deterministically
        Parallel.forEach(blocks, (long) tokens.length * d, blk -> {
            int c = blk * LANES, lanes = Math.min(LANES, d - c);
            var m = S.indexInRange(0, lanes);
            for (int r = 0; r < tokens.length; r++) {
                long src = ((long) r * d + c) * 4, dst = ((long) tokens[r] * d + c) * 4;
                if (lanes == LANES)
                    FloatVector.fromMemorySegment(S, ys, src, ORDER).add(FloatVector.fromMemorySegment(S, ts, dst, ORDER))
                            .intoMemorySegment(ts, dst, ORDER);
                else
                    FloatVector.fromMemorySegment(S, ys, src, ORDER, m).add(FloatVector.fromMemorySegment(S, ts, dst, ORDER, m))
                            .intoMemorySegment(ts, dst, ORDER, m);
            }
        });
    }

    // ---------------------------------------------------------------- normalisation

    @Override
    public void layerNormBackward(Tensor x, Tensor w, float eps, boolean offset, Tensor dy, Tensor dx, boolean accumulateDx,
                                  Tensor dw, Tensor db) {
        OpChecks.sameShape("layerNormBackward", x, dy);
        GradChecks.sameOrNull("layerNormBackward", "dx", x, dx);
        int d = x.cols(), dp = (d + LANES - 1) / LANES * LANES;
        MemorySegment xs = x.segment(), ys = dy.segment(), dxs = dx == null ? scratchRow(x) : dx.segment(),
                ws = w == null ? null : w.segment();
        boolean acc = dx != null && accumulateDx;
        NormBackward.rows(x.rows(), d, dw != null, db != null, seg(dw), seg(db), (base, pw, pb) ->
                NormBackward.layerNormSlice(xs, ys, dxs, acc, base, d, ws, 0, offset, eps, pw, pb,
                        GradScratch.task(0, 2 * dp)));
    }

    @Override
    public void rmsNormBackward(Tensor x, Tensor w, float eps, Tensor dy, Tensor dx, boolean accumulateDx, Tensor dw, Tensor db) {
        OpChecks.sameShape("rmsNormBackward", x, dy);
        GradChecks.sameOrNull("rmsNormBackward", "dx", x, dx);
        int d = x.cols();
        MemorySegment xs = x.segment(), ys = dy.segment(), dxs = dx == null ? scratchRow(x) : dx.segment(),
                ws = w == null ? null : w.segment();
        boolean acc = dx != null && accumulateDx;
        NormBackward.rows(x.rows(), d, dw != null, db != null, seg(dw), seg(db), (base, pw, pb) -> {
            // the row's dx goes to a throw-away row when dx is not wanted
            NormBackward.rmsRow(xs, ys, dxs, acc, base, d, ws, eps, pw, pb, GradScratch.task(0, d));
        });
    }

    @Override
    public void headLayerNormBackward(Tensor x, int heads, Tensor w, float eps, boolean offset, Tensor dy, Tensor dx,
                                      Tensor dw, Tensor db) {
        OpChecks.sameShape("headLayerNormBackward", x, dy);
        GradChecks.sameOrNull("headLayerNormBackward", "dx", x, dx);
        int d = x.cols(), dh = d / heads, dp = (dh + LANES - 1) / LANES * LANES;
        if (dh * heads != d) throw new IllegalArgumentException("headLayerNormBackward: " + d + " channels not divisible by " + heads + " heads");
        MemorySegment xs = x.segment(), ys = dy.segment(), dxs = dx == null ? scratchRow(x) : dx.segment(),
                ws = w == null ? null : w.segment();
        NormBackward.rows(x.rows(), d, dw != null, db != null, seg(dw), seg(db), (base, pw, pb) -> {
            for (int h = 0; h < heads; h++)
                NormBackward.layerNormSlice(xs, ys, dxs, false, base + (long) h * dh, dh, ws, h * dh, offset, eps, pw, pb,
                        GradScratch.task(0, 2 * dp));
        });
    }

    /** Where a norm writes dx nobody wants: a full-size scratch (rare: the first layer's input). */
    private static MemorySegment scratchRow(Tensor x) {
        return MemorySegment.ofArray(GradScratch.shared(10, Math.toIntExact(x.size())));
    }

    private static MemorySegment seg(Tensor t) { return t == null ? null : t.segment(); }

    // ---------------------------------------------------------------- elementwise

    private interface Piece {
        void run(long from, long to);
    }

    private static void pieces(long size, Piece body) {
        int tasks = (int) ((size + PIECE - 1) / PIECE);
        Parallel.forEach(tasks, size * 8, t -> body.run((long) t * PIECE, Math.min(size, (long) (t + 1) * PIECE)));
    }

    private static FloatVector ld(MemorySegment s, long i, long to) {
        if (i + LANES <= to) return FloatVector.fromMemorySegment(S, s, i * 4, ORDER);
        return FloatVector.fromMemorySegment(S, s, i * 4, ORDER, S.indexInRange(0, (int) (to - i)));
    }

    private static void st(FloatVector v, MemorySegment s, long i, long to) {
        if (i + LANES <= to) v.intoMemorySegment(s, i * 4, ORDER);
        else v.intoMemorySegment(s, i * 4, ORDER, S.indexInRange(0, (int) (to - i)));
    }

    @Override
    public void activationBackward(Activation act, Tensor x, Tensor dy, Tensor dx) {
        OpChecks.sameShape("activationBackward", x, dy);
        OpChecks.sameShape("activationBackward", x, dx);
        MemorySegment xs = x.segment(), ys = dy.segment(), ds = dx.segment();
        pieces(x.size(), (from, to) -> GradElementwise.activationBackward(act, xs, ys, ds, from, to));
    }

    @Override
    public void mulActivatedBackward(Tensor x, Activation act, Tensor g, Tensor dy, Tensor dx, Tensor dg) {
        OpChecks.sameShape("mulActivatedBackward", x, g);
        OpChecks.sameShape("mulActivatedBackward", x, dy);
        GradChecks.sameOrNull("mulActivatedBackward", "dx", x, dx);
        GradChecks.sameOrNull("mulActivatedBackward", "dg", x, dg);
        MemorySegment xs = x.segment(), gs = g.segment(), ys = dy.segment(), dxs = seg(dx), dgs = seg(dg);
        // per element everything is read before anything is written: dx or dg may alias dy
        pieces(x.size(), (from, to) -> GradElementwise.mulActivatedBackward(act, xs, gs, ys, dxs, dgs, from, to));
    }

    @Override
    public void addScaledBackward(Tensor w, Tensor b, Tensor dy, Tensor db, boolean accumulateDb, Tensor dw) {
        OpChecks.addScaled(dy, w, b, dy);
        GradChecks.sameOrNull("addScaledBackward", "db", b, db);
        int c = dy.cols(), rows = dy.rows();
        MemorySegment ws = w.segment(), bs = b.segment(), ys = dy.segment(), dbs = seg(db);
        if (dbs != null) {
            int per = Math.max(1, PIECE / Math.max(1, c));
            Parallel.forEach((rows + per - 1) / per, (long) rows * c * 2, t -> {
                int r1 = Math.min(rows, (t + 1) * per);
                for (int r = t * per; r < r1; r++) {
                    long base = (long) r * c, end = base + c;
                    for (int j = 0; j < c; j += LANES) {
                        long i = base + j;
                        FloatVector v = ld(ys, i, end).mul(ld(ws, j, c));
                        if (accumulateDb) v = v.add(ld(dbs, i, end));
                        st(v, dbs, i, end);
                    }
                }
            });
        }
        if (dw != null) {
            MemorySegment out = dw.segment();
            int blocks = (c + LANES - 1) / LANES;
            Parallel.forEach(blocks, (long) rows * c, blk -> {
                int j = blk * LANES;
                long end = Math.min(c, j + LANES);
                FloatVector acc = FloatVector.zero(S);
                for (int r = 0; r < rows; r++) {
                    long o = (long) r * c;
                    acc = ld(ys, o + j, o + end).fma(ld(bs, o + j, o + end), acc);
                }
                st(acc.add(ld(out, j, end)), out, j, end);
            });
        }
    }

    @Override
    public void softCapBackward(Tensor x, float cap, Tensor dy, Tensor dx) {
        OpChecks.sameShape("softCapBackward", x, dy);
        OpChecks.sameShape("softCapBackward", x, dx);
        MemorySegment xs = x.segment(), ys = dy.segment(), ds = dx.segment();
        pieces(x.size(), (from, to) -> GradElementwise.softCapBackward(xs, cap, ys, ds, from, to));
    }

    @Override
    public void splitColumns(Tensor dy, Tensor[] parts, boolean accumulate) {
        OpChecks.concat(parts, dy);
        int rows = dy.rows(), total = dy.cols();
        int off = 0;
        for (Tensor p : parts) {
            int c = p.cols(), o = off;
            MemorySegment ps = p.segment(), ys = dy.segment();
            Parallel.forEach((rows + 63) / 64, (long) rows * c, t -> {
                int r1 = Math.min(rows, (t + 1) * 64);
                for (int r = t * 64; r < r1; r++) {
                    long src = (long) r * total + o, dst = (long) r * c;
                    if (!accumulate) MemorySegment.copy(ys, src * 4, ps, dst * 4, (long) c * 4);
                    else
                        for (int j = 0; j < c; j += LANES)
                            st(ld(ys, src + j, src + c).add(ld(ps, dst + j, dst + c)), ps, dst + j, dst + c);
                }
            });
            off += c;
        }
    }

    // ---------------------------------------------------------------- sequence mixing

    @Override
    public void causalConv1dBackward(Tensor x, Tensor w, Tensor dy, Tensor dx, Tensor dw, Tensor db) {
        OpChecks.conv(x, w, db, null, dy);
        GradChecks.sameOrNull("causalConv1dBackward", "dx", x, dx);
        GradChecks.sameOrNull("causalConv1dBackward", "dw", w, dw);
        ConvBackward.run(x, w, dy, dx, dw, db);
    }

    @Override
    public void mlstmChunkwiseBackward(Tensor q, Tensor k, Tensor v, Tensor i, Tensor f, float m0, int chunkSize, float eps,
                                       Tensor dh, Tensor dq, Tensor dk, Tensor dv, Tensor di, Tensor df) {
        GradChecks.mlstm(q, k, v, i, f, dh, chunkSize, dq, dk, dv, di, df);
        MlstmShapes sh = MlstmShapes.of(q, k, v, i, f, dh, null, null, null);
        MlstmBackward.run(sh, q, k, v, i, f, m0, chunkSize, eps, dh, dq, dk, dv, di, df);
    }

    @Override
    public void slstmBackward(Tensor xi, Tensor xf, Tensor xz, Tensor xo, Tensor r, Tensor bias, Tensor dy,
                              Tensor dxi, Tensor dxf, Tensor dxz, Tensor dxo, Tensor dr, Tensor dbias) {
        GradChecks.slstm(xi, xf, xz, xo, r, bias, dy, dxi, dxf, dxz, dxo, dr, dbias);
        SlstmBackward.run(xi, xf, xz, xo, r, bias, dy, dxi, dxf, dxz, dxo, dr, dbias);
    }

    // ---------------------------------------------------------------- regularisation

    @Override
    public void dropout(Tensor x, float p, long seed, Tensor y) {
        OpChecks.sameShape("dropout", x, y);
        MemorySegment xs = x.segment(), ys = y.segment();
        float scale = (float) (1.0 / (1.0 - p));
        pieces(x.size(), (from, to) -> {
            for (long i = from; i < to; i++)
                ys.setAtIndex(F, i, DropoutMask.keep(seed, i, p) ? xs.getAtIndex(F, i) * scale : 0f);
        });
    }

    // ---------------------------------------------------------------- loss

    @Override
    public double crossEntropy(Tensor logits, int[] targets, Tensor dLogits, int meanOver) {
        int counted = GradChecks.crossEntropy(logits, targets, dLogits), count = meanOver > 0 ? meanOver : counted;
        int rows = logits.rows(), vocab = logits.cols();
        MemorySegment ls = logits.segment(), ds = seg(dLogits);
        double[] perRow = GradScratch.sharedDoubles(0, rows);
        float inv = count == 0 ? 0f : (float) (1.0 / count);
        int per = Math.max(1, PIECE / Math.max(1, vocab));
        Parallel.forEach((rows + per - 1) / per, (long) rows * vocab * 4, t -> {
            int r1 = Math.min(rows, (t + 1) * per);
            for (int r = t * per; r < r1; r++) {
                long base = (long) r * vocab, end = base + vocab;
                int target = targets[r];
                if (target == -1) {
                    perRow[r] = 0;
                    if (ds != null) ds.asSlice(base * 4, (long) vocab * 4).fill((byte) 0);
                    continue;
                }
                FloatVector mx = FloatVector.broadcast(S, Float.NEGATIVE_INFINITY);
                for (long i = base; i < end; i += LANES) {
                    FloatVector v = ld(ls, i, end);
                    if (i + LANES > end) v = v.blend(Float.NEGATIVE_INFINITY, S.indexInRange(0, (int) (end - i)).not());
                    mx = mx.max(v);
                }
                float max = mx.reduceLanes(VectorOperators.MAX);
                FloatVector sum = FloatVector.zero(S);
                for (long i = base; i < end; i += LANES) {
                    FloatVector e = VectorMath.exp(ld(ls, i, end).sub(max));
                    if (i + LANES > end) e = e.blend(0f, S.indexInRange(0, (int) (end - i)).not());
                    sum = sum.add(e);
                }
                double z = VectorGrads.sum(sum);
                double logZ = max + Math.log(z);
                perRow[r] = logZ - ls.getAtIndex(F, base + target);
                if (ds != null) {
                    float shift = (float) logZ;
                    float shiftLo = (float) (logZ - shift);
                    for (long i = base; i < end; i += LANES)
                        st(VectorMath.exp(ld(ls, i, end).sub(shift).sub(shiftLo)).mul(inv), ds, i, end);
                    ds.setAtIndex(F, base + target, ds.getAtIndex(F, base + target) - inv);
                }
            }
        });
        double total = 0;
        for (int r = 0; r < rows; r++) total += perRow[r];
        return counted == 0 && meanOver <= 0 ? Double.NaN : total / count;
    }
}
