package org.xlstm.jvm.backend.cpu;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * The right-hand operand of a matrix product, repacked for the SIMD micro-kernel: column panels of
 * {@link #NR} columns, each panel stored k-major ({@code data[(p·K + k)·NR + j] = B[k][p·NR + j]}), the last panel
 * padded with zeros. The kernel then streams one panel row per k with plain vector loads and never needs a
 * horizontal reduction. Linear weights are packed once and cached on their tensor.
 */
final class PackedMatrix {
    static final int LANES = Simd.LANES;
    /** Panel width: three vector registers. */
    static final int NR = 3 * LANES;

    final int k, n, panels;
    final float[] data;
    /** For narrow products (n below {@link #NARROW}): B column-major, i.e. the (out, in) weight rows, for dot products. */
    final float[] columns;
    static final int NARROW = 24;

    private PackedMatrix(int k, int n) {
        this.k = k;
        this.n = n;
        this.panels = (n + NR - 1) / NR;
        this.data = new float[Math.multiplyExact(panels * NR, k)];
        this.columns = n < NARROW ? new float[n * k] : null;
    }

    /** From a weight stored (out = n, in = k), as PyTorch's Linear stores it: B = Wᵀ. */
    static PackedMatrix fromOutIn(MemorySegment w, int n, int k) {
        PackedMatrix p = new PackedMatrix(k, n);
        for (int j = 0; j < n; j++) {
            int panel = j / NR, col = j % NR;
            int base = panel * k * NR + col;
            long src = (long) j * k;
            for (int kk = 0; kk < k; kk++) p.data[base + kk * NR] = w.getAtIndex(ValueLayout.JAVA_FLOAT, src + kk);
            if (p.columns != null) MemorySegment.copy(w, ValueLayout.JAVA_FLOAT, src * 4, p.columns, j * k, k);
        }
        return p;
    }

    /** From a matrix stored (k, n) row-major. */
    static PackedMatrix fromKn(MemorySegment b, int k, int n) {
        PackedMatrix p = new PackedMatrix(k, n);
        for (int kk = 0; kk < k; kk++)
            for (int j = 0; j < n; j++)
            {
                float v = b.getAtIndex(ValueLayout.JAVA_FLOAT, (long) kk * n + j);
                p.data[(j / NR) * k * NR + kk * NR + (j % NR)] = v;
                if (p.columns != null) p.columns[j * k + kk] = v;
            }
        return p;
    }
}
