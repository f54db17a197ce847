package org.xlstm.jvm.backend.cpu;

import static org.xlstm.jvm.backend.cpu.Simd.LANES;
import static org.xlstm.jvm.backend.cpu.Simd.ORDER;
import static org.xlstm.jvm.backend.cpu.Simd.S;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import org.xlstm.jvm.tensor.Tensor;

/**
 * Backward of the depthwise causal convolution y[t] = b + Σ_j w[K−1−j]·x[t−j], vectorised over channels. Each task
 * owns a block of channels and walks every (batch, time) in order, so its weight and bias gradients need no
 * cross-task reduction: dx[t] = Σ_j w[K−1−j]·dy[t+j], dw[K−1−j] += Σ_t dy[t]·x[t−j], db += Σ_t dy[t].
 */
final class ConvBackward {
    private ConvBackward() {}

    private static final ValueLayout.OfFloat F = ValueLayout.JAVA_FLOAT;

    static void run(Tensor x, Tensor w, Tensor dy, Tensor dx, Tensor dw, Tensor db) {
        int batch = x.dim(0), s = x.dim(1), f = x.dim(2), k = w.dim(1);
        MemorySegment xs = x.segment(), ys = dy.segment(), ws = w.segment(), dxs = dx == null ? null : dx.segment();
        int blocks = (f + LANES - 1) / LANES;
        Parallel.forEach(blocks, (long) batch * s * f * k * 2, blk -> {
            int c = blk * LANES, lanes = Math.min(LANES, f - c);
            VectorMask<Float> m = lanes == LANES ? null : S.indexInRange(0, lanes);
            float[] taps = GradScratch.task(4, k * LANES);
            for (int j = 0; j < k; j++)
                for (int l = 0; l < lanes; l++) taps[j * LANES + l] = ws.getAtIndex(F, (long) (c + l) * k + j);
            float[] gw = GradScratch.task(5, k * LANES);
            java.util.Arrays.fill(gw, 0, k * LANES, 0f);
            FloatVector gb = FloatVector.zero(S);
            for (int b = 0; b < batch; b++)
                for (int t = 0; t < s; t++) {
                    long row = ((long) b * s + t) * f + c;
                    FloatVector g = load(ys, row, m);
                    gb = gb.add(g);
                    for (int j = 0; j < k && j <= t; j++) {
                        FloatVector xv = load(xs, row - (long) j * f, m);
                        int tap = (k - 1 - j) * LANES;
                        g.fma(xv, FloatVector.fromArray(S, gw, tap)).intoArray(gw, tap);
                    }
                    if (dxs != null) {
                        FloatVector acc = FloatVector.zero(S);
                        for (int j = 0; j < k && t + j < s; j++)
                            acc = FloatVector.fromArray(S, taps, (k - 1 - j) * LANES).fma(load(ys, row + (long) j * f, m), acc);
                        long off = row * 4;
                        if (m == null) acc.intoMemorySegment(dxs, off, ORDER);
                        else acc.intoMemorySegment(dxs, off, ORDER, m);
                    }
                }
            if (dw != null) {
                MemorySegment d = dw.segment();
                for (int j = 0; j < k; j++)
                    for (int l = 0; l < lanes; l++) {
                        long i = (long) (c + l) * k + j;
                        d.setAtIndex(F, i, d.getAtIndex(F, i) + gw[j * LANES + l]);
                    }
            }
            if (db != null) {
                MemorySegment d = db.segment();
                for (int l = 0; l < lanes; l++) d.setAtIndex(F, c + l, d.getAtIndex(F, c + l) + gb.lane(l));
            }
        });
    }

    private static FloatVector load(MemorySegment seg, long index, VectorMask<Float> m) {
        return m == null ? FloatVector.fromMemorySegment(S, seg, index * 4, ORDER)
                : FloatVector.fromMemorySegment(S, seg, index * 4, ORDER, m);
    }
}
