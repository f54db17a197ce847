package org.xlstm.jvm.backend.cuda;

import java.util.Arrays;
import org.xlstm.jvm.backend.GradChecks;
import org.xlstm.jvm.backend.GradOps;
import org.xlstm.jvm.backend.OpChecks;
import org.xlstm.jvm.backend.Ops;
import org.xlstm.jvm.config.Activation;
import org.xlstm.jvm.cuda.CudaKernel;
import org.xlstm.jvm.cuda.Cublas;
import org.xlstm.jvm.tensor.Shapes;
import org.xlstm.jvm.tensor.Tensor;

/**
 * The CUDA backward pass: every {@link GradOps} method as our kernels (kernels/src/grad.cu, the cross-entropy in
 * train.cu) or cuBLAS, on the stream, memory and precision of the {@link CudaOps} it belongs to.
 *
 * <p>Matrix products follow the forward's {@link CudaOps.Precision}: BF16 rounds both factors to bfloat16 (the
 * weight through its cached copy), TF32 lets the tensor cores round to tf32, FP32 is exact; accumulation and
 * outputs are float32 always, and parameter gradients are added by cuBLAS itself (beta = 1). Every reduction over
 * rows (bias, norm weights, conv weights, skip scales) is a fixed two-stage column sum, and the embedding's
 * scatter-add runs per distinct token in position order: results are bit-identical run to run.
 */
public final class CudaGradOps implements GradOps {
    private static final int NORM_THREADS = 256;
    /** Bytes of dynamic shared memory the cross-entropy kernels take before the cached row (train.cu's CE_SCRATCH). */
    private static final int CE_SCRATCH = 256;

    private final CudaOps ops;
    private final CudaOptimizer optimizer;
    /** Per cached cross-entropy kernel: the largest dynamic shared memory granted and the smallest refused (bytes). */
    private final java.util.Map<CudaKernel, int[]> ceShared = new java.util.HashMap<>();

    /**
     * Which backward the recurrent cells use. mLSTM: {@code auto} (default) runs the tensor-core kernels
     * (CudaMlstmBackwardTensorCores: bf16 products, stabilisers as constants, like the official chunkwise kernels)
     * in the BF16 precision and the float32 kernel {@code seq} (CudaMlstmBackwardSeq: the CPU engine's algorithm,
     * stabilisers differentiated as computed; every fixture gradient passes with it) otherwise; {@code tc} and
     * {@code seq} force one of them, {@code host} the CPU engine. sLSTM: {@code fused} (default: CudaSlstmBackward,
     * one launch per layer call, checked against the reference and the CPU engine on an H100) or {@code host} (the
     * CPU engine). Set with -Dxlstm.cuda.mlstmBackward / -Dxlstm.cuda.slstmBackward.
     */
    private static final String MLSTM_BACKWARD = System.getProperty("xlstm.cuda.mlstmBackward", "auto"),
            SLSTM_BACKWARD = System.getProperty("xlstm.cuda.slstmBackward", "fused");

    CudaGradOps(CudaOps ops) {
        this.ops = ops;
        this.optimizer = new CudaOptimizer(ops);
    }

    @Override
    public String name() { return ops.name(); }

    private CudaKernel k(String fn) { return ops.kernel("grad", fn); }

    private long in(Tensor t) { return ops.input(t); }

    private static long out(Tensor t) { return CudaOps.output(t); }

    private Tensor scratch(long n) { return ops.memory().allocate(Math.toIntExact(Math.max(1, n))); }

    private void release(Tensor t) {
        if (t != null) ops.memory().release(t);
    }

    private boolean bf16() { return ops.precision() == CudaOps.Precision.BF16; }

    /** cuBLAS compute type for float32 factors. */
    private int compute() { return ops.tf32() ? Cublas.COMPUTE_32F_FAST_TF32 : Cublas.COMPUTE_32F; }

    private static void sizeOrNull(String op, String what, Tensor t, long size) {
        if (t != null && t.size() != size)
            throw new IllegalArgumentException(op + ": " + what + " " + Shapes.format(t.shape()) + " must hold " + size + " values");
    }

    // ---------------------------------------------------------------- dense algebra

    @Override
    public void linearBackward(Tensor x, Tensor w, Tensor dy, Tensor dx, boolean accumulateDx, Tensor dw, Tensor db) {
        OpChecks.linear(x, w, db, dy);
        GradChecks.sameOrNull("linearBackward", "dx", x, dx);
        GradChecks.sameOrNull("linearBackward", "dw", w, dw);
        int rows = x.rows(), in = w.dim(1), out = w.dim(0);
        Cublas blas = ops.blas();
        if (bf16() && (dx != null || dw != null)) {
            Tensor dyb = ops.scratchBf16(dy);   // rounded once, used by both products
            long dyh = DeviceTensors.address(dyb);
            // dx[R, in] (+)= dy[R, out]·W[out, in]
            if (dx != null)
                blas.gemm(false, false, rows, in, out, dyh, Cublas.R_16BF, out, ops.weightBf16(w), Cublas.R_16BF, in,
                        out(dx), in, accumulateDx, Cublas.COMPUTE_32F);
            // dw[out, in] += dyᵀ·x
            if (dw != null) {
                Tensor xb = ops.scratchBf16(x);
                blas.gemm(true, false, out, in, rows, dyh, Cublas.R_16BF, out, DeviceTensors.address(xb), Cublas.R_16BF, in,
                        out(dw), in, true, Cublas.COMPUTE_32F);
                release(xb);
            }
            release(dyb);
        } else {
            if (dx != null)
                blas.gemm(false, false, rows, in, out, in(dy), Cublas.R_32F, out, in(w), Cublas.R_32F, in, out(dx), in,
                        accumulateDx, compute());
            if (dw != null)
                blas.gemm(true, false, out, in, rows, in(dy), Cublas.R_32F, out, in(x), Cublas.R_32F, in, out(dw), in, true,
                        compute());
        }
        if (db != null) columnSums(0, in(dy), 0, 0, 0, rows, out, 1, out, db, null);
    }

    /** As the forward {@link CudaOps#matmul}: float32 factors (tf32 when allowed), never bf16. */
    @Override
    public void matmulBackward(Tensor a, Tensor b, Tensor dc, Tensor da, Tensor db) {
        OpChecks.matmul(a, b, dc);
        GradChecks.sameOrNull("matmulBackward", "da", a, da);
        GradChecks.sameOrNull("matmulBackward", "db", b, db);
        int m = a.dim(0), k = a.dim(1), n = b.dim(1);
        Cublas blas = ops.blas();
        // da[m, k] += dc[m, n]·bᵀ (b stored [k, n])
        if (da != null)
            blas.gemm(false, true, m, k, n, in(dc), Cublas.R_32F, n, in(b), Cublas.R_32F, n, out(da), k, true, compute());
        // db[k, n] += aᵀ·dc (a stored [m, k])
        if (db != null)
            blas.gemm(true, false, k, n, m, in(a), Cublas.R_32F, k, in(dc), Cublas.R_32F, n, out(db), n, true, compute());
    }

    /**
     * Per head h, with the heads as column blocks (see {@link Cublas#headwiseABt}): dx_h[R, in] (+)= dy_h[R, out]·W_h,
     * dw_h[out, in] += dy_hᵀ·x_h, each one strided-batched call over the heads.
     */
    @Override
    public void linearHeadwiseBackward(Tensor x, Tensor w, Tensor dy, Tensor dx, boolean accumulateDx, Tensor dw, Tensor db) {
        OpChecks.linearHeadwise(x, w, db, dy);
        GradChecks.sameOrNull("linearHeadwiseBackward", "dx", x, dx);
        GradChecks.sameOrNull("linearHeadwiseBackward", "dw", w, dw);
        int heads = w.dim(0), outF = w.dim(1), inF = w.dim(2), rows = x.rows();
        Cublas blas = ops.blas();
        long wStride = (long) outF * inF;
        if (dx != null || dw != null) {
            boolean half = bf16();
            int type = half ? Cublas.R_16BF : Cublas.R_32F, comp = half ? Cublas.COMPUTE_32F : compute();
            Tensor dyb = half ? ops.scratchBf16(dy) : null;
            long dyA = half ? DeviceTensors.address(dyb) : in(dy);
            if (dx != null)
                blas.gemmStridedBatched(false, false, rows, inF, outF, dyA, type, heads * outF, outF,
                        half ? ops.weightBf16(w) : in(w), type, inF, wStride, out(dx), heads * inF, inF, heads, accumulateDx, comp);
            if (dw != null) {
                Tensor xb = half ? ops.scratchBf16(x) : null;
                blas.gemmStridedBatched(true, false, outF, inF, rows, dyA, type, heads * outF, outF,
                        half ? DeviceTensors.address(xb) : in(x), type, heads * inF, inF, out(dw), inF, wStride, heads, true, comp);
                release(xb);
            }
            release(dyb);
        }
        if (db != null) columnSums(0, in(dy), 0, 0, 0, rows, heads * outF, 1, heads * outF, db, null);
    }

    /**
     * Deterministic scatter-add: the positions sorted by token here (stable), uploaded as CSR, one block per distinct
     * token adding its rows in position order, as the CPU does.
     */
    @Override
    public void embeddingBackward(int[] tokens, Tensor dy, Tensor dTable) {
        OpChecks.embedding(tokens, dTable, dy);
        int n = tokens.length, d = dTable.dim(1);
        if (n == 0 || d == 0) return;
        int[] csr = tokenGroups(tokens);
        int u = (csr.length - 1 - n) / 2;
        Tensor dev = ops.memory().uploadInts(csr, ops.stream());
        int threads = Math.min(256, roundUp32(d));
        k("xlstm_embedding_backward_f32").launch(u, (d + threads - 1) / threads, 1, threads, 1, 1, 0, ops.stream(),
                out(dTable), in(dy), DeviceTensors.address(dev), u, d);
        release(dev);
    }

    /**
     * The positions of {@code tokens} grouped by token, as grad.cu's xlstm_embedding_backward_f32 reads them:
     * {@code [U distinct tokens, ascending | U + 1 offsets into the positions | the positions, grouped, each group
     * ascending]}. Tokens must be non-negative.
     */
    static int[] tokenGroups(int[] tokens) {
        int n = tokens.length;
        long[] keys = new long[n];
        for (int r = 0; r < n; r++) keys[r] = ((long) tokens[r] << 32) | r;   // sorts by token, then position
        Arrays.sort(keys);
        int u = n == 0 ? 0 : 1;
        for (int i = 1; i < n; i++) if ((keys[i] >>> 32) != (keys[i - 1] >>> 32)) u++;
        int[] csr = new int[2 * u + 1 + n];
        int g = -1;
        for (int i = 0; i < n; i++) {
            int tok = (int) (keys[i] >>> 32);
            if (i == 0 || tok != (int) (keys[i - 1] >>> 32)) {
                g++;
                csr[g] = tok;
                csr[u + g] = i;
            }
            csr[2 * u + 1 + i] = (int) keys[i];
        }
        csr[2 * u] = n;
        return csr;
    }

    private static int roundUp32(int n) { return Math.max(32, (n + 31) / 32 * 32); }

    // ---------------------------------------------------------------- column sums

    /** Rows per chunk of the two-stage column sums: fixed by the row count alone (determinism), at most 512 chunks. */
    private static int rowsPerChunk(long rows) { return (int) Math.max(128, (rows + 511) / 512); }

    /**
     * {@code out1[c] += Σ_r f(r, c)} and {@code out2[c] += Σ_r a[r, c]} (when out2 is not null) over a [rows, cols]
     * matrix a, f as the mode of grad.cu's xlstm_colsum_partial_f32 (0: a, 1: a·b, 2: a·(b − mean)·rstd, 3: a·b·rstd).
     */
    private void columnSums(int mode, long a, long b, long mean, long rstd, long rows, int cols, int statsPerRow,
                            int statWidth, Tensor out1, Tensor out2) {
        if (rows == 0 || cols == 0) return;
        int per = rowsPerChunk(rows), chunks = (int) ((rows + per - 1) / per);
        Tensor p1 = scratch((long) chunks * cols), p2 = out2 == null ? null : scratch((long) chunks * cols);
        k("xlstm_colsum_partial_f32").launch((cols + 31) / 32, chunks, 1, 256, 1, 1, 0, ops.stream(), out(p1),
                p2 == null ? 0L : out(p2), a, b, mean, rstd, rows, cols, per, mode, statsPerRow, statWidth);
        finish(out1, p1, chunks, cols);
        if (p2 != null) finish(out2, p2, chunks, cols);
        release(p1);
        release(p2);
    }

    private void finish(Tensor outT, Tensor partial, int chunks, long cols) {
        k("xlstm_colsum_finish_f32").launch1d(cols, ops.stream(), out(outT), out(partial), chunks, cols);
    }

    // ---------------------------------------------------------------- normalisation

    private static int normThreads(int d) { return Math.min(NORM_THREADS, roundUp32(d)); }

    @Override
    public void layerNormBackward(Tensor x, Tensor w, float eps, boolean weightIsOffset, Tensor dy, Tensor dx,
                                  boolean accumulateDx, Tensor dw, Tensor db) {
        OpChecks.sameShape("layerNormBackward", x, dy);
        GradChecks.sameOrNull("layerNormBackward", "dx", x, dx);
        int d = x.cols(), rows = x.rows();
        sizeOrNull("layerNormBackward", "weight", w, d);
        sizeOrNull("layerNormBackward", "dw", dw, d);
        sizeOrNull("layerNormBackward", "db", db, d);
        normBackward(x, 1, w, eps, weightIsOffset, dy, dx, accumulateDx, dw, db, rows, d);
    }

    @Override
    public void headLayerNormBackward(Tensor x, int numHeads, Tensor w, float eps, boolean weightIsOffset, Tensor dy,
                                      Tensor dx, Tensor dw, Tensor db) {
        OpChecks.sameShape("headLayerNormBackward", x, dy);
        GradChecks.sameOrNull("headLayerNormBackward", "dx", x, dx);
        int d = x.cols(), dh = numHeads <= 0 ? 0 : d / numHeads;
        if (numHeads <= 0 || dh * numHeads != d)
            throw new IllegalArgumentException("headLayerNormBackward: " + d + " channels not divisible by " + numHeads + " heads");
        sizeOrNull("headLayerNormBackward", "weight", w, d);
        sizeOrNull("headLayerNormBackward", "dw", dw, d);
        sizeOrNull("headLayerNormBackward", "db", db, d);
        normBackward(x, numHeads, w, eps, weightIsOffset, dy, dx, false, dw, db, x.rows(), dh);
    }

    /** Layer norm over slices of dh values, heads per row: dx per slice, then dw, db by one column reduction. */
    private void normBackward(Tensor x, int heads, Tensor w, float eps, boolean offset, Tensor dy, Tensor dx, boolean acc,
                              Tensor dw, Tensor db, int rows, int dh) {
        if (rows == 0 || dh == 0) return;
        long slices = (long) rows * heads;
        Tensor mean = dw == null ? null : scratch(slices), rstd = dw == null ? null : scratch(slices);
        if (dx != null || dw != null)
            k("xlstm_layernorm_backward_f32").launch(rows, heads, 1, normThreads(dh), 1, 1, 0, ops.stream(), out(dx),
                    mean == null ? 0L : out(mean), rstd == null ? 0L : out(rstd), in(x), in(dy), in(w), heads, dh, eps,
                    offset ? 1 : 0, acc ? 1 : 0);
        int cols = heads * dh;
        if (dw != null) columnSums(2, in(dy), in(x), out(mean), out(rstd), rows, cols, heads, dh, dw, db);
        else if (db != null) columnSums(0, in(dy), 0, 0, 0, rows, cols, 1, cols, db, null);
        release(mean);
        release(rstd);
    }

    @Override
    public void rmsNormBackward(Tensor x, Tensor w, float eps, Tensor dy, Tensor dx, boolean accumulateDx, Tensor dw, Tensor db) {
        OpChecks.sameShape("rmsNormBackward", x, dy);
        GradChecks.sameOrNull("rmsNormBackward", "dx", x, dx);
        int d = x.cols(), rows = x.rows();
        sizeOrNull("rmsNormBackward", "weight", w, d);
        sizeOrNull("rmsNormBackward", "dw", dw, d);
        sizeOrNull("rmsNormBackward", "db", db, d);
        if (rows == 0 || d == 0) return;
        Tensor rstd = dw == null ? null : scratch(rows);
        if (dx != null || dw != null)
            k("xlstm_rmsnorm_backward_f32").launch(rows, 1, 1, normThreads(d), 1, 1, 0, ops.stream(), out(dx),
                    rstd == null ? 0L : out(rstd), in(x), in(dy), in(w), d, eps, accumulateDx ? 1 : 0);
        if (dw != null) columnSums(3, in(dy), in(x), 0, out(rstd), rows, d, 1, d, dw, db);
        else if (db != null) columnSums(0, in(dy), 0, 0, 0, rows, d, 1, d, db, null);
        release(rstd);
    }

    // ---------------------------------------------------------------- elementwise

    @Override
    public void activationBackward(Activation act, Tensor x, Tensor dy, Tensor dx) {
        OpChecks.sameShape("activationBackward", x, dy);
        OpChecks.sameShape("activationBackward", x, dx);
        if (x.size() == 0) return;
        k("xlstm_activation_backward_f32").launch1d(x.size(), ops.stream(), out(dx), in(x), in(dy), act.ordinal(), x.size());
    }

    @Override
    public void mulActivatedBackward(Tensor x, Activation act, Tensor g, Tensor dy, Tensor dx, Tensor dg) {
        OpChecks.sameShape("mulActivatedBackward", x, g);
        OpChecks.sameShape("mulActivatedBackward", x, dy);
        GradChecks.sameOrNull("mulActivatedBackward", "dx", x, dx);
        GradChecks.sameOrNull("mulActivatedBackward", "dg", x, dg);
        if ((dx == null && dg == null) || x.size() == 0) return;
        k("xlstm_mul_activated_backward_f32").launch1d(x.size(), ops.stream(), out(dx), out(dg), in(x), in(g), in(dy),
                act.ordinal(), x.size());
    }

    @Override
    public void addScaledBackward(Tensor w, Tensor b, Tensor dy, Tensor db, boolean accumulateDb, Tensor dw) {
        OpChecks.addScaled(dy, w, b, dy);
        GradChecks.sameOrNull("addScaledBackward", "db", b, db);
        int c = dy.cols(), rows = dy.rows();
        sizeOrNull("addScaledBackward", "dw", dw, c);
        // dw first: it reads dy and b, which db may overwrite
        if (dw != null) columnSums(1, in(dy), in(b), 0, 0, rows, c, 1, c, dw, null);
        if (db != null && dy.size() > 0)
            k("xlstm_scale_columns_f32").launch1d(dy.size(), ops.stream(), out(db), in(w), in(dy), c, accumulateDb ? 1 : 0,
                    dy.size());
    }

    @Override
    public void softCapBackward(Tensor x, float cap, Tensor dy, Tensor dx) {
        OpChecks.sameShape("softCapBackward", x, dy);
        OpChecks.sameShape("softCapBackward", x, dx);
        if (x.size() == 0) return;
        k("xlstm_softcap_backward_f32").launch1d(x.size(), ops.stream(), out(dx), in(x), in(dy), cap, x.size());
    }

    @Override
    public void splitColumns(Tensor dy, Tensor[] parts, boolean accumulate) {
        OpChecks.concat(parts, dy);
        int total = dy.cols(), offset = 0;
        for (Tensor p : parts) {
            if (p.size() > 0)
                k("xlstm_split_columns_f32").launch1d(p.size(), ops.stream(), out(p), in(dy), p.cols(), total, offset,
                        accumulate ? 1 : 0, p.size());
            offset += p.cols();
        }
    }

    // ---------------------------------------------------------------- sequence mixing

    @Override
    public void causalConv1dBackward(Tensor x, Tensor w, Tensor dy, Tensor dx, Tensor dw, Tensor db) {
        OpChecks.conv(x, w, db, null, dy);
        GradChecks.sameOrNull("causalConv1dBackward", "dx", x, dx);
        GradChecks.sameOrNull("causalConv1dBackward", "dw", w, dw);
        int s = x.dim(1), f = x.dim(2), kk = w.dim(1);
        long rows = (long) x.dim(0) * s;
        if (rows == 0 || f == 0) return;
        if (dx != null)
            k("xlstm_conv1d_backward_dx_f32").launch1d(dx.size(), ops.stream(), out(dx), in(dy), in(w), s, f, kk, dx.size());
        if (dw == null && db == null) return;
        int per = rowsPerChunk(rows), chunks = (int) ((rows + per - 1) / per);
        Tensor pw = scratch((long) chunks * f * kk), pb = db == null ? null : scratch((long) chunks * f);
        k("xlstm_conv1d_backward_dw_partial_f32").launch((f + 31) / 32, chunks, (kk + 7) / 8, 256, 1, 1, 0, ops.stream(),
                out(pw), pb == null ? 0L : out(pb), in(x), in(dy), rows, s, f, kk, per);
        if (dw != null) finish(dw, pw, chunks, (long) f * kk);
        if (db != null) finish(db, pb, chunks, f);
        release(pw);
        release(pb);
    }

    @Override
    public void mlstmChunkwiseBackward(Tensor q, Tensor k, Tensor v, Tensor i, Tensor f, float m0, int chunkSize, float eps,
                                       Tensor dh, Tensor dq, Tensor dk, Tensor dv, Tensor di, Tensor df) {
        boolean tensorCores = MLSTM_BACKWARD.equals("tc")
                || MLSTM_BACKWARD.equals("auto") && ops.precision() == CudaOps.Precision.BF16;
        if (tensorCores && CudaMlstmBackwardTensorCores.run(ops, q, k, v, i, f, m0, chunkSize, eps, dh, dq, dk, dv, di, df))
            return;
        if (!MLSTM_BACKWARD.equals("host")
                && CudaMlstmBackwardSeq.run(ops, q, k, v, i, f, m0, chunkSize, eps, dh, dq, dk, dv, di, df)) return;
        HostBackward.mlstm(ops, q, k, v, i, f, m0, chunkSize, eps, dh, dq, dk, dv, di, df);
    }

    @Override
    public void slstmBackward(Tensor xi, Tensor xf, Tensor xz, Tensor xo, Tensor r, Tensor bias, Tensor dy,
                              Tensor dxi, Tensor dxf, Tensor dxz, Tensor dxo, Tensor dr, Tensor dbias) {
        if (SLSTM_BACKWARD.equals("fused")) {
            try {
                CudaSlstmBackward.run(ops, xi, xf, xz, xo, r, bias, dy, dxi, dxf, dxz, dxo, dr, dbias);
                return;
            } catch (UnsupportedOperationException noKernel) {
                // heads too large for it: the CPU engine below
            }
        }
        HostBackward.slstm(ops, xi, xf, xz, xo, r, bias, dy, dxi, dxf, dxz, dxo, dr, dbias);
    }

    // ---------------------------------------------------------------- regularisation

    /** The mask is {@link org.xlstm.jvm.backend.DropoutMask}'s hash, replicated bit for bit in grad.cu. */
    @Override
    public void dropout(Tensor x, float p, long seed, Tensor y) {
        OpChecks.sameShape("dropout", x, y);
        if (x.size() == 0) return;
        float scale = (float) (1.0 / (1.0 - p));
        k("xlstm_dropout_f32").launch1d(x.size(), ops.stream(), out(y), in(x), seed, p, scale, x.size());
    }

    // ---------------------------------------------------------------- loss

    /**
     * One block per row (train.cu): the log-sum-exp online in the pass that reads the row, the gradient written in a
     * second pass over the row kept in shared memory when it fits (else re-read), the per-row losses copied back and
     * added in row order in double here.
     */
    @Override
    public double crossEntropy(Tensor logits, int[] targets, Tensor dLogits, int meanOver) {
        return crossEntropy(logits, 0f, targets, null, dLogits, meanOver);
    }

    /** The soft cap, the cross-entropy and the cap's backward in one pass over the rows (kernels/src/train.cu). */
    @Override
    public double crossEntropySoftCapped(Ops forward, Tensor raw, float cap, int[] targets, Tensor logits, Tensor dRaw,
                                         int meanOver) {
        if (!(cap > 0)) throw new IllegalArgumentException("crossEntropySoftCapped: the cap must be positive, got " + cap);
        if (logits == null || !Arrays.equals(raw.shape(), logits.shape()))
            throw new IllegalArgumentException("crossEntropySoftCapped: logits " + (logits == null ? "null"
                    : Shapes.format(logits.shape())) + " must have the shape of raw " + Shapes.format(raw.shape()));
        return crossEntropy(raw, cap, targets, logits, dRaw, meanOver);
    }

    /** cap > 0: logits are cap·tanh(x/cap), written to capped (if not null), gradient with respect to x. */
    private double crossEntropy(Tensor x, float cap, int[] targets, Tensor capped, Tensor dx, int meanOver) {
        int counted = GradChecks.crossEntropy(x, targets, dx);   // out-of-range targets fail here, clearly
        int rows = x.rows(), vocab = x.cols(), count = meanOver > 0 ? meanOver : counted;
        double none = counted == 0 && meanOver <= 0 ? Double.NaN : 0.0;
        if (rows == 0) return none;
        if (vocab == 0) throw new IllegalArgumentException("crossEntropy: logits " + Shapes.format(x.shape()) + " have no classes");
        float scale = count == 0 ? 0f : (float) (1.0 / count);
        Tensor t = ops.memory().uploadInts(targets, ops.stream());
        Tensor loss = scratch(rows);
        int threads = Math.min(1024, Math.max(128, roundUp32((vocab + 15) / 16)));
        long bytes = CE_SCRATCH + (long) vocab * Float.BYTES;
        String name = cap > 0 ? "xlstm_cross_entropy_softcap" : "xlstm_cross_entropy";
        CudaKernel cached = ops.kernel("train", name + "_cached_f32");
        boolean cache = bytes <= 200 * 1024 && canCache(cached, (int) bytes);
        CudaKernel kernel = cache ? cached : ops.kernel("train", name + "_f32");
        int shared = cache ? (int) bytes : CE_SCRATCH;
        if (cap > 0)
            kernel.launch(rows, 1, 1, threads, 1, 1, shared, ops.stream(), in(x), out(t), out(loss), out(dx), out(capped),
                    vocab, scale, cap);
        else
            kernel.launch(rows, 1, 1, threads, 1, 1, shared, ops.stream(), in(x), out(t), out(loss), out(dx), vocab, scale);
        float[] perRow = new float[rows];
        ops.read(loss, 0, perRow, 0, rows);
        release(t);
        release(loss);
        if (counted == 0 && meanOver <= 0) return Double.NaN;
        double total = 0;
        for (float v : perRow) total += v;
        return total / count;
    }

    /** Whether a cached cross-entropy kernel may take {@code bytes} of dynamic shared memory (asked once per size). */
    private synchronized boolean canCache(CudaKernel kernel, int bytes) {
        int[] limits = ceShared.computeIfAbsent(kernel, k -> new int[] {48 * 1024, Integer.MAX_VALUE});
        if (bytes <= limits[0]) return true;
        if (bytes >= limits[1]) return false;
        try {
            kernel.setMaxDynamicSharedMemory(bytes);
            limits[0] = bytes;
            return true;
        } catch (RuntimeException e) {   // a device with less shared memory per block: re-read the row instead
            limits[1] = bytes;
            return false;
        }
    }

    // ---------------------------------------------------------------- optimizer and metrics (CudaOptimizer)

    @Override
    public double sumOfSquares(Tensor x) {
        return DeviceTensors.isDevice(x) ? optimizer.sumOfSquares(x) : GradOps.super.sumOfSquares(x);
    }

    @Override
    public double[] sumsOfSquares(java.util.List<Tensor> xs) {
        return allDevice(xs) ? optimizer.sumsOfSquares(xs) : GradOps.super.sumsOfSquares(xs);
    }

    @Override
    public void scaleEach(java.util.List<Tensor> xs, float c) {
        if (allDevice(xs)) optimizer.scaleEach(xs, c);
        else GradOps.super.scaleEach(xs, c);
    }

    @Override
    public void adamwEach(java.util.List<Tensor> p, java.util.List<Tensor> g, java.util.List<Tensor> m,
                          java.util.List<Tensor> v, float[] decay, float b1, float omb1, float b2, float omb2,
                          float stepSize, float bc2Sqrt, float eps) {
        if (allDevice(p) && allDevice(g) && allDevice(m) && allDevice(v))
            optimizer.adamwEach(p, g, m, v, decay, b1, omb1, b2, omb2, stepSize, bc2Sqrt, eps);
        else GradOps.super.adamwEach(p, g, m, v, decay, b1, omb1, b2, omb2, stepSize, bc2Sqrt, eps);
    }

    /** Fills every tensor; for {@link CudaOps#fillEach}. */
    void fillEach(java.util.List<Tensor> xs, float value) { optimizer.fillEach(xs, value); }

    static boolean allDevice(java.util.List<Tensor> xs) {
        for (Tensor x : xs) if (!DeviceTensors.isDevice(x)) return false;
        return true;
    }

    @Override
    public void scale(Tensor x, float c) {
        if (DeviceTensors.isDevice(x)) optimizer.scale(x, c);
        else GradOps.super.scale(x, c);
    }

    @Override
    public void adamw(Tensor p, Tensor g, Tensor m, Tensor v, float decay, float b1, float omb1, float b2, float omb2,
                      float stepSize, float bc2Sqrt, float eps) {
        if (DeviceTensors.isDevice(p)) optimizer.adamw(p, g, m, v, decay, b1, omb1, b2, omb2, stepSize, bc2Sqrt, eps);
        else GradOps.super.adamw(p, g, m, v, decay, b1, omb1, b2, omb2, stepSize, bc2Sqrt, eps);
    }

    @Override
    public void rowArgmaxAndNll(Tensor logits, int[] targets, int[] argmax, double[] nll) {
        if (DeviceTensors.isDevice(logits)) optimizer.rowArgmaxAndNll(logits, targets, argmax, nll);
        else GradOps.super.rowArgmaxAndNll(logits, targets, argmax, nll);
    }
}
