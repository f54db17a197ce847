package org.xlstm.jvm.backend.cpu;

import static org.xlstm.jvm.backend.cpu.Simd.LANES;
import static org.xlstm.jvm.backend.cpu.Simd.ORDER;
import static org.xlstm.jvm.backend.cpu.Simd.S;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;

/** Row normalisations on one slice of {@code d} floats; full vectors then a scalar tail. */
final class Norms {
    private Norms() {}

    private static final ValueLayout.OfFloat F = ValueLayout.JAVA_FLOAT;

    /** Layer norm of x[base, base+d) into y; scale (1+w) or w from w[wOff..], optional bias b[wOff..]. */
    static void layerNorm(MemorySegment x, MemorySegment y, long base, int d, MemorySegment w, int wOff,
                          MemorySegment b, float eps, boolean offset) {
        int full = d - d % LANES;
        FloatVector acc = FloatVector.zero(S);
        for (int j = 0; j < full; j += LANES) acc = acc.add(FloatVector.fromMemorySegment(S, x, (base + j) * 4, ORDER));
        float sum = acc.reduceLanes(VectorOperators.ADD);
        for (int j = full; j < d; j++) sum += x.getAtIndex(F, base + j);
        float mean = sum / d;
        // two passes: the centred sum of squares does not cancel the way E[x²] − mean² would
        FloatVector sq = FloatVector.zero(S);
        for (int j = 0; j < full; j += LANES) {
            FloatVector c = FloatVector.fromMemorySegment(S, x, (base + j) * 4, ORDER).sub(mean);
            sq = c.fma(c, sq);
        }
        float ss = sq.reduceLanes(VectorOperators.ADD);
        for (int j = full; j < d; j++) {
            float c = x.getAtIndex(F, base + j) - mean;
            ss += c * c;
        }
        float inv = (float) (1.0 / Math.sqrt(ss / d + eps));
        for (int j = 0; j < full; j += LANES) {
            FloatVector v = FloatVector.fromMemorySegment(S, x, (base + j) * 4, ORDER).sub(mean).mul(inv);
            if (w != null) {
                FloatVector s = FloatVector.fromMemorySegment(S, w, (long) (wOff + j) * 4, ORDER);
                v = v.mul(offset ? s.add(1f) : s);
            }
            if (b != null) v = v.add(FloatVector.fromMemorySegment(S, b, (long) (wOff + j) * 4, ORDER));
            v.intoMemorySegment(y, (base + j) * 4, ORDER);
        }
        for (int j = full; j < d; j++) {
            float v = (x.getAtIndex(F, base + j) - mean) * inv;
            if (w != null) {
                float s = w.getAtIndex(F, wOff + j);
                v *= offset ? 1f + s : s;
            }
            if (b != null) v += b.getAtIndex(F, wOff + j);
            y.setAtIndex(F, base + j, v);
        }
    }

    static void rmsNorm(MemorySegment x, MemorySegment y, long base, int d, MemorySegment w, float eps) {
        int full = d - d % LANES;
        FloatVector sq = FloatVector.zero(S);
        for (int j = 0; j < full; j += LANES) {
            FloatVector v = FloatVector.fromMemorySegment(S, x, (base + j) * 4, ORDER);
            sq = v.fma(v, sq);
        }
        float ss = sq.reduceLanes(VectorOperators.ADD);
        for (int j = full; j < d; j++) {
            float v = x.getAtIndex(F, base + j);
            ss += v * v;
        }
        float inv = (float) (1.0 / Math.sqrt(ss / d + eps));
        for (int j = 0; j < full; j += LANES) {
            FloatVector v = FloatVector.fromMemorySegment(S, x, (base + j) * 4, ORDER).mul(inv);
            if (w != null) v = v.mul(FloatVector.fromMemorySegment(S, w, (long) j * 4, ORDER));
            v.intoMemorySegment(y, (base + j) * 4, ORDER);
        }
        for (int j = full; j < d; j++) {
            float v = x.getAtIndex(F, base + j) * inv;
            if (w != null) v *= w.getAtIndex(F, j);
            y.setAtIndex(F, base + j, v);
        }
    }
}
