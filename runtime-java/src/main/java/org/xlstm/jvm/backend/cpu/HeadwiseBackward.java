package org.xlstm.jvm.backend.cpu;

import static org.xlstm.jvm.backend.cpu.Simd.LANES;
import static org.xlstm.jvm.backend.cpu.Simd.ORDER;
import static org.xlstm.jvm.backend.cpu.Simd.S;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorShuffle;
import org.xlstm.jvm.tensor.Tensor;

/**
 * Backward of the block-diagonal (headwise) linear map, with the forward's two strategies:
 * <ul>
 *   <li>small square blocks tiling a vector (4×4 q/k/v blocks): lane j of a vector is output j of its block, so
 *       {@code dx = Σ_o Wᵀ-lanes ⊙ permute(dy)} and {@code dW[·][·][i] += dy ⊙ permute(x)} with the same lane
 *       permutations as the forward; tasks own 16-column groups and walk all rows in order;</li>
 *   <li>other blocks (32×32 sLSTM gates): dx per block by broadcast FMAs over W's rows; dW by per-row outer
 *       products into a partial sum per (block, row range), the ranges fixed by the row count and reduced in
 *       order.</li>
 * </ul>
 */
final class HeadwiseBackward {
    private HeadwiseBackward() {}

    private static final ValueLayout.OfFloat F = ValueLayout.JAVA_FLOAT;
    private static final int ROW_BLOCK = 256;

    static void run(Tensor x, Tensor w, Tensor dy, Tensor dx, boolean accumulateDx, Tensor dw) {
        int heads = w.dim(0), out = w.dim(1), in = w.dim(2);
        if (HeadwiseKernel.laneStrategy(out, in) && (heads * out) % LANES == 0) lanes(x, w, dy, dx, accumulateDx, dw, heads, out);
        else blocks(x, w, dy, dx, accumulateDx, dw, heads, out, in);
    }

    // ------------------------------------------------------------------------------------ small square blocks

    private static void lanes(Tensor x, Tensor w, Tensor dy, Tensor dx, boolean accumulateDx, Tensor dw, int heads, int bs) {
        int total = heads * bs, rows = x.rows(), groups = total / LANES;
        MemorySegment xs = x.segment(), ys = dy.segment(), ws = w.segment();
        @SuppressWarnings("unchecked")
        VectorShuffle<Float>[] sh = new VectorShuffle[bs];
        for (int i = 0; i < bs; i++) {
            int[] idx = new int[LANES];
            for (int l = 0; l < LANES; l++) idx[l] = (l / bs) * bs + i;
            sh[i] = VectorShuffle.fromArray(S, idx, 0);
        }
        if (dx != null) {
            // laneWT[o][j] = W[j / bs][o][j % bs]: lane j is input j % bs of block j / bs
            float[] wt = GradScratch.shared(1, bs * total);
            for (int o = 0; o < bs; o++)
                for (int j = 0; j < total; j++) wt[o * total + j] = ws.getAtIndex(F, ((long) (j / bs) * bs + o) * bs + (j % bs));
            MemorySegment dxs = dx.segment();
            int per = Math.max(1, 4096 / total);
            Parallel.forEach((rows + per - 1) / per, (long) rows * total * bs, t -> {
                int r1 = Math.min(rows, (t + 1) * per);
                for (int r = t * per; r < r1; r++) {
                    long base = (long) r * total;
                    for (int j = 0; j < total; j += LANES) {
                        FloatVector g = FloatVector.fromMemorySegment(S, ys, (base + j) * 4, ORDER);
                        FloatVector acc = accumulateDx ? FloatVector.fromMemorySegment(S, dxs, (base + j) * 4, ORDER) : FloatVector.zero(S);
                        for (int o = 0; o < bs; o++) acc = FloatVector.fromArray(S, wt, o * total + j).fma(g.rearrange(sh[o]), acc);
                        acc.intoMemorySegment(dxs, (base + j) * 4, ORDER);
                    }
                }
            });
        }
        if (dw != null) {
            MemorySegment dws = dw.segment();
            Parallel.forEach(groups, (long) rows * total * bs, gIdx -> {
                int j = gIdx * LANES;
                // one input position i per pass (no arrays of vectors: they would live on the heap)
                for (int i = 0; i < bs; i++) {
                    FloatVector acc = FloatVector.zero(S);
                    for (int r = 0; r < rows; r++) {
                        long base = ((long) r * total + j) * 4;
                        acc = FloatVector.fromMemorySegment(S, ys, base, ORDER)
                                .fma(FloatVector.fromMemorySegment(S, xs, base, ORDER).rearrange(sh[i]), acc);
                    }
                    // lane l is dW[(j + l) / bs][(j + l) % bs][i]
                    for (int l = 0; l < LANES; l++) {
                        int col = j + l;
                        long wi = ((long) (col / bs) * bs + (col % bs)) * bs + i;
                        dws.setAtIndex(F, wi, dws.getAtIndex(F, wi) + acc.lane(l));
                    }
                }
            });
        }
    }

    // ------------------------------------------------------------------------------------ general blocks

    private static void blocks(Tensor x, Tensor w, Tensor dy, Tensor dx, boolean accumulateDx, Tensor dw,
                               int heads, int out, int in) {
        int rows = x.rows(), inPad = (in + LANES - 1) / LANES * LANES;
        MemorySegment xs = x.segment(), ys = dy.segment(), ws = w.segment();
        // W rows padded: wp[(h·out + o)·inPad + i]
        float[] wp = GradScratch.shared(2, heads * out * inPad);
        for (int h = 0; h < heads; h++)
            for (int o = 0; o < out; o++) {
                int dst = (h * out + o) * inPad;
                MemorySegment.copy(ws, F, (((long) h * out + o) * in) * 4, wp, dst, in);
                Arrays.fill(wp, dst + in, dst + inPad, 0f);
            }
        VectorMask<Float> tail = S.indexInRange(0, in % LANES == 0 ? LANES : in % LANES);
        int lastVec = (in - 1) / LANES * LANES;
        if (dx != null) {
            MemorySegment dxs = dx.segment();
            int per = Math.max(1, 2048 / (heads * in));
            Parallel.forEach((rows + per - 1) / per, (long) rows * heads * out * in, t -> {
                float[] acc = GradScratch.task(0, inPad);
                int r1 = Math.min(rows, (t + 1) * per);
                for (int r = t * per; r < r1; r++)
                    for (int h = 0; h < heads; h++) {
                        long xo = (long) r * heads * in + (long) h * in, yo = (long) r * heads * out + (long) h * out;
                        Arrays.fill(acc, 0, inPad, 0f);
                        for (int o = 0; o < out; o++) {
                            FloatVector g = FloatVector.broadcast(S, ys.getAtIndex(F, yo + o));
                            int wo = (h * out + o) * inPad;
                            for (int i = 0; i < inPad; i += LANES)
                                FloatVector.fromArray(S, wp, wo + i).fma(g, FloatVector.fromArray(S, acc, i)).intoArray(acc, i);
                        }
                        for (int i = 0; i < in; i += LANES) {
                            FloatVector v = FloatVector.fromArray(S, acc, i);
                            boolean whole = i != lastVec || in % LANES == 0;
                            if (accumulateDx) {
                                FloatVector old = whole ? FloatVector.fromMemorySegment(S, dxs, (xo + i) * 4, ORDER)
                                        : FloatVector.fromMemorySegment(S, dxs, (xo + i) * 4, ORDER, tail);
                                v = v.add(old);
                            }
                            if (whole) v.intoMemorySegment(dxs, (xo + i) * 4, ORDER);
                            else v.intoMemorySegment(dxs, (xo + i) * 4, ORDER, tail);
                        }
                    }
            });
        }
        if (dw != null) {
            int rowBlocks = (rows + ROW_BLOCK - 1) / ROW_BLOCK;
            int part = out * inPad;
            float[] partials = GradScratch.shared(3, heads * rowBlocks * part);
            Parallel.forEach(heads * rowBlocks, (long) rows * heads * out * in, task -> {
                int h = task / rowBlocks, rb = task % rowBlocks;
                int base = task * part;
                Arrays.fill(partials, base, base + part, 0f);
                float[] xr = GradScratch.task(1, inPad);
                int r1 = Math.min(rows, (rb + 1) * ROW_BLOCK);
                for (int r = rb * ROW_BLOCK; r < r1; r++) {
                    MemorySegment.copy(xs, F, ((long) r * heads * in + (long) h * in) * 4, xr, 0, in);
                    Arrays.fill(xr, in, inPad, 0f);
                    long yo = (long) r * heads * out + (long) h * out;
                    for (int o = 0; o < out; o++) {
                        FloatVector g = FloatVector.broadcast(S, ys.getAtIndex(F, yo + o));
                        int po = base + o * inPad;
                        for (int i = 0; i < inPad; i += LANES)
                            FloatVector.fromArray(S, xr, i).fma(g, FloatVector.fromArray(S, partials, po + i)).intoArray(partials, po + i);
                    }
                }
            });
            MemorySegment dws = dw.segment();
            for (int h = 0; h < heads; h++)
                for (int o = 0; o < out; o++)
                    for (int i = 0; i < in; i++) {
                        float s = 0f;
                        for (int rb = 0; rb < rowBlocks; rb++) s += partials[(h * rowBlocks + rb) * part + o * inPad + i];
                        long wi = ((long) h * out + o) * in + i;
                        dws.setAtIndex(F, wi, dws.getAtIndex(F, wi) + s);
                    }
        }
    }
}
