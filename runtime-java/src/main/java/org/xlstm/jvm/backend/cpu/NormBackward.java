package org.xlstm.jvm.backend.cpu;

import static org.xlstm.jvm.backend.cpu.Simd.LANES;
import static org.xlstm.jvm.backend.cpu.Simd.ORDER;
import static org.xlstm.jvm.backend.cpu.Simd.S;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;

/**
 * Backward of layer norm (whole rows or per head) and RMS norm. Rows are split into fixed blocks (fixed by the
 * row count, not the thread count); each block sums its weight and bias gradients into its own partial row, and
 * the partials are added in block order afterwards, so the result is the same on any number of threads.
 *
 * <p>Layer norm slice: x̂ = (x − μ)·ρ, y = x̂·s + b, g = dy·s ⇒ dx = ρ·(g − mean g − x̂·mean(g·x̂)), ds = Σ dy·x̂.
 * RMS norm: y = x·ρ·w + b ⇒ dx = ρ·(g − x·ρ²·mean(g·x)), dw = Σ dy·x·ρ.
 */
final class NormBackward {
    private NormBackward() {}

    private static final ValueLayout.OfFloat F = ValueLayout.JAVA_FLOAT;

    interface RowKernel {
        /** One row: reads x, dy at base; writes dx; adds into pw, pb (partials of width = row width) if not null. */
        void row(long base, float[] pw, float[] pb);
    }

    /** Runs {@code kernel} over all rows, partial sums of width {@code width} reduced into dw, db. */
    static void rows(int rows, int width, boolean wantW, boolean wantB, MemorySegment dw, MemorySegment db, RowKernel kernel) {
        int per = Math.max(1, Math.min(rows, 16384 / Math.max(1, width)));
        int tasks = (rows + per - 1) / per;
        int wp = (width + LANES - 1) / LANES * LANES;
        float[] partW = wantW ? GradScratch.shared(4, tasks * wp) : null;
        float[] partB = wantB ? GradScratch.shared(5, tasks * wp) : null;
        Parallel.forEach(tasks, (long) rows * width * 8, t -> {
            float[] pw = null, pb = null;
            if (partW != null) {
                pw = GradScratch.task(2, wp);
                Arrays.fill(pw, 0, wp, 0f);
            }
            if (partB != null) {
                pb = GradScratch.task(3, wp);
                Arrays.fill(pb, 0, wp, 0f);
            }
            int r1 = Math.min(rows, (t + 1) * per);
            for (int r = t * per; r < r1; r++) kernel.row((long) r * width, pw, pb);
            if (pw != null) System.arraycopy(pw, 0, partW, t * wp, wp);
            if (pb != null) System.arraycopy(pb, 0, partB, t * wp, wp);
        });
        if (partW != null) reduceInto(partW, tasks, wp, width, dw);
        if (partB != null) reduceInto(partB, tasks, wp, width, db);
    }

    private static void reduceInto(float[] parts, int tasks, int wp, int width, MemorySegment out) {
        for (int j = 0; j < width; j++) {
            float s = 0f;
            for (int t = 0; t < tasks; t++) s += parts[t * wp + j];
            out.setAtIndex(F, j, out.getAtIndex(F, j) + s);
        }
    }

    /**
     * One layer-norm slice of {@code d} values at {@code base} (weights at {@code wOff}); partials indexed by wOff.
     * {@code tmp} holds 2·dPad floats.
     */
    static void layerNormSlice(MemorySegment x, MemorySegment dy, MemorySegment dx, boolean accumulateDx, long base, int d,
                               MemorySegment w, int wOff, boolean offset, float eps, float[] pw, float[] pb, float[] tmp) {
        int dp = (d + LANES - 1) / LANES * LANES;
        float[] xh = tmp, g = tmp;  // xh at [0, dp), g at [dp, 2dp)
        int full = d - d % LANES;
        FloatVector acc = FloatVector.zero(S);
        for (int j = 0; j < full; j += LANES) acc = acc.add(FloatVector.fromMemorySegment(S, x, (base + j) * 4, ORDER));
        float sum = VectorGrads.sum(acc);
        for (int j = full; j < d; j++) sum += x.getAtIndex(F, base + j);
        float mean = sum / d;
        FloatVector sq = FloatVector.zero(S);
        for (int j = 0; j < full; j += LANES) {
            FloatVector c = FloatVector.fromMemorySegment(S, x, (base + j) * 4, ORDER).sub(mean);
            sq = c.fma(c, sq);
        }
        float ss = VectorGrads.sum(sq);
        for (int j = full; j < d; j++) {
            float c = x.getAtIndex(F, base + j) - mean;
            ss += c * c;
        }
        float rho = (float) (1.0 / Math.sqrt(ss / d + eps));
        for (int j = 0; j < d; j++) {
            float xv = (x.getAtIndex(F, base + j) - mean) * rho;
            float gy = dy.getAtIndex(F, base + j);
            float s = w == null ? 1f : (offset ? 1f + w.getAtIndex(F, wOff + j) : w.getAtIndex(F, wOff + j));
            xh[j] = xv;
            g[dp + j] = gy * s;
            if (pw != null) pw[wOff + j] += gy * xv;
            if (pb != null) pb[wOff + j] += gy;
        }
        float mg = 0f, mgx = 0f;
        FloatVector vg = FloatVector.zero(S), vgx = FloatVector.zero(S);
        for (int j = 0; j < full; j += LANES) {
            FloatVector gj = FloatVector.fromArray(S, g, dp + j);
            vg = vg.add(gj);
            vgx = gj.fma(FloatVector.fromArray(S, xh, j), vgx);
        }
        mg = VectorGrads.sum(vg);
        mgx = VectorGrads.sum(vgx);
        for (int j = full; j < d; j++) {
            mg += g[dp + j];
            mgx += g[dp + j] * xh[j];
        }
        mg /= d;
        mgx /= d;
        for (int j = 0; j < full; j += LANES) {
            FloatVector v = FloatVector.fromArray(S, g, dp + j).sub(mg)
                    .sub(FloatVector.fromArray(S, xh, j).mul(mgx)).mul(rho);
            if (accumulateDx) v = v.add(FloatVector.fromMemorySegment(S, dx, (base + j) * 4, ORDER));
            v.intoMemorySegment(dx, (base + j) * 4, ORDER);
        }
        for (int j = full; j < d; j++) {
            float v = rho * (g[dp + j] - mg - xh[j] * mgx);
            dx.setAtIndex(F, base + j, accumulateDx ? dx.getAtIndex(F, base + j) + v : v);
        }
    }

    static void rmsRow(MemorySegment x, MemorySegment dy, MemorySegment dx, boolean accumulateDx, long base, int d,
                       MemorySegment w, float eps, float[] pw, float[] pb, float[] tmp) {
        int full = d - d % LANES;
        FloatVector sq = FloatVector.zero(S);
        for (int j = 0; j < full; j += LANES) {
            FloatVector v = FloatVector.fromMemorySegment(S, x, (base + j) * 4, ORDER);
            sq = v.fma(v, sq);
        }
        float ss = VectorGrads.sum(sq);
        for (int j = full; j < d; j++) {
            float v = x.getAtIndex(F, base + j);
            ss += v * v;
        }
        float rho = (float) (1.0 / Math.sqrt(ss / d + eps));
        float[] g = tmp;
        float gx = 0f;
        for (int j = 0; j < d; j++) {
            float gy = dy.getAtIndex(F, base + j), xv = x.getAtIndex(F, base + j);
            g[j] = gy * (w == null ? 1f : w.getAtIndex(F, j));
            gx += g[j] * xv;
            if (pw != null) pw[j] += gy * xv * rho;
            if (pb != null) pb[j] += gy;
        }
        gx /= d;
        float c = rho * rho * gx;
        for (int j = 0; j < full; j += LANES) {
            FloatVector v = FloatVector.fromArray(S, g, j).sub(FloatVector.fromMemorySegment(S, x, (base + j) * 4, ORDER).mul(c)).mul(rho);
            if (accumulateDx) v = v.add(FloatVector.fromMemorySegment(S, dx, (base + j) * 4, ORDER));
            v.intoMemorySegment(dx, (base + j) * 4, ORDER);
        }
        for (int j = full; j < d; j++) {
            float v = rho * (g[j] - x.getAtIndex(F, base + j) * c);
            dx.setAtIndex(F, base + j, accumulateDx ? dx.getAtIndex(F, base + j) + v : v);
        }
    }
}
