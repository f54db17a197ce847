package org.xlstm.jvm.backend.cpu;

import static org.xlstm.jvm.backend.cpu.Simd.LANES;
import static org.xlstm.jvm.backend.cpu.Simd.ORDER;
import static org.xlstm.jvm.backend.cpu.Simd.S;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;

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

    static final int KC = 256;
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
            float[] ap = GradScratch.task(42, KC * MR);
            for (int k0 = 0; k0 < k; k0 += KC) {
                int kl = Math.min(KC, k - k0);
                for (int ob = ob0; ob < ob1; ob++) {
                    int o0 = ob * MR, rowsHere = Math.min(MR, m - o0);
                    packA(a, m, k0, kl, o0, rowsHere, ap);
                    for (int p = 0; p < b.panels; p++) {
                        int col = p * NR, valid = Math.min(NR, n - col);
                        micro(ap, kl, b.data, (p * k + k0) * NR, c, o0, rowsHere, n, col, valid);
                    }
                }
            }
        });
    }

    /** ap[kk·4 + j] = a[(k0 + kk)·m + o0 + j] (0 for j ≥ rows). */
    private static void packA(MemorySegment a, int m, int k0, int kl, int o0, int rows, float[] ap) {
        for (int kk = 0; kk < kl; kk++) {
            long src = (long) (k0 + kk) * m + o0;
            int dst = kk * MR;
            for (int j = 0; j < MR; j++) ap[dst + j] = j < rows ? a.getAtIndex(F, src + j) : 0f;
        }
    }

    /** C rows o0..o0+rows, columns col..col+valid, += Σ_kk ap[kk][·]·B[kk][·]. */
    private static void micro(float[] ap, int kl, float[] bp, int bo, MemorySegment c, int o0, int rows, int ldc,
                              int col, int valid) {
        FloatVector x00 = FloatVector.zero(S), x01 = x00, x02 = x00, x10 = x00, x11 = x00, x12 = x00,
                x20 = x00, x21 = x00, x22 = x00, x30 = x00, x31 = x00, x32 = x00;
        for (int kk = 0, ai = 0; kk < kl; kk++, ai += MR, bo += NR) {
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
        long r0 = (long) o0 * ldc + col;
        addRow(c, r0, valid, x00, x01, x02);
        if (rows > 1) addRow(c, r0 + ldc, valid, x10, x11, x12);
        if (rows > 2) addRow(c, r0 + 2L * ldc, valid, x20, x21, x22);
        if (rows > 3) addRow(c, r0 + 3L * ldc, valid, x30, x31, x32);
    }

    /** c[off .. off+valid) += (v0, v1, v2) (valid ≤ 48; masked only at the ragged end). */
    private static void addRow(MemorySegment c, long off, int valid, FloatVector v0, FloatVector v1, FloatVector v2) {
        addPart(c, off, valid, v0);
        if (valid > LANES) addPart(c, off + LANES, valid - LANES, v1);
        if (valid > 2 * LANES) addPart(c, off + 2 * LANES, valid - 2 * LANES, v2);
    }

    private static void addPart(MemorySegment c, long off, int valid, FloatVector v) {
        long bytes = off * 4;
        if (valid >= LANES) {
            v.add(FloatVector.fromMemorySegment(S, c, bytes, ORDER)).intoMemorySegment(c, bytes, ORDER);
        } else {
            VectorMask<Float> mk = S.indexInRange(0, valid);
            v.add(FloatVector.fromMemorySegment(S, c, bytes, ORDER, mk)).intoMemorySegment(c, bytes, ORDER, mk);
        }
    }
}
