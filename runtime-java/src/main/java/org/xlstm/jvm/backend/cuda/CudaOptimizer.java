package org.xlstm.jvm.backend.cuda;

import java.util.Arrays;
import java.util.List;
import org.xlstm.jvm.cuda.CudaKernel;
import org.xlstm.jvm.tensor.Tensor;

/**
 * The optimizer's and the metrics' device kernels (kernels/src/optim.cu) behind {@link CudaGradOps}'s
 * {@code sumOfSquares}, {@code scale}, {@code adamw} and {@code rowArgmaxAndNll}: with parameters, gradients and
 * moments on the GPU, a training step copies only the loss, the norm's partial sums and (for metrics) two numbers
 * per row back to the host.
 */
final class CudaOptimizer {
    private static final int SUMSQ_BLOCKS = 256;   // also optim.cu's SUMSQ_SLOT

    private final CudaOps ops;
    private Tensor partials;

    CudaOptimizer(CudaOps ops) { this.ops = ops; }

    private static int sumsqBlocks(Tensor x) { return (int) Math.max(1, Math.min(SUMSQ_BLOCKS, (x.size() + 255) / 256)); }

    /** Σ x²: block partial sums on the device (fixed trees), added in block order in double here. */
    synchronized double sumOfSquares(Tensor x) {
        if (partials == null) partials = ops.memory().allocate(SUMSQ_BLOCKS);
        int blocks = sumsqBlocks(x);
        ops.kernel("optim", "xlstm_sumsq_blocks_f32").launch(blocks, 1, 1, 256, 1, 1, 0, ops.stream(),
                ops.input(x), CudaOps.output(partials), x.size());   // (x, partial, n) as the kernel declares them
        float[] p = new float[blocks];
        ops.read(partials, 0, p, 0, blocks);
        double s = 0;
        for (float v : p) s += v;
        return s;
    }

    /**
     * Σ x² of each tensor, each as {@link #sumOfSquares} computes it: one launch, every tensor's block partials in
     * its own slice of one buffer, back in one read (one wait for the device instead of one per tensor).
     */
    synchronized double[] sumsOfSquares(List<Tensor> xs) {
        int n = xs.size();
        if (partials == null || partials.size() < (long) n * SUMSQ_BLOCKS) {
            if (partials != null) ops.memory().release(partials);
            partials = ops.memory().allocate(Math.max(1, n) * SUMSQ_BLOCKS);
        }
        // one launch: tensor t's blocks are those the single-tensor kernel would have (its grid-stride loop over
        // them), its partials at slot t
        int[] blocks = new int[n];
        for (int i = 0; i < n; i++) blocks[i] = sumsqBlocks(xs.get(i));
        launchEach("xlstm_sumsq_each_f32", xs, null, null, null, new float[n], CudaOptimizer::sumsqBlocks,
                CudaOps.output(partials));
        float[] p = new float[n * SUMSQ_BLOCKS];
        if (n > 0) ops.read(partials, 0, p, 0, p.length);
        double[] out = new double[n];
        for (int i = 0; i < n; i++) {
            double s = 0;
            for (int b = 0; b < blocks[i]; b++) s += p[i * SUMSQ_BLOCKS + b];
            out[i] = s;
        }
        return out;
    }

    void scale(Tensor x, float c) {
        ops.kernel("optim", "xlstm_scale_inplace_f32").launch1d(x.size(), ops.stream(), CudaOps.output(x), c, x.size());
    }

    void adamw(Tensor p, Tensor g, Tensor m, Tensor v, float decay, float b1, float omb1, float b2, float omb2,
               float stepSize, float bc2Sqrt, float eps) {
        ops.kernel("optim", "xlstm_adamw_exact_f32").launch1d(p.size(), ops.stream(), CudaOps.output(p), ops.input(g),
                CudaOps.output(m), CudaOps.output(v), decay, b1, omb1, b2, omb2, stepSize, bc2Sqrt, eps, p.size());
    }

    // ------------------------------------------------------------ multi-tensor forms (optim.cu's "_each" kernels)

    private static final int EACH_CHUNK = 4096;   // optim.cu's EACH_CHUNK: elements per block
    private static final int EACH_SLOT_LONGS = 6; // optim.cu's EachSlot: 48 bytes

    /** AdamW of every parameter in one launch; per element the float operations of {@link #adamw}. */
    void adamwEach(List<Tensor> p, List<Tensor> g, List<Tensor> m, List<Tensor> v, float[] decay, float b1,
                   float omb1, float b2, float omb2, float stepSize, float bc2Sqrt, float eps) {
        launchEach("xlstm_adamw_each_f32", p, g, m, v, decay, CudaOptimizer::chunks, b1, omb1, b2, omb2, stepSize,
                bc2Sqrt, eps);
    }

    /** x *= c for every tensor, in one launch. */
    void scaleEach(List<Tensor> xs, float c) {
        launchEach("xlstm_scale_each_f32", xs, null, null, null, same(xs, c), CudaOptimizer::chunks);
    }

    /** x = value for every tensor, in one launch. */
    void fillEach(List<Tensor> xs, float value) {
        launchEach("xlstm_fill_each_f32", xs, null, null, null, same(xs, value), CudaOptimizer::chunks);
    }

    private static int chunks(Tensor x) { return (int) ((x.size() + EACH_CHUNK - 1) / EACH_CHUNK); }

    private static float[] same(List<Tensor> xs, float value) {
        float[] s = new float[xs.size()];
        Arrays.fill(s, value);
        return s;
    }

    /**
     * One launch of a "_each" kernel: slot t is (a[t], b[t], c[t], d[t], a[t]'s length, s[t]), followed by the first
     * block of every tensor (a prefix sum of {@code blocksOf}, {@code count + 1} of them), uploaded in one
     * asynchronous copy on the stream.
     */
    private void launchEach(String kernel, List<Tensor> a, List<Tensor> b, List<Tensor> c, List<Tensor> d, float[] s,
                            java.util.function.ToIntFunction<Tensor> blocksOf, Object... scalars) {
        int count = a.size();
        long[] table = new long[count * EACH_SLOT_LONGS + count + 1];
        long blocks = 0;
        for (int t = 0; t < count; t++) {
            Tensor x = a.get(t);
            int at = t * EACH_SLOT_LONGS;
            table[at] = CudaOps.output(x);
            table[at + 1] = b == null ? 0 : CudaOps.output(b.get(t));
            table[at + 2] = c == null ? 0 : CudaOps.output(c.get(t));
            table[at + 3] = d == null ? 0 : CudaOps.output(d.get(t));
            table[at + 4] = x.size();
            table[at + 5] = Float.floatToRawIntBits(s[t]) & 0xffffffffL;   // s, then 4 bytes of padding
            table[count * EACH_SLOT_LONGS + t] = blocks;
            blocks += blocksOf.applyAsInt(x);
        }
        table[count * EACH_SLOT_LONGS + count] = blocks;
        if (blocks == 0) return;
        int[] words = new int[table.length * 2];   // little-endian halves, as the device reads the 64-bit words
        for (int i = 0; i < table.length; i++) {
            words[2 * i] = (int) table[i];
            words[2 * i + 1] = (int) (table[i] >>> 32);
        }
        Tensor dev = ops.memory().uploadInts(words, ops.stream());
        long slots = DeviceTensors.address(dev), first = slots + (long) count * EACH_SLOT_LONGS * Long.BYTES;
        Object[] args = new Object[3 + scalars.length];
        args[0] = slots;
        args[1] = first;
        args[2] = count;
        System.arraycopy(scalars, 0, args, 3, scalars.length);
        ops.kernel("optim", kernel).launch(Math.toIntExact(blocks), 1, 1, 256, 1, 1, 0, ops.stream(), args);
        ops.memory().release(dev);   // stream-ordered: the next user of this memory runs after the kernel
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
