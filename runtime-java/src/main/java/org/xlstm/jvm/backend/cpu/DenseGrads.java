package org.xlstm.jvm.backend.cpu;

import static org.xlstm.jvm.backend.cpu.Simd.LANES;
import static org.xlstm.jvm.backend.cpu.Simd.ORDER;
import static org.xlstm.jvm.backend.cpu.Simd.S;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import jdk.incubator.vector.FloatVector;

/**
 * Backward of dense products on the forward's {@link Gemm}: every gradient is itself a product,
 * {@code dX = dY·W} (W packed as a (K = out, N = in) matrix) and {@code dW += dYᵀ·X} (dY transposed into scratch,
 * X packed as (K = rows, N = in)), so the same cache-blocked, deterministic kernel does the work. Packed copies
 * go into per-thread arrays reused from step to step.
 */
final class DenseGrads {
    private DenseGrads() {}

    private static final ValueLayout.OfFloat F = ValueLayout.JAVA_FLOAT;
    private static final ThreadLocal<PackedMatrix[]> PACKS = ThreadLocal.withInitial(() -> new PackedMatrix[2]);

    /** B given row-major (k, n), packed into this thread's slot. */
    static PackedMatrix packKn(int slot, MemorySegment b, int k, int n) {
        PackedMatrix[] p = PACKS.get();
        p[slot] = PackedMatrix.fromKnReusing(p[slot], b, k, n);
        return p[slot];
    }

    /** B = Wᵀ for W given row-major (n, k), packed into this thread's slot. */
    static PackedMatrix packTransposed(int slot, MemorySegment w, int n, int k) {
        PackedMatrix[] p = PACKS.get();
        p[slot] = PackedMatrix.fromOutInReusing(p[slot], w, n, k);
        return p[slot];
    }

    /** dx (+)= dy·W: dy (rows, out), W (out, in), dx (rows, in). */
    static void inputGrad(MemorySegment dy, int rows, int out, MemorySegment w, int in, MemorySegment dx, boolean accumulate) {
        Gemm.multiply(dy, rows, out, packKn(0, w, out, in), null, dx, in, accumulate);
    }

    /** dw += dyᵀ·x: dy (rows, out), x (rows, in), dw (out, in). */
    static void weightGrad(MemorySegment dy, int rows, int out, MemorySegment x, int in, MemorySegment dw) {
        float[] t = GradScratch.shared(0, Math.multiplyExact(out, rows));
        transpose(dy, rows, out, t);
        Gemm.multiply(MemorySegment.ofArray(t), out, rows, packKn(1, x, rows, in), null, dw, in, true);
    }

    /** dst[c·rows + r] = src[r·cols + c], in cache-sized tiles, in parallel over column tiles. */
    static void transpose(MemorySegment src, int rows, int cols, float[] dst) {
        final int tile = 32;
        int colTiles = (cols + tile - 1) / tile;
        Parallel.forEach(colTiles, (long) rows * cols, ct -> {
            int c0 = ct * tile, c1 = Math.min(cols, c0 + tile);
            for (int r0 = 0; r0 < rows; r0 += tile) {
                int r1 = Math.min(rows, r0 + tile);
                for (int r = r0; r < r1; r++) {
                    long base = (long) r * cols;
                    for (int c = c0; c < c1; c++) dst[c * rows + r] = src.getAtIndex(F, base + c);
                }
            }
        });
    }

    /**
     * out[j] += Σ_rows m[r, j] for a (rows, cols) matrix: tasks own column blocks and sum rows in order, so the
     * result does not depend on the thread count.
     */
    static void columnSums(MemorySegment m, int rows, int cols, MemorySegment out) {
        int blocks = (cols + LANES - 1) / LANES;
        Parallel.forEach(blocks, (long) rows * cols, blk -> {
            int c = blk * LANES, lanes = Math.min(LANES, cols - c);
            FloatVector acc = FloatVector.zero(S);
            if (lanes == LANES) {
                for (int r = 0; r < rows; r++) acc = acc.add(FloatVector.fromMemorySegment(S, m, ((long) r * cols + c) * 4, ORDER));
                acc.add(FloatVector.fromMemorySegment(S, out, (long) c * 4, ORDER)).intoMemorySegment(out, (long) c * 4, ORDER);
            } else {
                var mask = S.indexInRange(0, lanes);
                for (int r = 0; r < rows; r++)
                    acc = acc.add(FloatVector.fromMemorySegment(S, m, ((long) r * cols + c) * 4, ORDER, mask));
                acc.add(FloatVector.fromMemorySegment(S, out, (long) c * 4, ORDER, mask)).intoMemorySegment(out, (long) c * 4, ORDER, mask);
            }
        });
    }
}
