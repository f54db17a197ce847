package org.xlstm.jvm.backend.cpu;

import static org.xlstm.jvm.backend.cpu.Simd.LANES;
import static org.xlstm.jvm.backend.cpu.Simd.ORDER;
import static org.xlstm.jvm.backend.cpu.Simd.S;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorShuffle;
import org.xlstm.jvm.tensor.Tensor;

/**
 * Block-diagonal (headwise) linear map. Two strategies:
 * <ul>
 *   <li>small square blocks that tile a vector (the mLSTM q/k/v projections with qkv_proj_blocksize 4: 4 blocks
 *       per 16-lane vector): for each input position i inside a block, permute the input vector so every lane
 *       sees its block's i-th input, and multiply by a per-lane weight vector — no horizontal sums, no padding;</li>
 *   <li>otherwise, per block a small matrix-vector product vectorised over the block's outputs, with the block's
 *       weight transposed (input-major) so the loads are contiguous.</li>
 * </ul>
 */
final class HeadwiseKernel {
    private HeadwiseKernel() {}

    private static final ValueLayout.OfFloat F = ValueLayout.JAVA_FLOAT;

    private static final class Packed {
        final int heads, out, in;
        /** Lane strategy: laneW[i][j] = W[j / bs][j % bs][i], padded to whole vectors. */
        float[][] laneW;
        VectorShuffle<Float>[] shuffles;
        /** Block strategy: wt[(h·in + i)·outPad + o] = W[h][o][i]. */
        float[] wt;
        int outPad;

        Packed(int heads, int out, int in) {
            this.heads = heads;
            this.out = out;
            this.in = in;
        }
    }

    static boolean laneStrategy(int out, int in) {
        return out == in && out < LANES && LANES % out == 0;
    }

    @SuppressWarnings("unchecked")
    private static Packed pack(Tensor w) {
        if (w.backendCache() instanceof Packed p) return p;
        int heads = w.dim(0), out = w.dim(1), in = w.dim(2);
        MemorySegment ws = w.segment();
        Packed p = new Packed(heads, out, in);
        if (laneStrategy(out, in)) {
            int bs = out, total = heads * bs, padded = (total + LANES - 1) / LANES * LANES;
            p.laneW = new float[bs][padded];
            p.shuffles = new VectorShuffle[bs];
            for (int i = 0; i < bs; i++) {
                for (int j = 0; j < total; j++)
                    p.laneW[i][j] = ws.getAtIndex(F, ((long) (j / bs) * bs + (j % bs)) * in + i);
                int[] idx = new int[LANES];
                for (int l = 0; l < LANES; l++) idx[l] = (l / bs) * bs + i;
                p.shuffles[i] = VectorShuffle.fromArray(S, idx, 0);
            }
        } else {
            p.outPad = (out + LANES - 1) / LANES * LANES;
            p.wt = new float[heads * in * p.outPad];
            for (int h = 0; h < heads; h++)
                for (int o = 0; o < out; o++)
                    for (int i = 0; i < in; i++)
                        p.wt[(h * in + i) * p.outPad + o] = ws.getAtIndex(F, ((long) h * out + o) * in + i);
        }
        w.backendCache(p);
        return p;
    }

    static void run(Tensor x, Tensor w, Tensor b, Tensor y) {
        Packed p = pack(w);
        int rows = x.rows();
        MemorySegment xs = x.segment(), ys = y.segment(), bs = b == null ? null : b.segment();
        int per = Math.max(1, 2048 / Math.max(1, p.heads * p.out));
        int tasks = (rows + per - 1) / per;
        long work = (long) rows * p.heads * p.out * p.in;
        Parallel.forEach(tasks, work, t -> {
            int r1 = Math.min(rows, (t + 1) * per);
            for (int r = t * per; r < r1; r++) {
                if (p.laneW != null) laneRow(p, xs, ys, bs, r);
                else blockRow(p, xs, ys, bs, r);
            }
        });
    }

    private static void laneRow(Packed p, MemorySegment xs, MemorySegment ys, MemorySegment bs, int r) {
        int total = p.heads * p.out;
        long base = (long) r * total;
        for (int j = 0; j < total; j += LANES) {
            int lanes = Math.min(LANES, total - j);
            VectorMask<Float> m = lanes == LANES ? null : S.indexInRange(0, lanes);
            FloatVector xv = m == null ? FloatVector.fromMemorySegment(S, xs, (base + j) * 4, ORDER)
                    : FloatVector.fromMemorySegment(S, xs, (base + j) * 4, ORDER, m);
            FloatVector acc = bs == null ? FloatVector.zero(S)
                    : m == null ? FloatVector.fromMemorySegment(S, bs, (long) j * 4, ORDER)
                    : FloatVector.fromMemorySegment(S, bs, (long) j * 4, ORDER, m);
            for (int i = 0; i < p.out; i++)
                acc = FloatVector.fromArray(S, p.laneW[i], j).fma(xv.rearrange(p.shuffles[i]), acc);
            if (m == null) acc.intoMemorySegment(ys, (base + j) * 4, ORDER);
            else acc.intoMemorySegment(ys, (base + j) * 4, ORDER, m);
        }
    }

    private static void blockRow(Packed p, MemorySegment xs, MemorySegment ys, MemorySegment bs, int r) {
        long xBase = (long) r * p.heads * p.in, yBase = (long) r * p.heads * p.out;
        for (int h = 0; h < p.heads; h++) {
            for (int o = 0; o < p.out; o += LANES) {
                int lanes = Math.min(LANES, p.out - o);
                VectorMask<Float> m = lanes == LANES ? null : S.indexInRange(0, lanes);
                long yOff = yBase + (long) h * p.out + o;
                FloatVector acc = FloatVector.zero(S);
                if (bs != null) {
                    long bOff = ((long) h * p.out + o) * 4;
                    acc = m == null ? FloatVector.fromMemorySegment(S, bs, bOff, ORDER)
                            : FloatVector.fromMemorySegment(S, bs, bOff, ORDER, m);
                }
                int wo = h * p.in * p.outPad + o;
                long xo = xBase + (long) h * p.in;
                for (int i = 0; i < p.in; i++, wo += p.outPad)
                    acc = FloatVector.fromArray(S, p.wt, wo).fma(FloatVector.broadcast(S, xs.getAtIndex(F, xo + i)), acc);
                if (m == null) acc.intoMemorySegment(ys, yOff * 4, ORDER);
                else acc.intoMemorySegment(ys, yOff * 4, ORDER, m);
            }
        }
    }
}
