package org.xlstm.jvm.backend.cpu;

import static org.xlstm.jvm.backend.cpu.Simd.LANES;
import static org.xlstm.jvm.backend.cpu.Simd.ORDER;
import static org.xlstm.jvm.backend.cpu.Simd.S;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import jdk.incubator.vector.FloatVector;

/**
 * The weight-gradient product {@code C[m, n] += Aᵀ·B} with A given row-major {@code [K, m]} (the output gradient,
 * K = rows of the batch) and B packed {@code [K, n]} (the layer input, {@link PackedMatrix} panels): no transposed
 * copy of A is made. Per task a group of 4-row blocks of C; K walked in slices of {@link #KC}, each slice of A packed
 * once as 4-wide columns (contiguous for the kernel's broadcasts) and reused across all panels of B; a 4 × 48
 * register tile per kernel call, loaded from C and stored back once per slice. Each C element belongs to one task
 * and sums K in ascending order, so the result does not depend on the thread count.
 */
final class GemmTn {
    private GemmTn() {}

    static final int KC = 128;
    private static final int MR = 4;
    private static final int NR = PackedMatrix.NR;
    private static final ValueLayout.OfFloat F = ValueLayout.JAVA_FLOAT;

    static void multiplyAccumulate(MemorySegment a, int k, int m, PackedMatrix b, MemorySegment c) {
        int n = b.n;
        if (m == 0 || n == 0 || k == 0) return;
        int oBlocks = (m + MR - 1) / MR;
        int want = 4 * Parallel.threads();
        int perTask = Math.max(1, (oBlocks + want - 1) / want);
        int tasks = (oBlocks + perTask - 1) / perTask;
        Parallel.forEach(tasks, (long) m * n * k, t -> {
            int ob0 = t * perTask, ob1 = Math.min(oBlocks, ob0 + perTask);
            int o0 = ob0 * MR, width = (ob1 - ob0) * MR, valid = Math.min(width, m - o0);
            float[] ap = GradScratch.task(42, KC * width);
            float[] tile = GradScratch.task(43, MR * NR);
            for (int k0 = 0; k0 < k; k0 += KC) {
                int kl = Math.min(KC, k - k0);
                // the slice of A for this task's columns: rows of `width` floats, bulk-copied
                for (int kk = 0; kk < kl; kk++) {
                    MemorySegment.copy(a, F, ((long) (k0 + kk) * m + o0) * 4, ap, kk * width, valid);
                    if (valid < width) java.util.Arrays.fill(ap, kk * width + valid, (kk + 1) * width, 0f);
                }
                for (int p = 0; p < b.panels; p++) {
                    int col = p * NR, cols = Math.min(NR, n - col);
                    int bo = (p * k + k0) * NR;
                    for (int ob = ob0; ob < ob1; ob++) {
                        int oo = ob * MR;
                        micro(ap, (ob - ob0) * MR, width, kl, b.data, bo, c, oo, Math.min(MR, m - oo), n, col, cols, tile);
                    }
                }
            }
        });
    }

    /** C rows o0..o0+rows, columns col..col+valid, += Σ_kk ap[kk·width + ao + ·]·B[kk][·]. */
    private static void micro(float[] ap, int ao, int width, int kl, float[] bp, int bo, MemorySegment c, int o0, int rows,
                              int ldc, int col, int valid, float[] tile) {
        FloatVector x00 = FloatVector.zero(S), x01 = x00, x02 = x00, x10 = x00, x11 = x00, x12 = x00,
                x20 = x00, x21 = x00, x22 = x00, x30 = x00, x31 = x00, x32 = x00;
        for (int kk = 0, ai = ao; kk < kl; kk++, ai += width, bo += NR) {
            FloatVector w0 = FloatVector.fromArray(S, bp, bo);
            FloatVector w1 = FloatVector.fromArray(S, bp, bo + LANES);
            FloatVector w2 = FloatVector.fromArray(S, bp, bo + 2 * LANES);
            FloatVector v = FloatVector.broadcast(S, ap[ai]);
            x00 = w0.fma(v, x00); x01 = w1.fma(v, x01); x02 = w2.fma(v, x02);
            v = FloatVector.broadcast(S, ap[ai + 1]);
            x10 = w0.fma(v, x10); x11 = w1.fma(v, x11); x12 = w2.fma(v, x12);
            v = FloatVector.broadcast(S, ap[ai + 2]);
            x20 = w0.fma(v, x20); x21 = w1.fma(v, x21); x22 = w2.fma(v, x22);
            v = FloatVector.broadcast(S, ap[ai + 3]);
            x30 = w0.fma(v, x30); x31 = w1.fma(v, x31); x32 = w2.fma(v, x32);
        }
        // the tile goes through an array: vectors must not cross a call the JIT may not inline
        x00.intoArray(tile, 0); x01.intoArray(tile, LANES); x02.intoArray(tile, 2 * LANES);
        x10.intoArray(tile, NR); x11.intoArray(tile, NR + LANES); x12.intoArray(tile, NR + 2 * LANES);
        x20.intoArray(tile, 2 * NR); x21.intoArray(tile, 2 * NR + LANES); x22.intoArray(tile, 2 * NR + 2 * LANES);
        x30.intoArray(tile, 3 * NR); x31.intoArray(tile, 3 * NR + LANES); x32.intoArray(tile, 3 * NR + 2 * LANES);
        addTile(tile, c, (long) o0 * ldc + col, ldc, rows, valid);
    }

    /** C[r][0..valid) += tile[r·NR ..] for r < rows. */
    private static void addTile(float[] tile, MemorySegment c, long off, int ldc, int rows, int valid) {
        int full = valid - valid % LANES;
        for (int r = 0; r < rows; r++) {
            long base = (off + (long) r * ldc) * 4;
            for (int j = 0; j < full; j += LANES)
                FloatVector.fromArray(S, tile, r * NR + j).add(FloatVector.fromMemorySegment(S, c, base + j * 4L, ORDER))
                        .intoMemorySegment(c, base + j * 4L, ORDER);
            for (int j = full; j < valid; j++) {
                long at = off + (long) r * ldc + j;
                c.setAtIndex(F, at, c.getAtIndex(F, at) + tile[r * NR + j]);
            }
        }
    }
}
