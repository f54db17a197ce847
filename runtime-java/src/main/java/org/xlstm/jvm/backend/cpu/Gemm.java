package org.xlstm.jvm.backend.cpu;

import static org.xlstm.jvm.backend.cpu.Simd.LANES;
import static org.xlstm.jvm.backend.cpu.Simd.ORDER;
import static org.xlstm.jvm.backend.cpu.Simd.S;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import jdk.incubator.vector.FloatVector;

/**
 * Cache-blocked SIMD matrix product {@code C[M, N] = A[M, K]·B + bias} with B pre-packed ({@link PackedMatrix}).
 *
 * <p>Blocking: K in slices of {@link #KC} so one packed panel slice (KC × NR floats) stays in L1/L2 while
 * {@link #MC} rows of A stream past it; a 4 × 3-vector register tile (12 accumulators) per micro-kernel call.
 * Full panels are computed straight into C; the ragged last panel goes through a small on-heap tile so the hot
 * kernel never sees a mask (masked segment accesses are slow, and would also pollute the JIT's profile of the
 * hot loop). Work is split over (row block, panel group) tasks; each C element is owned by one task and summed
 * over K in ascending order, so the result does not depend on the thread count.
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
        multiply(a, m, lda, b, bias, c, ldc, false);
    }

    /**
     * As above; with {@code accumulate} the product is added to what C holds ({@code C += A·B}, bias must be null):
     * the backward pass sums gradients this way.
     */
    static void multiply(MemorySegment a, int m, int lda, PackedMatrix b, MemorySegment bias, MemorySegment c, int ldc,
                         boolean accumulate) {
        int k = b.k, n = b.n;
        if (m == 0 || n == 0) return;
        if (accumulate && bias != null) throw new IllegalArgumentException("Gemm: accumulate with a bias");
        // read-only during the call, so the caller's scratch can be shared with the worker threads
        float[] biasPadded = Scratch.floats(7, b.panels * NR);
        java.util.Arrays.fill(biasPadded, 0, b.panels * NR, 0f);
        if (bias != null) MemorySegment.copy(bias, F, 0, biasPadded, 0, n);
        if (b.columns != null) {
            narrow(a, m, lda, b, biasPadded, c, ldc, accumulate);
            return;
        }
        int rowBlocks = (m + MC - 1) / MC;
        int want = 2 * Parallel.threads();
        int groups = rowBlocks >= want ? 1 : Math.min(b.panels, (want + rowBlocks - 1) / rowBlocks);
        int panelsPerGroup = (b.panels + groups - 1) / groups;
        int groupsUsed = (b.panels + panelsPerGroup - 1) / panelsPerGroup;
        long work = (long) m * n * Math.max(k, 1);
        if (!Parallel.worthSplitting(rowBlocks * groupsUsed, work)) {
            for (int rb = 0; rb < rowBlocks; rb++)
                block(a, lda, rb * MC, Math.min(m, rb * MC + MC), b, 0, b.panels, biasPadded, c, ldc, accumulate);
            return;
        }
        Parallel.forEach(rowBlocks * groupsUsed, work, task -> {
            int rb = task / groupsUsed, g = task % groupsUsed;
            int r0 = rb * MC, r1 = Math.min(m, r0 + MC);
            int p0 = g * panelsPerGroup, p1 = Math.min(b.panels, p0 + panelsPerGroup);
            block(a, lda, r0, r1, b, p0, p1, biasPadded, c, ldc, accumulate);
        });
    }

    private static void block(MemorySegment a, int lda, int r0, int r1, PackedMatrix b, int p0, int p1,
                              float[] bias, MemorySegment c, int ldc, boolean accumulate) {
        int k = b.k;
        int fullPanels = b.n / NR;
        for (int k0 = 0; k0 < Math.max(k, 1); k0 += KC) {
            int k1 = Math.min(k, k0 + KC);
            boolean first = k0 == 0 && !accumulate;
            int rows4 = r0 + (r1 - r0) / 4 * 4;
            for (int p = p0; p < p1; p++) {
                int col = p * NR;
                if (p < fullPanels) {
                    for (int i = r0; i < rows4; i += 4) micro4(a, lda, i, b.data, (p * k + k0) * NR, k0, k1, first, bias, col, c, ldc);
                    if (rows4 < r1 && p + 1 < Math.min(p1, fullPanels)) {
                        // leftover rows (all of them for a mat-vec): two panels at once, six independent FMA chains
                        for (int i = rows4; i < r1; i++)
                            micro1x2(a, lda, i, b.data, (p * k + k0) * NR, ((p + 1) * k + k0) * NR, k0, k1, first, bias, col, c, ldc);
                        p++;
                        for (int i = r0; i < rows4; i += 4)
                            micro4(a, lda, i, b.data, (p * k + k0) * NR, k0, k1, first, bias, col + NR, c, ldc);
                    } else {
                        for (int i = rows4; i < r1; i++) micro1(a, lda, i, b.data, (p * k + k0) * NR, k0, k1, first, bias, col, c, ldc);
                    }
                } else {
                    edgePanel(a, lda, r0, r1, b, p, k0, k1, first, bias, c, ldc);
                }
            }
        }
    }

    /**
     * Few outputs (gate pre-activations: one per head): a panel would be mostly padding, so each output is a dot
     * product over K instead, four outputs sharing each load of the input row; lanes are summed in a fixed order.
     */
    private static void narrow(MemorySegment a, int m, int lda, PackedMatrix b, float[] bias, MemorySegment c, int ldc,
                               boolean accumulate) {
        int k = b.k, n = b.n, kv = k - k % LANES;
        float[] w = b.columns;
        int rowsPerTask = 32;
        Parallel.forEach((m + rowsPerTask - 1) / rowsPerTask, (long) m * n * k, task -> {
            int r1 = Math.min(m, (task + 1) * rowsPerTask);
            for (int r = task * rowsPerTask; r < r1; r++) {
                long ab = (long) r * lda * 4;
                for (int o = 0; o < n; o += 4) {
                    int cnt = Math.min(4, n - o);
                    int w0 = o * k, w1 = (o + Math.min(1, cnt - 1)) * k, w2 = (o + Math.min(2, cnt - 1)) * k, w3 = (o + cnt - 1) * k;
                    FloatVector s0 = FloatVector.zero(S), s1 = s0, s2 = s0, s3 = s0;
                    for (int kk = 0; kk < kv; kk += LANES) {
                        FloatVector x = FloatVector.fromMemorySegment(S, a, ab + (long) kk * 4, ORDER);
                        s0 = FloatVector.fromArray(S, w, w0 + kk).fma(x, s0);
                        s1 = FloatVector.fromArray(S, w, w1 + kk).fma(x, s1);
                        s2 = FloatVector.fromArray(S, w, w2 + kk).fma(x, s2);
                        s3 = FloatVector.fromArray(S, w, w3 + kk).fma(x, s3);
                    }
                    float[] tmp = Scratch.floats(14, LANES);
                    float[] sums = Scratch.floats(13, 4);
                    sums[0] = Simd.sum(s0, tmp);
                    sums[1] = Simd.sum(s1, tmp);
                    sums[2] = Simd.sum(s2, tmp);
                    sums[3] = Simd.sum(s3, tmp);
                    for (int j = 0; j < cnt; j++) {
                        float acc = sums[j];
                        int wo = (o + j) * k;
                        for (int kk = kv; kk < k; kk++) acc += w[wo + kk] * a.getAtIndex(F, (long) r * lda + kk);
                        long ci = (long) r * ldc + o + j;
                        c.setAtIndex(F, ci, accumulate ? c.getAtIndex(F, ci) + acc : acc + bias[o + j]);
                    }
                }
            }
        });
    }

    /** The ragged last panel: per group of rows, load the valid columns into a tile, run the kernel, copy back. */
    private static void edgePanel(MemorySegment a, int lda, int r0, int r1, PackedMatrix b, int p, int k0, int k1,
                                  boolean first, float[] bias, MemorySegment c, int ldc) {
        int col = p * NR, valid = b.n - col;
        float[] tile = Scratch.floats(15, 4 * NR);
        MemorySegment t = MemorySegment.ofArray(tile);
        for (int i = r0; i < r1; i += 4) {
            int rows = Math.min(4, r1 - i);
            if (!first)
                for (int r = 0; r < rows; r++) MemorySegment.copy(c, F, ((long) (i + r) * ldc + col) * 4, tile, r * NR, valid);
            for (int r = 0; r < rows; r++)
                micro1(a, lda, i + r, b.data, (p * b.k + k0) * NR, k0, k1, first, bias, col, t, 0, r * NR);
            for (int r = 0; r < rows; r++) MemorySegment.copy(tile, r * NR, c, F, ((long) (i + r) * ldc + col) * 4, valid);
        }
    }

    private static void micro4(MemorySegment a, int lda, int i, float[] bp, int bo, int k0, int k1, boolean first,
                               float[] bias, int col, MemorySegment c, int ldc) {
        long c0 = ((long) i * ldc + col) * 4, step = (long) ldc * 4, c1 = c0 + step, c2 = c1 + step, c3 = c2 + step;
        FloatVector x00, x01, x02, x10, x11, x12, x20, x21, x22, x30, x31, x32;
        if (first) {
            FloatVector b0 = FloatVector.fromArray(S, bias, col), b1 = FloatVector.fromArray(S, bias, col + LANES),
                    b2 = FloatVector.fromArray(S, bias, col + 2 * LANES);
            x00 = b0; x01 = b1; x02 = b2; x10 = b0; x11 = b1; x12 = b2;
            x20 = b0; x21 = b1; x22 = b2; x30 = b0; x31 = b1; x32 = b2;
        } else {
            x00 = ld(c, c0, 0); x01 = ld(c, c0, 1); x02 = ld(c, c0, 2);
            x10 = ld(c, c1, 0); x11 = ld(c, c1, 1); x12 = ld(c, c1, 2);
            x20 = ld(c, c2, 0); x21 = ld(c, c2, 1); x22 = ld(c, c2, 2);
            x30 = ld(c, c3, 0); x31 = ld(c, c3, 1); x32 = ld(c, c3, 2);
        }
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
        st(x00, c, c0, 0); st(x01, c, c0, 1); st(x02, c, c0, 2);
        st(x10, c, c1, 0); st(x11, c, c1, 1); st(x12, c, c1, 2);
        st(x20, c, c2, 0); st(x21, c, c2, 1); st(x22, c, c2, 2);
        st(x30, c, c3, 0); st(x31, c, c3, 1); st(x32, c, c3, 2);
    }

    /** One row against two adjacent full panels (columns col .. col + 2·NR). */
    private static void micro1x2(MemorySegment a, int lda, int i, float[] bp, int bo, int bo2, int k0, int k1,
                                 boolean first, float[] bias, int col, MemorySegment c, int ldc) {
        long c0 = ((long) i * ldc + col) * 4, c1 = c0 + (long) NR * 4;
        FloatVector x0, x1, x2, y0, y1, y2;
        if (first) {
            x0 = FloatVector.fromArray(S, bias, col);
            x1 = FloatVector.fromArray(S, bias, col + LANES);
            x2 = FloatVector.fromArray(S, bias, col + 2 * LANES);
            y0 = FloatVector.fromArray(S, bias, col + NR);
            y1 = FloatVector.fromArray(S, bias, col + NR + LANES);
            y2 = FloatVector.fromArray(S, bias, col + NR + 2 * LANES);
        } else {
            x0 = ld(c, c0, 0); x1 = ld(c, c0, 1); x2 = ld(c, c0, 2);
            y0 = ld(c, c1, 0); y1 = ld(c, c1, 1); y2 = ld(c, c1, 2);
        }
        long a0 = (long) i * lda;
        for (int kk = k0; kk < k1; kk++, bo += NR, bo2 += NR) {
            FloatVector v = FloatVector.broadcast(S, a.getAtIndex(F, a0 + kk));
            x0 = FloatVector.fromArray(S, bp, bo).fma(v, x0);
            x1 = FloatVector.fromArray(S, bp, bo + LANES).fma(v, x1);
            x2 = FloatVector.fromArray(S, bp, bo + 2 * LANES).fma(v, x2);
            y0 = FloatVector.fromArray(S, bp, bo2).fma(v, y0);
            y1 = FloatVector.fromArray(S, bp, bo2 + LANES).fma(v, y1);
            y2 = FloatVector.fromArray(S, bp, bo2 + 2 * LANES).fma(v, y2);
        }
        st(x0, c, c0, 0); st(x1, c, c0, 1); st(x2, c, c0, 2);
        st(y0, c, c1, 0); st(y1, c, c1, 1); st(y2, c, c1, 2);
    }

    private static void micro1(MemorySegment a, int lda, int i, float[] bp, int bo, int k0, int k1, boolean first,
                               float[] bias, int col, MemorySegment c, int ldc) {
        micro1(a, lda, i, bp, bo, k0, k1, first, bias, col, c, ((long) i * ldc + col) * 4, 0);
    }

    /** One row, one panel; C at byte offset cOff (+ 4·tileOff) of segment c. */
    private static void micro1(MemorySegment a, int lda, int i, float[] bp, int bo, int k0, int k1, boolean first,
                               float[] bias, int col, MemorySegment c, long cOff, int tileOff) {
        long c0 = cOff + (long) tileOff * 4;
        FloatVector x0, x1, x2;
        if (first) {
            x0 = FloatVector.fromArray(S, bias, col);
            x1 = FloatVector.fromArray(S, bias, col + LANES);
            x2 = FloatVector.fromArray(S, bias, col + 2 * LANES);
        } else {
            x0 = ld(c, c0, 0); x1 = ld(c, c0, 1); x2 = ld(c, c0, 2);
        }
        // three independent accumulator chains per k keep the FMA pipeline busy
        long a0 = (long) i * lda;
        for (int kk = k0; kk < k1; kk++, bo += NR) {
            FloatVector v = FloatVector.broadcast(S, a.getAtIndex(F, a0 + kk));
            x0 = FloatVector.fromArray(S, bp, bo).fma(v, x0);
            x1 = FloatVector.fromArray(S, bp, bo + LANES).fma(v, x1);
            x2 = FloatVector.fromArray(S, bp, bo + 2 * LANES).fma(v, x2);
        }
        st(x0, c, c0, 0); st(x1, c, c0, 1); st(x2, c, c0, 2);
    }

    private static FloatVector ld(MemorySegment c, long byteOff, int vec) {
        return FloatVector.fromMemorySegment(S, c, byteOff + (long) vec * LANES * 4, ORDER);
    }

    private static void st(FloatVector x, MemorySegment c, long byteOff, int vec) {
        x.intoMemorySegment(c, byteOff + (long) vec * LANES * 4, ORDER);
    }
}
