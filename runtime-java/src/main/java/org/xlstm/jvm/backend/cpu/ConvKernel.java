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
 * Depthwise causal convolution, vectorised over channels. The (F, K) weight is transposed once to (K, F) so each
 * tap is a contiguous vector. Tasks are (batch, block of time steps); the carried window is read by all of them and
 * rewritten only after they finish.
 */
final class ConvKernel {
    private ConvKernel() {}

    private static final ValueLayout.OfFloat F = ValueLayout.JAVA_FLOAT;
    private static final int TIME_BLOCK = 32;

    private record Packed(int f, int k, int fPad, float[] taps) {}

    private static Packed pack(Tensor w) {
        if (w.backendCache() instanceof Packed p) return p;
        int f = w.dim(0), k = w.dim(1), fPad = (f + LANES - 1) / LANES * LANES;
        float[] taps = new float[k * fPad];
        for (int c = 0; c < f; c++)
            for (int j = 0; j < k; j++) taps[j * fPad + c] = w.segment().getAtIndex(F, (long) c * k + j);
        Packed p = new Packed(f, k, fPad, taps);
        w.backendCache(p);
        return p;
    }

    static void run(Tensor x, Tensor w, Tensor bias, Tensor window, Tensor y) {
        Packed p = pack(w);
        int batch = x.dim(0), s = x.dim(1), f = p.f, k = p.k, pad = k - 1;
        MemorySegment xs = x.segment(), ys = y.segment(), bs = bias == null ? null : bias.segment(),
                wins = window == null ? null : window.segment();
        int blocks = (s + TIME_BLOCK - 1) / TIME_BLOCK;
        Parallel.forEach(batch * blocks, (long) batch * s * f * k, task -> {
            int b = task / blocks, t0 = (task % blocks) * TIME_BLOCK, t1 = Math.min(s, t0 + TIME_BLOCK);
            for (int t = t0; t < t1; t++) {
                for (int c = 0; c < f; c += LANES) {
                    int lanes = Math.min(LANES, f - c);
                    VectorMask<Float> m = lanes == LANES ? null : S.indexInRange(0, lanes);
                    FloatVector acc = bs == null ? FloatVector.zero(S) : load(bs, c, m);
                    for (int j = 0; j < k; j++) {
                        int src = t - j;
                        FloatVector xv;
                        if (src >= 0) xv = load(xs, ((long) b * s + src) * f + c, m);
                        else if (wins != null) xv = load(wins, ((long) b * pad + pad + src) * f + c, m);
                        else continue;
                        acc = FloatVector.fromArray(S, p.taps, (k - 1 - j) * p.fPad + c).fma(xv, acc);
                    }
                    long off = (((long) b * s + t) * f + c) * 4;
                    if (m == null) acc.intoMemorySegment(ys, off, ORDER);
                    else acc.intoMemorySegment(ys, off, ORDER, m);
                }
            }
        });
        if (wins != null && pad > 0) {
            for (int b = 0; b < batch; b++)
                for (int j = 0; j < pad; j++) {
                    int src = s - pad + j;
                    long dst = ((long) b * pad + j) * f * 4;
                    if (src >= 0) MemorySegment.copy(xs, ((long) b * s + src) * f * 4, wins, dst, (long) f * 4);
                    else MemorySegment.copy(wins, ((long) b * pad + pad + src) * f * 4, wins, dst, (long) f * 4);
                }
        }
    }

    private static FloatVector load(MemorySegment seg, long index, VectorMask<Float> m) {
        return m == null ? FloatVector.fromMemorySegment(S, seg, index * 4, ORDER)
                : FloatVector.fromMemorySegment(S, seg, index * 4, ORDER, m);
    }
}
