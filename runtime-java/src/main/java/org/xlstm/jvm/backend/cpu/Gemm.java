package org.xlstm.jvm.backend.cpu;

import static org.xlstm.jvm.backend.cpu.Simd.LANES;
import static org.xlstm.jvm.backend.cpu.Simd.ORDER;
import static org.xlstm.jvm.backend.cpu.Simd.S;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;

/**
 * Cache-blocked SIMD matrix product {@code C[M, N] = A[M, K]·B + bias} with B pre-packed ({@link PackedMatrix}).
 *
 * <p>Blocking: K in slices of {@link #KC} so one packed panel slice (KC × NR floats) stays in L1/L2 while
 * {@link #MC} rows of A stream past it; a 4 × 3-vector register tile (12 accumulators) per micro-kernel call.
 * Work is split over (row block, panel group) tasks; each C element is owned by one task and summed over K in
 * ascending order, so the result does not depend on the thread count.
 */
final class Gemm {
    private Gemm() {}

    static final int MC = 64;
    static final int KC = 256;
    private static final int NR = PackedMatrix.NR;
    private static final ValueLayout.OfFloat F = ValueLayout.JAVA_FLOAT;

    /**
     * @param a    A, row-major with row stride {@code lda} floats
     * @param bias null or N floats
     * @param c    C, row-major with row stride {@code ldc} floats
     */
    static void multiply(MemorySegment a, int m, int lda, PackedMatrix b, MemorySegment bias, MemorySegment c, int ldc) {
        int k = b.k, n = b.n;
        if (m == 0 || n == 0) return;
        float[] biasPadded = new float[b.panels * NR];
        if (bias != null) MemorySegment.copy(bias, F, 0, biasPadded, 0, n);
        int rowBlocks = (m + MC - 1) / MC;
        int want = 2 * Parallel.threads();
        int groups = rowBlocks >= want ? 1 : Math.min(b.panels, (want + rowBlocks - 1) / rowBlocks);
        int panelsPerGroup = (b.panels + groups - 1) / groups;
        int groupsUsed = (b.panels + panelsPerGroup - 1) / panelsPerGroup;
        long work = (long) m * n * Math.max(k, 1);
        Parallel.forEach(rowBlocks * groupsUsed, work, task -> {
            int rb = task / groupsUsed, g = task % groupsUsed;
            int r0 = rb * MC, r1 = Math.min(m, r0 + MC);
            int p0 = g * panelsPerGroup, p1 = Math.min(b.panels, p0 + panelsPerGroup);
            block(a, lda, r0, r1, b, p0, p1, biasPadded, c, ldc);
        });
    }

    private static void block(MemorySegment a, int lda, int r0, int r1, PackedMatrix b, int p0, int p1,
                              float[] bias, MemorySegment c, int ldc) {
        int k = b.k;
        if (k == 0) {
            for (int p = p0; p < p1; p++)
                for (int i = r0; i < r1; i++) initOnly(i, p, b, bias, c, ldc);
            return;
        }
        for (int k0 = 0; k0 < k; k0 += KC) {
            int k1 = Math.min(k, k0 + KC);
            boolean first = k0 == 0;
            for (int p = p0; p < p1; p++) {
                int col = p * NR;
                int valid = Math.min(NR, b.n - col);
                int i = r0;
                for (; i + 4 <= r1; i += 4) micro4(a, lda, i, b, p, k0, k1, first, bias, c, ldc, col, valid);
                for (; i < r1; i++) micro1(a, lda, i, b, p, k0, k1, first, bias, c, ldc, col, valid);
            }
        }
    }

    private static void initOnly(int i, int p, PackedMatrix b, float[] bias, MemorySegment c, int ldc) {
        int col = p * NR, valid = Math.min(NR, b.n - col);
        for (int j = 0; j < valid; j++) c.setAtIndex(F, (long) i * ldc + col + j, bias[col + j]);
    }

    private static void micro4(MemorySegment a, int lda, int i, PackedMatrix b, int p, int k0, int k1, boolean first,
                               float[] bias, MemorySegment c, int ldc, int col, int valid) {
        long c0 = ((long) i * ldc + col) * 4, c1 = c0 + (long) ldc * 4, c2 = c1 + (long) ldc * 4, c3 = c2 + (long) ldc * 4;
        FloatVector x00, x01, x02, x10, x11, x12, x20, x21, x22, x30, x31, x32;
        if (first) {
            FloatVector b0 = FloatVector.fromArray(S, bias, col), b1 = FloatVector.fromArray(S, bias, col + LANES),
                    b2 = FloatVector.fromArray(S, bias, col + 2 * LANES);
            x00 = b0; x01 = b1; x02 = b2; x10 = b0; x11 = b1; x12 = b2;
            x20 = b0; x21 = b1; x22 = b2; x30 = b0; x31 = b1; x32 = b2;
        } else {
            x00 = load(c, c0, 0, valid); x01 = load(c, c0, 1, valid); x02 = load(c, c0, 2, valid);
            x10 = load(c, c1, 0, valid); x11 = load(c, c1, 1, valid); x12 = load(c, c1, 2, valid);
            x20 = load(c, c2, 0, valid); x21 = load(c, c2, 1, valid); x22 = load(c, c2, 2, valid);
            x30 = load(c, c3, 0, valid); x31 = load(c, c3, 1, valid); x32 = load(c, c3, 2, valid);
        }
        float[] bp = b.data;
        int bo = (p * b.k + k0) * NR;
        long a0 = (long) i * lda, a1 = a0 + lda, a2 = a1 + lda, a3 = a2 + lda;
        for (int kk = k0; kk < k1; kk++, bo += NR) {
            FloatVector w0 = FloatVector.fromArray(S, bp, bo);
            FloatVector w1 = FloatVector.fromArray(S, bp, bo + LANES);
            FloatVector w2 = FloatVector.fromArray(S, bp, bo + 2 * LANES);
            FloatVector v = FloatVector.broadcast(S, a.getAtIndex(F, a0 + kk));
            x00 = w0.fma(v, x00); x01 = w1.fma(v, x01); x02 = w2.fma(v, x02);
            v = FloatVector.broadcast(S, a.getAtIndex(F, a1 + kk));
            x10 = w0.fma(v, x10); x11 = w1.fma(v, x11); x12 = w2.fma(v, x12);
            v = FloatVector.broadcast(S, a.getAtIndex(F, a2 + kk));
            x20 = w0.fma(v, x20); x21 = w1.fma(v, x21); x22 = w2.fma(v, x22);
            v = FloatVector.broadcast(S, a.getAtIndex(F, a3 + kk));
            x30 = w0.fma(v, x30); x31 = w1.fma(v, x31); x32 = w2.fma(v, x32);
        }
        store(x00, c, c0, 0, valid); store(x01, c, c0, 1, valid); store(x02, c, c0, 2, valid);
        store(x10, c, c1, 0, valid); store(x11, c, c1, 1, valid); store(x12, c, c1, 2, valid);
        store(x20, c, c2, 0, valid); store(x21, c, c2, 1, valid); store(x22, c, c2, 2, valid);
        store(x30, c, c3, 0, valid); store(x31, c, c3, 1, valid); store(x32, c, c3, 2, valid);
    }

    private static void micro1(MemorySegment a, int lda, int i, PackedMatrix b, int p, int k0, int k1, boolean first,
                               float[] bias, MemorySegment c, int ldc, int col, int valid) {
        long c0 = ((long) i * ldc + col) * 4;
        FloatVector x0, x1, x2;
        if (first) {
            x0 = FloatVector.fromArray(S, bias, col);
            x1 = FloatVector.fromArray(S, bias, col + LANES);
            x2 = FloatVector.fromArray(S, bias, col + 2 * LANES);
        } else {
            x0 = load(c, c0, 0, valid); x1 = load(c, c0, 1, valid); x2 = load(c, c0, 2, valid);
        }
        float[] bp = b.data;
        int bo = (p * b.k + k0) * NR;
        long a0 = (long) i * lda;
        // Skip the all-padding vectors of a narrow last panel: they only ever multiply zeros.
        if (valid <= LANES) {
            for (int kk = k0; kk < k1; kk++, bo += NR)
                x0 = FloatVector.fromArray(S, bp, bo).fma(FloatVector.broadcast(S, a.getAtIndex(F, a0 + kk)), x0);
        } else {
            for (int kk = k0; kk < k1; kk++, bo += NR) {
                FloatVector v = FloatVector.broadcast(S, a.getAtIndex(F, a0 + kk));
                x0 = FloatVector.fromArray(S, bp, bo).fma(v, x0);
                x1 = FloatVector.fromArray(S, bp, bo + LANES).fma(v, x1);
                x2 = FloatVector.fromArray(S, bp, bo + 2 * LANES).fma(v, x2);
            }
        }
        store(x0, c, c0, 0, valid); store(x1, c, c0, 1, valid); store(x2, c, c0, 2, valid);
    }

    private static FloatVector load(MemorySegment c, long byteOff, int vec, int valid) {
        int lanes = valid - vec * LANES;
        if (lanes >= LANES) return FloatVector.fromMemorySegment(S, c, byteOff + (long) vec * LANES * 4, ORDER);
        if (lanes <= 0) return FloatVector.zero(S);
        VectorMask<Float> mask = S.indexInRange(0, lanes);
        return FloatVector.fromMemorySegment(S, c, byteOff + (long) vec * LANES * 4, ORDER, mask);
    }

    private static void store(FloatVector x, MemorySegment c, long byteOff, int vec, int valid) {
        int lanes = valid - vec * LANES;
        if (lanes >= LANES) x.intoMemorySegment(c, byteOff + (long) vec * LANES * 4, ORDER);
        else if (lanes > 0) x.intoMemorySegment(c, byteOff + (long) vec * LANES * 4, ORDER, S.indexInRange(0, lanes));
    }
}
