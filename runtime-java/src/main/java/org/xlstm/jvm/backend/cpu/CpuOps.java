package org.xlstm.jvm.backend.cpu;

import static org.xlstm.jvm.backend.cpu.Simd.LANES;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import org.xlstm.jvm.backend.MlstmShapes;
import org.xlstm.jvm.backend.OpChecks;
import org.xlstm.jvm.backend.Ops;
import org.xlstm.jvm.config.Activation;
import org.xlstm.jvm.tensor.Tensor;

/**
 * The fast CPU backend: Vector API kernels (the machine's widest float vectors), a packed cache-blocked matrix
 * product, and work split over all cores by {@link Parallel}, deterministically (each output owned by one task).
 * Weights given to {@link #linear}, {@link #linearHeadwise} and {@link #causalConv1d} are repacked once and the
 * packed copy cached on the weight tensor (see {@link Tensor#backendCache()}): they must not change afterwards,
 * or the caller clears the cache.
 */
public final class CpuOps implements Ops {
    private static final ValueLayout.OfFloat F = ValueLayout.JAVA_FLOAT;
    /** Elementwise loops are split into pieces of this many floats when large. */
    private static final int PIECE = 1 << 14;

    @Override
    public String name() { return "cpu (" + Parallel.threads() + " threads, " + LANES + "-lane vectors)"; }

    // ---------------------------------------------------------------- dense algebra

    @Override
    public void linear(Tensor x, Tensor w, Tensor b, Tensor y) {
        OpChecks.linear(x, w, b, y);
        PackedMatrix p = packedOutIn(w);
        Gemm.multiply(x.segment(), x.rows(), x.cols(), p, b == null ? null : b.segment(), y.segment(), y.cols());
    }

    private static PackedMatrix packedOutIn(Tensor w) {
        if (w.backendCache() instanceof PackedMatrix p && p.n == w.dim(0) && p.k == w.dim(1)) return p;
        PackedMatrix p = PackedMatrix.fromOutIn(w.segment(), w.dim(0), w.dim(1));
        w.backendCache(p);
        return p;
    }

    @Override
    public void matmul(Tensor a, Tensor b, Tensor c) {
        OpChecks.matmul(a, b, c);
        PackedMatrix p = PackedMatrix.fromKn(b.segment(), b.dim(0), b.dim(1));
        Gemm.multiply(a.segment(), a.dim(0), a.dim(1), p, null, c.segment(), c.dim(1));
    }

    @Override
    public void linearHeadwise(Tensor x, Tensor w, Tensor b, Tensor y) {
        OpChecks.linearHeadwise(x, w, b, y);
        HeadwiseKernel.run(x, w, b, y);
    }

    @Override
    public void embedding(int[] tokens, Tensor table, Tensor y) {
        OpChecks.embedding(tokens, table, y);
        long rowBytes = (long) table.dim(1) * 4;
        for (int r = 0; r < tokens.length; r++)
            MemorySegment.copy(table.segment(), tokens[r] * rowBytes, y.segment(), r * rowBytes, rowBytes);
    }

    // ---------------------------------------------------------------- normalisation

    @Override
    public void layerNorm(Tensor x, Tensor w, Tensor b, float eps, boolean offset, Tensor y) {
        OpChecks.sameShape("layerNorm", x, y);
        int d = x.cols(), rows = x.rows();
        rowsInParallel(rows, d, r -> Norms.layerNorm(x.segment(), y.segment(), (long) r * d, d,
                w == null ? null : w.segment(), 0, b == null ? null : b.segment(), eps, offset));
    }

    @Override
    public void rmsNorm(Tensor x, Tensor w, Tensor b, float eps, Tensor y) {
        OpChecks.sameShape("rmsNorm", x, y);
        int d = x.cols(), rows = x.rows();
        rowsInParallel(rows, d, r -> Norms.rmsNorm(x.segment(), y.segment(), (long) r * d, d,
                w == null ? null : w.segment(), b == null ? null : b.segment(), eps));
    }

    @Override
    public void headLayerNorm(Tensor x, int heads, Tensor w, Tensor b, float eps, boolean offset, Tensor y) {
        OpChecks.sameShape("headLayerNorm", x, y);
        int d = x.cols(), rows = x.rows(), dh = d / heads;
        if (dh * heads != d) throw new IllegalArgumentException("headLayerNorm: " + d + " channels not divisible by " + heads + " heads");
        rowsInParallel(rows, d, r -> {
            for (int h = 0; h < heads; h++)
                Norms.layerNorm(x.segment(), y.segment(), (long) r * d + (long) h * dh, dh,
                        w == null ? null : w.segment(), h * dh, b == null ? null : b.segment(), eps, offset);
        });
    }

    private static void rowsInParallel(int rows, int width, java.util.function.IntConsumer body) {
        int per = Math.max(1, PIECE / Math.max(1, width));
        int tasks = (rows + per - 1) / per;
        Parallel.forEach(tasks, (long) rows * width * 4, t -> {
            int r1 = Math.min(rows, (t + 1) * per);
            for (int r = t * per; r < r1; r++) body.accept(r);
        });
    }

    // ---------------------------------------------------------------- elementwise

    private interface Piece {
        void run(long from, long to);
    }

    /** Splits [0, size) into vector-aligned pieces, in parallel when large. */
    private static void pieces(long size, Piece body) {
        int tasks = (int) ((size + PIECE - 1) / PIECE);
        Parallel.forEach(tasks, size * 8, t -> body.run((long) t * PIECE, Math.min(size, (long) (t + 1) * PIECE)));
    }

    @Override
    public void activation(Activation act, Tensor x, Tensor y) {
        OpChecks.sameShape("activation", x, y);
        MemorySegment xs = x.segment(), ys = y.segment();
        if (singlePiece(x.size())) Elementwise.activation(act, xs, ys, 0, x.size());
        else pieces(x.size(), (from, to) -> Elementwise.activation(act, xs, ys, from, to));
    }

    @Override
    public void mulActivated(Tensor x, Activation act, Tensor g, Tensor y) {
        OpChecks.sameShape("mulActivated", x, g);
        OpChecks.sameShape("mulActivated", x, y);
        MemorySegment xs = x.segment(), gs = g.segment(), ys = y.segment();
        if (singlePiece(x.size())) Elementwise.mulActivated(xs, act, gs, ys, 0, x.size());
        else pieces(x.size(), (from, to) -> Elementwise.mulActivated(xs, act, gs, ys, from, to));
    }

    @Override
    public void add(Tensor a, Tensor b, Tensor y) {
        OpChecks.sameShape("add", a, b);
        OpChecks.sameShape("add", a, y);
        MemorySegment as = a.segment(), bs = b.segment(), ys = y.segment();
        if (singlePiece(a.size())) Elementwise.add(as, bs, ys, 0, a.size());
        else pieces(a.size(), (from, to) -> Elementwise.add(as, bs, ys, from, to));
    }

    @Override
    public void addScaled(Tensor a, Tensor w, Tensor b, Tensor y) {
        OpChecks.addScaled(a, w, b, y);
        int c = a.cols();
        MemorySegment as = a.segment(), ws = w.segment(), bs = b.segment(), ys = y.segment();
        if (singlePiece(a.size())) {
            for (int r = 0; r < a.rows(); r++) Elementwise.addScaledRow(as, ws, bs, ys, (long) r * c, c);
        } else {
            rowsInParallel(a.rows(), c, r -> Elementwise.addScaledRow(as, ws, bs, ys, (long) r * c, c));
        }
    }

    @Override
    public void softCap(Tensor x, float cap, Tensor y) {
        OpChecks.sameShape("softCap", x, y);
        MemorySegment xs = x.segment(), ys = y.segment();
        if (singlePiece(x.size())) Elementwise.softCap(xs, cap, ys, 0, x.size());
        else pieces(x.size(), (from, to) -> Elementwise.softCap(xs, cap, ys, from, to));
    }

    /** Small enough to run on the calling thread without building a task (generation steps). */
    private static boolean singlePiece(long size) { return !Parallel.worthSplitting(2, size * 8); }

    @Override
    public void concatColumns(Tensor[] parts, Tensor y) {
        OpChecks.concat(parts, y);
        int rows = y.rows(), total = y.cols();
        for (int r = 0; r < rows; r++) {
            int off = 0;
            for (Tensor p : parts) {
                int c = p.cols();
                MemorySegment.copy(p.segment(), (long) r * c * 4, y.segment(), ((long) r * total + off) * 4, (long) c * 4);
                off += c;
            }
        }
    }

    // ---------------------------------------------------------------- sequence mixing

    @Override
    public void causalConv1d(Tensor x, Tensor w, Tensor bias, Tensor window, Tensor y) {
        OpChecks.conv(x, w, bias, window, y);
        ConvKernel.run(x, w, bias, window, y);
    }

    @Override
    public void mlstmParallel(Tensor q, Tensor k, Tensor v, Tensor i, Tensor f, float eps, Tensor h) {
        MlstmShapes sh = MlstmShapes.of(q, k, v, i, f, h, null, null, null);
        // The parallel form is the chunkwise form with one chunk spanning the sequence, started from m = −∞.
        MlstmKernels.chunkwise(sh, q, k, v, i, f, null, null, null, Math.max(1, sh.seq()), eps, h);
    }

    @Override
    public void mlstmChunkwise(Tensor q, Tensor k, Tensor v, Tensor i, Tensor f, Tensor c, Tensor n, Tensor m,
                               int chunkSize, float eps, Tensor h) {
        MlstmShapes sh = MlstmShapes.of(q, k, v, i, f, h, c, n, m);
        if (chunkSize <= 0) throw new IllegalArgumentException("chunk size must be positive; got " + chunkSize);
        MlstmKernels.chunkwise(sh, q, k, v, i, f, c, n, m, chunkSize, eps, h);
    }

    @Override
    public void mlstmRecurrent(Tensor q, Tensor k, Tensor v, Tensor i, Tensor f, Tensor c, Tensor n, Tensor m,
                               float eps, Tensor h) {
        MlstmShapes sh = MlstmShapes.of(q, k, v, i, f, h, c, n, m);
        MlstmKernels.recurrent(sh, q, k, v, i, f, c, n, m, eps, h);
    }

    @Override
    public void slstmRecurrent(Tensor xi, Tensor xf, Tensor xz, Tensor xo, Tensor r, Tensor bias,
                               Tensor h, Tensor c, Tensor n, Tensor m, Tensor y) {
        OpChecks.slstm(xi, xf, xz, xo, r, bias, h, c, n, m, y);
        SlstmKernel.run(xi, xf, xz, xo, r, bias, h, c, n, m, y);
    }

}
