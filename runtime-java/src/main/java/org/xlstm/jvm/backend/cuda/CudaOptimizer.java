package org.xlstm.jvm.backend.cuda;

import org.xlstm.jvm.tensor.Tensor;

/**
 * The optimizer's and the metrics' device kernels (kernels/src/optim.cu) behind {@link CudaGradOps}'s
 * {@code sumOfSquares}, {@code scale}, {@code adamw} and {@code rowArgmaxAndNll}: with parameters, gradients and
 * moments on the GPU, a training step copies only the loss, the norm's partial sums and (for metrics) two numbers
 * per row back to the host.
 */
final class CudaOptimizer {
    private static final int SUMSQ_BLOCKS = 256;

    private final CudaOps ops;
    private Tensor partials;

    CudaOptimizer(CudaOps ops) { this.ops = ops; }

    /** Σ x²: block partial sums on the device (fixed trees), added in block order in double here. */
    synchronized double sumOfSquares(Tensor x) {
        if (partials == null) partials = ops.memory().allocate(SUMSQ_BLOCKS);
        int blocks = (int) Math.max(1, Math.min(SUMSQ_BLOCKS, (x.size() + 255) / 256));
        ops.kernel("optim", "xlstm_sumsq_blocks_f32").launch(blocks, 1, 1, 256, 1, 1, 0, ops.stream(),
                ops.input(x), CudaOps.output(partials), x.size());   // (x, partial, n) as the kernel declares them
        float[] p = new float[blocks];
        ops.read(partials, 0, p, 0, blocks);
        double s = 0;
        for (float v : p) s += v;
        return s;
    }

    void scale(Tensor x, float c) {
        ops.kernel("optim", "xlstm_scale_inplace_f32").launch1d(x.size(), ops.stream(), CudaOps.output(x), c, x.size());
    }

    void adamw(Tensor p, Tensor g, Tensor m, Tensor v, float decay, float b1, float omb1, float b2, float omb2,
               float stepSize, float bc2Sqrt, float eps) {
        ops.kernel("optim", "xlstm_adamw_exact_f32").launch1d(p.size(), ops.stream(), CudaOps.output(p), ops.input(g),
                CudaOps.output(m), CudaOps.output(v), decay, b1, omb1, b2, omb2, stepSize, bc2Sqrt, eps, p.size());
    }

    void rowArgmaxAndNll(Tensor logits, int[] targets, int[] argmax, double[] nll) {
        int v = logits.dim(-1);
        int rows = Math.toIntExact(logits.size() / v);
        if (targets.length < rows) throw new IllegalArgumentException(rows + " rows of logits, " + targets.length + " targets");
        for (int r = 0; r < rows; r++)
            if (targets[r] >= v)
                throw new IllegalArgumentException("target " + targets[r] + " of row " + r + " is outside the vocabulary [0, " + v + ")");
        boolean anyScored = false;
        for (int r = 0; r < rows && !anyScored; r++) anyScored = targets[r] >= 0;
        // no scored row (greedy decoding): no targets to upload, the kernel only finds the arg-max
        Tensor t = anyScored ? ops.memory().uploadInts(java.util.Arrays.copyOf(targets, rows), ops.stream()) : null;
        Tensor both = ops.memory().allocate(2 * rows);   // arg-max bits, then nll: one read back
        long am = CudaOps.output(both);
        ops.kernel("optim", "xlstm_row_argmax_nll_f32").launch(rows, 1, 1, 1024, 1, 1, 0, ops.stream(), CudaOps.output(logits),
                t == null ? 0L : CudaOps.output(t), am, am + (long) rows * Float.BYTES, v);
        float[] a = new float[2 * rows];
        ops.read(both, 0, a, 0, 2 * rows);
        for (int r = 0; r < rows; r++) {
            argmax[r] = Float.floatToRawIntBits(a[r]);   // int bits, read as floats
            nll[r] = a[rows + r];
        }
        if (t != null) ops.memory().release(t);
        ops.memory().release(both);
    }
}
