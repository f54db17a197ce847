package org.xlstm.jvm.backend.cuda;

import org.xlstm.jvm.backend.Ops;
import org.xlstm.jvm.config.Activation;
import org.xlstm.jvm.cuda.CudaContext;
import org.xlstm.jvm.cuda.CudaKernel;
import org.xlstm.jvm.cuda.CudaStream;
import org.xlstm.jvm.cuda.Cublas;
import org.xlstm.jvm.cuda.DeviceBuffer;
import org.xlstm.jvm.tensor.Tensor;

/**
 * The CUDA backend: every {@link Ops} method as our kernels (kernels/src/*.cu) or cuBLAS, launched on one stream.
 *
 * <p>Activations and outputs must be device tensors ({@link DeviceTensors}). A host tensor given as an input is
 * taken to be a parameter: it is uploaded once and the device copy kept in the tensor's backend cache, as the
 * {@link Tensor#backendCache()} contract allows. Activations, states and every non-matrix op are float32; the
 * {@link Precision} says how matrix products round their inputs: FP32 (exact), TF32, or BF16 (mixed precision:
 * inputs rounded to bfloat16 — weights once, cached — with float32 accumulation and output).
 */
public final class CudaOps implements Ops, org.xlstm.jvm.backend.GradOps.Paired, AutoCloseable {
    private static final int NORM_THREADS = 256;
    /** Rows up to which bf16 products run as matrix-vector kernels (kernels/src/gemv.cu), and its warps per block. */
    private static final int GEMV_MAX_ROWS = 16, GEMV_WARPS = 8;
    /** The one-block-per-head mLSTM step's block size; the column-sliced step's block size and its counters. */
    private static final int STEP_THREADS = 1024, STEP_COLS_THREADS = 128, STEP_COUNTERS = 4096;

    /**
     * The mLSTM step's kernels (kernels/src/mlstm_step.cu): {@code COLS} a block per (batch, head, slice of columns
     * of C), the default; {@code HEADS} a block per (batch, head); {@code SPLIT} the normaliser and the state update
     * as two kernels. {@code -Dxlstm.cuda.mlstmStep=cols|heads|split} picks one (to compare), and
     * {@code -Dxlstm.cuda.mlstmStepCols=N} the slice width (a multiple of 4, default 16).
     */
    enum StepKernel { COLS, HEADS, SPLIT }

    private static final StepKernel STEP_KERNEL = switch (System.getProperty("xlstm.cuda.mlstmStep", "cols")) {
        case "split" -> StepKernel.SPLIT;
        case "heads", "fused" -> StepKernel.HEADS;
        default -> StepKernel.COLS;
    };
    private static final int STEP_COLS = Math.max(4, Integer.getInteger("xlstm.cuda.mlstmStepCols", 16) & ~3);

    private final CudaContext ctx;
    private final DeviceTensors memory;
    private final CudaStream stream;
    private final Cublas blas;
    private final Precision precision;
    private final boolean tf32;

    /** How matrix products treat their float32 inputs. */
    public enum Precision { FP32, TF32, BF16 }

    /**
     * Device forms of one parameter: the float32 copy of a host parameter, and the bfloat16 copy when BF16 products
     * asked for it, each with the parameter version it was made from (refreshed in place when the parameter changed,
     * so training steps allocate nothing).
     */
    private static final class DeviceParam {
        DeviceBuffer f32, bf16;
        long f32Version = -1, bf16Version = -1;
        /** The device tensor that replaces the host one in a model built on this backend (see {@link #resident}). */
        Tensor resident;
    }

    public CudaOps(DeviceTensors memory, Precision precision) {
        this.memory = memory;
        this.ctx = memory.context();
        this.stream = new CudaStream(ctx);
        this.blas = new Cublas(ctx, stream);
        this.precision = precision;
        this.tf32 = precision == Precision.TF32;
    }

    public CudaOps(DeviceTensors memory, boolean tf32) { this(memory, tf32 ? Precision.TF32 : Precision.FP32); }

    @Override
    public String name() { return "cuda-" + precision.name().toLowerCase(); }

    public Precision precision() { return precision; }

    /** Training runs on the GPU: {@link CudaGradOps} is the backward pass, parameters stay in device memory. */
    @Override
    public boolean supportsTraining() { return true; }

    public CudaStream stream() { return stream; }

    private CudaGradOps gradOps;

    /** The backward kernels that go with this forward backend (same stream, memory and precision). */
    @Override
    public synchronized CudaGradOps gradOps() {
        if (gradOps == null) gradOps = new CudaGradOps(this);
        return gradOps;
    }

    public DeviceTensors memory() { return memory; }

    public CudaContext context() { return ctx; }

    /** The cuBLAS handle bound to this backend's stream. */
    Cublas blas() { return blas; }

    /** Whether matrix products may round float32 inputs to tf32. */
    boolean tf32() { return tf32; }

    /** Waits for everything launched so far. */
    @Override
    public void synchronize() { stream.synchronize(); }

    private CudaKernel k(String module, String fn) {
        // a kernel after the wide LM head may change its logits: the greedy loop then takes its own arg-max
        StepGraphs.Greedy greedy = graphs.capturingGreedy();
        if (greedy != null) greedy.argmaxTaken = 0;
        return ctx.kernel(module, fn);
    }

    /** A kernel of one of our modules (kernels/src/MODULE.cu), loaded once per context. */
    CudaKernel kernel(String module, String fn) { return k(module, fn); }

    /** Device address of an input tensor (host tensors are parameters: their cached device copy); 0 for null. */
    long input(Tensor t) { return in(t); }

    /** Device address of an output tensor, which must be device memory; 0 for null. */
    static long output(Tensor t) { return t == null ? 0L : out(t); }

    /** Device address of an input: device tensors as they are, host tensors (parameters) through a cached copy. */
    private long in(Tensor t) {
        if (t == null) return 0L;
        if (DeviceTensors.isDevice(t)) return DeviceTensors.address(t);
        DeviceParam p = param(t);
        synchronized (p) {
            if (p.f32Version != t.version()) {
                if (p.f32 == null) p.f32 = ctx.allocate(t.size() * Float.BYTES);
                // stream-ordered: kernels still reading the old values run first
                ctx.copyToDevice(p.f32.ptr(), t.segment(), t.size() * Float.BYTES, stream);
                p.f32Version = t.version();
            }
            return p.f32.ptr();
        }
    }

    private static DeviceParam param(Tensor t) {
        synchronized (t) {
            Object c = t.backendCacheOfAnyVersion();
            DeviceParam p = c instanceof DeviceParam d ? d : new DeviceParam();
            if (t.backendCache() != p) t.backendCache(p);
            return p;
        }
    }

    /**
     * A bfloat16 device copy of a parameter (host or device tensor), made once per parameter version: after an
     * optimizer step (which marks the parameter modified) it is rounded again into the same buffer.
     */
    long weightBf16(Tensor t) {
        DeviceParam p = param(t);
        long f32 = in(t);
        synchronized (p) {
            if (p.bf16Version != t.version()) {
                if (p.bf16 == null) p.bf16 = ctx.allocate(Math.max(2, t.size() * 2));
                k("elementwise", "xlstm_f32_to_bf16").launch1d(t.size(), stream, p.bf16.ptr(), f32, t.size());
                p.bf16Version = t.version();
            }
            return p.bf16.ptr();
        }
    }

    /** An activation rounded to bfloat16 in scratch memory; release the returned tensor with {@code memory().release}. */
    Tensor scratchBf16(Tensor x) {
        Tensor s = memory.allocate((int) ((x.size() + 1) / 2));
        k("elementwise", "xlstm_f32_to_bf16").launch1d(x.size(), stream, DeviceTensors.address(s), in(x), x.size());
        return s;
    }

    /** Device address of an output, which must be a device tensor. */
    private static long out(Tensor t) {
        if (!DeviceTensors.isDevice(t))
            throw new IllegalArgumentException("CudaOps writes device tensors only; got a host " + t
                    + " (allocate outputs with DeviceTensors)");
        return DeviceTensors.address(t);
    }

    // ------------------------------------------------------------------ dense algebra

    @Override
    public void linear(Tensor x, Tensor weight, Tensor bias, Tensor y) {
        int rows = x.rows(), inF = x.cols(), outF = weight.dim(0);
        if (precision == Precision.BF16 && rows <= GEMV_MAX_ROWS && inF % 8 == 0 && in(x) % 16 == 0) {
            // decoding: a pass over the bf16 weights with x as it is (kernels/src/gemv.cu)
            gemvKernel("gemv", "xlstm_gemv_bf16w_f32", rows).launchDependent((outF + GEMV_WARPS - 1) / GEMV_WARPS, 1, 1, GEMV_WARPS * 32, 1, 1, 0,
                    stream, out(y), in(x), weightBf16(weight), in(bias), rows, inF, outF);
            return;
        }
        if (precision == Precision.BF16) {
            Tensor xb = scratchBf16(x);
            blas.gemmEx(rows, outF, inF, DeviceTensors.address(xb), Cublas.R_16BF, weightBf16(weight), Cublas.R_16BF,
                    out(y), Cublas.R_32F, false, Cublas.COMPUTE_32F);
            memory.release(xb);
        } else {
            blas.matmulABt(rows, outF, inF, in(x), in(weight), out(y), false, tf32);
        }
        if (bias != null) k("elementwise", "xlstm_add_bias_f32").launch1d(y.size(), stream, out(y), in(bias), outF, y.size());
    }

    /** Decoding (bf16, ≤ 16 rows): up to six projections of one input in one matrix-vector launch. */
    @Override
    public void linears(Tensor x, Tensor[] weights, Tensor[] biases, Tensor[] ys) {
        int rows = x.rows(), inF = x.cols(), count = weights.length;
        if (precision != Precision.BF16 || rows > GEMV_MAX_ROWS || inF % 8 != 0 || in(x) % 16 != 0 || count > 6 || count < 2) {
            Ops.super.linears(x, weights, biases, ys);
            return;
        }
        Object[] args = new Object[6 * 4 + 3];
        int total = 0;
        for (int j = 0; j < 6; j++) {
            boolean on = j < count;
            args[j] = on ? out(ys[j]) : 0L;
            args[6 + j] = on ? weightBf16(weights[j]) : 0L;
            args[12 + j] = on && biases != null ? in(biases[j]) : 0L;
            int o = on ? weights[j].dim(0) : 0;
            args[18 + j] = o;
            total += o;
        }
        args[24] = in(x);
        args[25] = rows;
        args[26] = inF;
        gemvKernel("gemv", "xlstm_gemv_group_bf16w_f32", rows).launchDependent((total + GEMV_WARPS - 1) / GEMV_WARPS, 1, 1, GEMV_WARPS * 32, 1, 1, 0,
                stream, args);
    }

    // ------------------------------------------------------------------ fused decoding (kernels/src/decode.cu)

    /**
     * Whether a decode kernel with a prologue takes x: bf16, ≤ 16 rows kept in 48 KB of shared memory. A row's first
     * 2,048 weights (1,024 in the batch-1 builds) are requested before the prologue, the rest in further passes
     * after it (xLSTM-7B's 4,096-wide rows: one more pass).
     */
    private boolean decodeFusable(Tensor x) {
        int rows = x.rows(), inF = x.cols();
        return precision == Precision.BF16 && rows >= 1 && rows <= GEMV_MAX_ROWS && inF % 8 == 0
                && (long) rows * inF * Float.BYTES <= 48 * 1024 && in(x) % 16 == 0;
    }

    /**
     * Dynamic shared memory of a decode kernel with a prologue: the staged rows ({@code rows · in} floats) and the
     * norm's statistics ({@code stats} floats); past 48 KB (16 rows of 768 plus the statistics) the kernel is granted
     * more first.
     */
    private static int prologueShared(CudaKernel kernel, int rows, int inF, int stats) {
        int bytes = (rows * inF + stats) * Float.BYTES;
        if (bytes > 48 * 1024) kernel.setMaxDynamicSharedMemory(bytes);
        return bytes;
    }

    /**
     * Floats of an RMS-norm prologue's statistics (gemv.cuh's rms_stats_floats): one per row, or the one-row path's
     * sums of 128-element blocks, rounded up to even.
     */
    static int rmsStatsFloats(int rows, int inF) {
        int n = Math.max(rows, (inF + 127) / 128);
        return (n + 1) & ~1;
    }

    /**
     * A decode kernel with a prologue for {@code rows} of {@code inF}: the batch-1 build ("_r1": 4 weight vectors in
     * flight per lane, so in ≤ 1024 in the pass issued before the prologue) or the general one.
     */
    private CudaKernel prologueKernel(String name, int rows, int inF) {
        return k("decode", rows == 1 && inF <= 1024 ? name + "_r1" : name);
    }

    /** A decode kernel's build for {@code rows}: the batch-1 one ("_r1", fewer registers) or the general one. */
    private CudaKernel gemvKernel(String module, String name, int rows) {
        return k(module, rows == 1 ? name + "_r1" : name);
    }

    @Override
    public void rmsNormLinears(Tensor x, Tensor normWeight, Tensor normBias, float eps, Tensor normed, Tensor[] weights,
                               Tensor[] biases, Tensor[] ys, int capFrom, float softCap) {
        int count = weights.length;
        long outputs = 0;
        for (Tensor w : weights) outputs += w.dim(0);
        // every block normalises all rows itself: past ~16M floats of such prologue reads (an LM head at 16 rows)
        // the separate norm kernel is cheaper
        long prologue = (outputs + GEMV_WARPS - 1) / GEMV_WARPS * (long) x.rows() * x.cols();
        if (!decodeFusable(x) || count < 1 || count > 6 || prologue > (16L << 20)) {
            Ops.super.rmsNormLinears(x, normWeight, normBias, eps, normed, weights, biases, ys, capFrom, softCap);
            return;
        }
        int rows = x.rows(), inF = x.cols();
        if (count == 1 && rows == 1 && inF <= 1024 && weights[0].dim(0) >= WIDE_MIN_OUTPUTS) {
            wideHead(x, normWeight, normBias, eps, weights[0], biases == null ? null : biases[0], ys[0],
                    capFrom <= 0 ? softCap : 0f);
            return;
        }
        Object[] args = new Object[32];
        int total = 0;
        for (int j = 0; j < 6; j++) {
            boolean on = j < count;
            args[j] = on ? out(ys[j]) : 0L;
            args[6 + j] = on ? weightBf16(weights[j]) : 0L;
            args[12 + j] = on && biases != null ? in(biases[j]) : 0L;
            int o = on ? weights[j].dim(0) : 0;
            args[18 + j] = o;
            total += o;
        }
        args[24] = in(x);
        args[25] = in(normWeight);
        args[26] = in(normBias);
        args[27] = eps;
        args[28] = softCap;
        args[29] = capFrom;
        args[30] = rows;
        args[31] = inF;
        CudaKernel kernel = prologueKernel("xlstm_gemv_rmsnorm_group", rows, inF);
        kernel.launchDependent((total + GEMV_WARPS - 1) / GEMV_WARPS, 1, 1, GEMV_WARPS * 32, 1, 1,
                prologueShared(kernel, rows, inF, rmsStatsFloats(rows, inF)), stream, args);
    }

    /** Outputs from which one normalised row's product takes the wide kernel (an LM head; measured in the lab). */
    private static final int WIDE_MIN_OUTPUTS = 16384;
    /** Blocks per multiprocessor of the wide kernel's grid (61 registers × 256 threads: 4 fit). */
    private static final int WIDE_BLOCKS_PER_SM = 4;

    /**
     * y = softCap(rmsNorm(x)·Wᵀ + b) for one row and many outputs (decode.cu's xlstm_gemv_rmsnorm_wide_r1: one
     * resident grid walking the rows; the same bits as the group kernel). Inside a greedy capture it also takes the
     * arg-max into the loop's key, and tells the loop so ({@link StepGraphs.Greedy#argmaxTaken}).
     */
    private void wideHead(Tensor x, Tensor normWeight, Tensor normBias, float eps, Tensor weight, Tensor bias, Tensor y,
                          float cap) {
        int inF = x.cols(), outF = weight.dim(0);
        StepGraphs.Greedy greedy = graphs.capturingGreedy();
        long keys = 0;
        if (greedy != null && greedy.rows == 1) keys = greedy.keys.ptr();
        int grid = Math.min((outF + GEMV_WARPS - 1) / GEMV_WARPS, WIDE_BLOCKS_PER_SM * multiprocessors());
        int shared = (inF + rmsStatsFloats(1, inF)) * Float.BYTES + GEMV_WARPS * Long.BYTES;   // x, its norm, the keys
        k("decode", "xlstm_gemv_rmsnorm_wide_r1").launchDependent(grid, 1, 1, GEMV_WARPS * 32, 1, 1, shared, stream,
                out(y), weightBf16(weight), in(bias), outF, in(x), in(normWeight), in(normBias), eps, cap, inF, keys);
        if (keys != 0) greedy.argmaxTaken = out(y);   // after k(), which clears it
    }

    @Override
    public void rmsNormGatedLinear(Tensor x, Tensor normWeight, Tensor normBias, float eps, Tensor normed,
                                   Tensor gateWeight, Tensor gateBias, Tensor upWeight, Tensor upBias, Activation act,
                                   Tensor gate, Tensor y) {
        if (!decodeFusable(x)) {
            Ops.super.rmsNormGatedLinear(x, normWeight, normBias, eps, normed, gateWeight, gateBias, upWeight, upBias, act,
                    gate, y);
            return;
        }
        int rows = x.rows(), inF = x.cols(), outF = upWeight.dim(0);
        CudaKernel kernel = prologueKernel("xlstm_gemv_rmsnorm_gated", rows, inF);
        kernel.launchDependent((outF + GEMV_WARPS - 1) / GEMV_WARPS, 1, 1, GEMV_WARPS * 32, 1, 1,
                prologueShared(kernel, rows, inF, rmsStatsFloats(rows, inF)), stream, out(y), weightBf16(gateWeight),
                weightBf16(upWeight), in(gateBias), in(upBias), outF, in(x), in(normWeight), in(normBias), eps,
                act.ordinal(), rows, inF);
    }

    @Override
    public void linearAdd(Tensor x, Tensor weight, Tensor bias, Tensor residual, Tensor product, Tensor y) {
        int rows = x.rows(), inF = x.cols(), outF = weight.dim(0);
        if (precision != Precision.BF16 || rows > GEMV_MAX_ROWS || inF % 8 != 0 || in(x) % 16 != 0) {
            Ops.super.linearAdd(x, weight, bias, residual, product, y);
            return;
        }
        // batch 1 stages x in shared memory (inF floats) and requests the residual before waiting (Ops.linearAdd)
        boolean staged = rows == 1 && (long) inF * Float.BYTES <= 48 * 1024;
        // inputs up to 2,304 in one pass of 9 weight vectors per lane (the 7B architecture's 2,112 at D = 768)
        String fn = !staged ? "xlstm_gemv_add"
                : inF > 2048 && inF <= 2304 ? "xlstm_gemv_add_r1_v9" : "xlstm_gemv_add_r1";
        k("decode", fn).launchDependent((outF + GEMV_WARPS - 1) / GEMV_WARPS,
                1, 1, GEMV_WARPS * 32, 1, 1, staged ? inF * Float.BYTES : 0, stream, out(y), weightBf16(weight), in(bias),
                in(residual), in(x), rows, inF, outF);
    }

    @Override
    public void headNormGatedLinearAdd(Tensor h, int numHeads, Tensor normWeight, Tensor normBias, float eps,
                                       boolean weightIsOffset, Tensor gate, Activation act, Tensor gated, Tensor weight,
                                       Tensor bias, Tensor residual, Tensor product, Tensor y) {
        // one row only: every block computes the whole gated norm as its prologue, which for 16 rows costs more than
        // the separate norm kernel saves (measured: 53 µs against 30 + 8 under Nsight Compute)
        if (h.rows() != 1 || !decodeFusable(h) || h.cols() % numHeads != 0) {
            Ops.super.headNormGatedLinearAdd(h, numHeads, normWeight, normBias, eps, weightIsOffset, gate, act, gated,
                    weight, bias, residual, product, y);
            return;
        }
        int rows = h.rows(), inF = h.cols(), outF = weight.dim(0);
        CudaKernel kernel = prologueKernel("xlstm_gemv_headnorm_gated_add", rows, inF);
        kernel.launchDependent((outF + GEMV_WARPS - 1) / GEMV_WARPS, 1, 1,
                GEMV_WARPS * 32, 1, 1, prologueShared(kernel, rows, inF, 2 * rows * numHeads), stream, out(y), weightBf16(weight), in(bias), in(residual),
                in(h), in(gate), in(normWeight), in(normBias), eps, weightIsOffset ? 1 : 0, act.ordinal(), numHeads, rows,
                inF, outF);
    }

    @Override
    public void headNormGated(Tensor h, int numHeads, Tensor weight, Tensor bias, float eps, boolean weightIsOffset,
                              Tensor gate, Activation act, Tensor y) {
        long segments = (long) h.rows() * numHeads;
        int dh = h.cols() / numHeads;
        k("decode", "xlstm_headnorm_gated").launchDependent((int) ((segments + GEMV_WARPS - 1) / GEMV_WARPS), 1, 1, GEMV_WARPS * 32,
                1, 1, 0, stream, out(y), in(h), in(weight), in(bias), in(gate), act.ordinal(), numHeads, dh, eps,
                weightIsOffset ? 1 : 0, segments);
    }

    @Override
    public void matmul(Tensor a, Tensor b, Tensor c) {
        blas.matmulAB(a.dim(0), b.dim(1), a.dim(1), in(a), in(b), out(c), tf32);
    }

    @Override
    public void linearHeadwise(Tensor x, Tensor weight, Tensor bias, Tensor y) {
        int heads = weight.dim(0), outF = weight.dim(1), inF = weight.dim(2);
        if (precision == Precision.BF16) {
            Tensor xb = scratchBf16(x);
            blas.headwiseABt(x.rows(), heads, outF, inF, DeviceTensors.address(xb), Cublas.R_16BF, weightBf16(weight),
                    Cublas.R_16BF, out(y), Cublas.COMPUTE_32F);
            memory.release(xb);
        } else {
            blas.headwiseABt(x.rows(), heads, outF, inF, in(x), in(weight), out(y), tf32);
        }
        if (bias != null)
            k("elementwise", "xlstm_add_bias_f32").launch1d(y.size(), stream, out(y), in(bias), heads * outF, y.size());
    }

    @Override
    public void embedding(int[] tokens, Tensor table, Tensor y) {
        int d = table.dim(1);
        StepGraphs.Greedy greedy = graphs.capturingGreedy();
        if (greedy != null) {
            // inside a greedy-loop capture: the tokens are the previous replay's arg-maxes (kernels/src/greedy.cu)
            if (tokens.length != greedy.rows) throw new IllegalStateException("greedy step of " + tokens.length + " tokens, " + greedy.rows + " rows");
            k("greedy", "xlstm_embedding_greedy_f32").launch(tokens.length, 1, 1, 256, 1, 1, 0, stream, out(y), in(table),
                    greedy.keys.ptr(), greedy.fed.ptr(), greedy.pos.ptr(), StepGraphs.RING, d, table.dim(0));
            return;
        }
        long captured = graphs.capturingIds();
        if (captured != 0) {
            // inside a decode-step capture: the graph reads the ids its replays copy into this buffer
            k("elementwise", "xlstm_embedding_f32").launch1d((long) tokens.length * d, stream, out(y), in(table),
                    captured, d, (long) tokens.length * d);
            return;
        }
        Tensor ids = memory.uploadInts(tokens, stream);
        k("elementwise", "xlstm_embedding_f32").launch1d((long) tokens.length * d, stream, out(y), in(table),
                DeviceTensors.address(ids), d, (long) tokens.length * d);
        memory.release(ids);
    }

    private final StepGraphs graphs = new StepGraphs(this);

    /** Decode steps replayed from CUDA graphs (see {@link StepGraphs}). */
    @Override
    public Tensor repeatedStep(Object model, Object state, int[] tokens, java.util.function.Supplier<Tensor> step) {
        return graphs.run(model, state, tokens, step);
    }

    /** Greedy decoding without a host round trip per token (see {@link StepGraphs#greedy}). */
    @Override
    public int[][] greedySteps(Object model, Object state, int[] first, int count,
                               java.util.function.Function<int[], Tensor> step) {
        if (!StepGraphs.ENABLED) return Ops.super.greedySteps(model, state, first, count, step);
        return graphs.greedy(model, state, first, count, step);
    }

    // ------------------------------------------------------------------ normalisation

    /** Rows per block of the warp-per-row norm kernels (kernels/src/norms.cu). */
    private static final int NORM_ROWS_PER_BLOCK = 8;

    private static int normBlocks(long rows) { return (int) ((rows + NORM_ROWS_PER_BLOCK - 1) / NORM_ROWS_PER_BLOCK); }

    @Override
    public void layerNorm(Tensor x, Tensor weight, Tensor bias, float eps, boolean weightIsOffset, Tensor y) {
        long rows = x.rows();
        k("norms", "xlstm_layernorm_f32").launch(normBlocks(rows), 1, 1, NORM_THREADS, 1, 1, 0, stream, out(y), in(x),
                in(weight), in(bias), x.cols(), eps, weightIsOffset ? 1 : 0, rows);
    }

    @Override
    public void rmsNorm(Tensor x, Tensor weight, Tensor bias, float eps, Tensor y) {
        long rows = x.rows();
        k("norms", "xlstm_rmsnorm_f32").launch(normBlocks(rows), 1, 1, NORM_THREADS, 1, 1, 0, stream, out(y), in(x),
                in(weight), in(bias), x.cols(), eps, rows);
    }

    @Override
    public void headLayerNorm(Tensor x, int numHeads, Tensor weight, Tensor bias, float eps, boolean weightIsOffset,
                              Tensor y) {
        int dh = x.cols() / numHeads;
        long segments = (long) x.rows() * numHeads;
        k("norms", "xlstm_headnorm_f32").launch(normBlocks(segments), 1, 1, NORM_THREADS, 1, 1, 0, stream, out(y), in(x),
                in(weight), in(bias), numHeads, dh, eps, weightIsOffset ? 1 : 0, segments);
    }

    // ------------------------------------------------------------------ elementwise

    @Override
    public void activation(Activation act, Tensor x, Tensor y) {
        k("elementwise", "xlstm_activation_f32").launch1d(x.size(), stream, out(y), in(x), act.ordinal(), x.size());
    }

    @Override
    public void mulActivated(Tensor x, Activation act, Tensor g, Tensor y) {
        k("elementwise", "xlstm_mul_activated_f32").launch1d(x.size(), stream, out(y), in(x), in(g), act.ordinal(),
                x.size());
    }

    @Override
    public void add(Tensor a, Tensor b, Tensor y) {
        k("elementwise", "xlstm_add_f32").launch1d(a.size(), stream, out(y), in(a), in(b), a.size());
    }

    @Override
    public void addScaled(Tensor a, Tensor w, Tensor b, Tensor y) {
        k("elementwise", "xlstm_add_scaled_f32").launch1d(a.size(), stream, out(y), in(a), in(w), in(b), a.cols(),
                a.size());
    }

    @Override
    public void softCap(Tensor x, float cap, Tensor y) {
        k("elementwise", "xlstm_softcap_f32").launch1d(x.size(), stream, out(y), in(x), cap, x.size());
    }

    @Override
    public void concatColumns(Tensor[] parts, Tensor y) {
        int offset = 0;
        for (Tensor p : parts) {
            k("elementwise", "xlstm_copy_columns_f32").launch1d(p.size(), stream, out(y), in(p), p.cols(), y.cols(),
                    offset, p.size());
            offset += p.cols();
        }
    }

    // ------------------------------------------------------------------ sequence mixing

    @Override
    public void causalConv1d(Tensor x, Tensor weight, Tensor bias, Tensor window, Tensor y) {
        int b = x.dim(0), s = x.dim(1), f = x.dim(2), kk = weight.dim(weight.rank() - 1);
        long win = window == null ? 0L : out(window);
        k("conv", "xlstm_conv1d_causal_f32").launch1d(y.size(), stream, out(y), in(x), in(weight), in(bias), win, s, f,
                kk, y.size());
        if (window != null && kk > 1) {
            // The new window reads the old one: build it in scratch, then copy over.
            Tensor next = memory.allocate(window.shape());
            long n = (long) b * (kk - 1) * f;
            k("conv", "xlstm_conv1d_window_f32").launch1d(n, stream, out(next), win, in(x), s, f, kk, n);
            k("elementwise", "xlstm_copy_f32").launch1d(n, stream, win, out(next), n);
            memory.release(next);
        }
    }

    @Override
    public void mlstmParallel(Tensor q, Tensor k, Tensor v, Tensor i, Tensor f, float eps, Tensor h) {
        int b = q.dim(0), nh = i.dim(2);
        int dq = q.dim(2) / nh, dv = v.dim(2) / nh;
        Tensor c = memory.allocate(b, nh, dq, dv), n = memory.allocate(b, nh, dq), m = memory.allocate(b, nh);
        fill(c, 0f);
        fill(n, 0f);
        fill(m, Float.NEGATIVE_INFINITY);
        mlstmChunkwise(q, k, v, i, f, c, n, m, 64, eps, h);
        memory.release(c);
        memory.release(n);
        memory.release(m);
    }

    @Override
    public void mlstmChunkwise(Tensor q, Tensor k, Tensor v, Tensor i, Tensor f, Tensor c, Tensor n, Tensor m,
                               int chunkSize, float eps, Tensor h) {
        if (precision == Precision.BF16 && CudaMlstmTensorCores.run(this, q, k, v, i, f, c, n, m, chunkSize, eps, h)) return;
        int b = q.dim(0), s = q.dim(1), nh = i.dim(2);
        int dq = q.dim(2) / nh, dv = v.dim(2) / nh;
        // The chunk only changes rounding (the forms are equal in exact arithmetic): shrink it to fit shared memory.
        int l = Math.max(1, Math.min(chunkSize, 64));
        while (l > 1 && chunkShared(l, dq, dv) > 200 * 1024) l /= 2;
        int shared = chunkShared(l, dq, dv);
        int chunks = (s + l - 1) / l;
        long stateBytes = (long) b * nh * chunks * ((long) dq * dv + dq + 1) * Float.BYTES;
        // One block per (batch, head) leaves most of the GPU idle when batch × heads is small: then record the state
        // before each chunk in one pass and compute every chunk's outputs at once in a second.
        if (chunks > 1 && b * nh < 2 * multiprocessors() && stateBytes <= stateBudget()) {
            Tensor cs = memory.allocate(b * nh * chunks, dq * dv), ns = memory.allocate(b * nh * chunks, dq),
                    ms = memory.allocate(b * nh * chunks);
            int stateShared = (l * (dq + dv) + 4 * l) * Float.BYTES;
            CudaKernel states = k("mlstm", "xlstm_mlstm_chunk_states_f32");
            if (stateShared > 48 * 1024) states.setMaxDynamicSharedMemory(stateShared);
            states.launch(b * nh, 1, 1, 256, 1, 1, stateShared, stream, in(k), in(v), in(i), in(f), out(c), out(n), out(m),
                    out(cs), out(ns), out(ms), s, nh, dq, dv, l);
            CudaKernel outputs = k("mlstm", "xlstm_mlstm_chunk_outputs_f32");
            if (shared > 48 * 1024) outputs.setMaxDynamicSharedMemory(shared);
            outputs.launch(b * nh, chunks, 1, 256, 1, 1, shared, stream, in(q), in(k), in(v), in(i), in(f), out(cs), out(ns),
                    out(ms), out(h), s, nh, dq, dv, l, eps);
            memory.release(cs);
            memory.release(ns);
            memory.release(ms);
            return;
        }
        CudaKernel kernel = k("mlstm", "xlstm_mlstm_chunkwise_f32");
        if (shared > 48 * 1024) kernel.setMaxDynamicSharedMemory(shared);
        kernel.launch(b * nh, 1, 1, 256, 1, 1, shared, stream, in(q), in(k), in(v), in(i), in(f), out(c), out(n), out(m),
                out(h), s, nh, dq, dv, l, eps);
    }

    private int multiprocessors = -1;
    private long stateBudget = -1;

    /** Scratch the chunk-parallel mLSTM may take for its per-chunk states: a quarter of the free device memory. */
    private long stateBudget() {
        if (stateBudget < 0) stateBudget = ctx.memoryInfo()[0] / 4;
        return stateBudget;
    }

    private int multiprocessors() {
        if (multiprocessors < 0) multiprocessors = ctx.multiprocessorCount();
        return multiprocessors;
    }

    private static int chunkShared(int l, int dq, int dv) {
        return (l * (2 * dq + dv) + l * l + 3 * l) * Float.BYTES;
    }

    @Override
    public void mlstmRecurrent(Tensor q, Tensor k, Tensor v, Tensor i, Tensor f, Tensor c, Tensor n, Tensor m,
                               float eps, Tensor h) {
        mlstmRecurrent(STEP_KERNEL, STEP_COLS, q, k, v, i, f, c, n, m, eps, h);
    }

    /** {@link #prefetchHint}'s weights, until the next mlstmRecurrent takes them (null: none). */
    private Tensor prefetchHint;

    @Override
    public void prefetchHint(Tensor weights) { prefetchHint = weights; }

    /** Block counters of the column-sliced step (zero between launches: each launch's last blocks reset theirs). */
    private Tensor stepCounters;

    /** {@link #mlstmRecurrent} with the given kernels (where they take the shapes; else the next in the list). */
    void mlstmRecurrent(StepKernel kind, int cols, Tensor q, Tensor k, Tensor v, Tensor i, Tensor f, Tensor c,
                        Tensor n, Tensor m, float eps, Tensor h) {
        Tensor hint = prefetchHint;
        prefetchHint = null;
        int b = q.dim(0), s = q.dim(1), nh = i.dim(2);
        int dq = q.dim(2) / nh, dv = v.dim(2) / nh;
        boolean vectors = dv % 4 == 0 && in(v) % 16 == 0 && out(c) % 16 == 0;
        int sliceCols = Math.min(cols, dv), colShared = (32 + ((3 * dq + 3) & ~3)
                + STEP_COLS_THREADS / Math.max(1, sliceCols / 4) * sliceCols) * Float.BYTES;
        // the counters are allocated (and zeroed) by an eager step, never inside a graph capture
        boolean counters = stepCounters != null || graphs.capturingIds() == 0;
        if (kind == StepKernel.COLS && vectors && counters && b * nh <= STEP_COUNTERS && sliceCols % 4 == 0
                && sliceCols <= 4 * STEP_COLS_THREADS && colShared <= 48 * 1024) {
            if (stepCounters == null) {
                stepCounters = memory.allocate(STEP_COUNTERS);
                fill(stepCounters, 0f);   // float 0 is the unsigned 0
            }
            // the hinted weights as the decode products read them (their bf16 copies): the kernel asks L2 for them
            boolean ask = hint != null && precision == Precision.BF16;
            long ahead = ask ? weightBf16(hint) : 0L, aheadBytes = ask ? hint.size() * 2L : 0L;
            k("mlstm_step", "xlstm_mlstm_step_cols_f32").launchDependent(b * nh, (dv + sliceCols - 1) / sliceCols, 1,
                    STEP_COLS_THREADS, 1, 1, colShared, stream, in(q), in(k), in(v), in(i), in(f), out(c), out(n), out(m),
                    out(h), out(stepCounters), s, nh, dq, dv, sliceCols, eps, ahead, aheadBytes);
            return;
        }
        if (kind != StepKernel.SPLIT && vectors && dv <= 4 * STEP_THREADS) {
            // one kernel, one block per (batch, head), the state in flight with 16-byte accesses (mlstm_step.cu)
            int groups = STEP_THREADS / (dv / 4), shared = (32 + ((3 * dq + 3) & ~3) + groups * dv) * Float.BYTES;
            k("mlstm_step", "xlstm_mlstm_step_fused_f32").launchDependent(b * nh, 1, 1, STEP_THREADS, 1, 1, shared, stream,
                    in(q), in(k), in(v), in(i), in(f), out(c), out(n), out(m), out(h), s, nh, dq, dv, eps);
            return;
        }
        // two kernels (kernels/src/mlstm_step.cu): the normaliser per (batch, head), then the state update spread over
        // (batch, head, 32 columns)
        Tensor den = memory.allocate(b * s * nh), mp = memory.allocate(b * s * nh);
        k("mlstm_step", "xlstm_mlstm_step_norm_f32").launchDependent(b * nh, 1, 1, 128, 1, 1, dq * Float.BYTES, stream, in(q), in(k),
                in(i), in(f), out(n), out(m), out(den), out(mp), s, nh, dq, eps);
        k("mlstm_step", "xlstm_mlstm_step_state_f32").launchDependent(b * nh, (dv + 31) / 32, 1, 32, 8, 1, 2 * dq * Float.BYTES,
                stream, in(q), in(k), in(v), in(i), in(f), out(c), out(mp), out(den), out(h), s, nh, dq, dv);
        memory.release(den);
        memory.release(mp);
    }

    @Override
    public void slstmRecurrent(Tensor xi, Tensor xf, Tensor xz, Tensor xo, Tensor r, Tensor bias, Tensor h, Tensor c,
                               Tensor n, Tensor m, Tensor y) {
        if (CudaSlstmCluster.run(this, xi, xf, xz, xo, r, bias, h, c, n, m, y)) return;
        int b = xi.dim(0), s = xi.dim(1), nh = r.dim(0), dh = r.dim(1);
        if (dh > 1024) throw new IllegalArgumentException("sLSTM head dim " + dh + " exceeds 1024 threads per block");
        int rBytes = dh * 4 * dh * Float.BYTES;
        boolean useShared = rBytes + dh * Float.BYTES <= 200 * 1024;
        int shared = (useShared ? rBytes : 0) + dh * Float.BYTES;
        CudaKernel kernel = k("slstm", "xlstm_slstm_recurrent_f32");
        if (shared > 48 * 1024) kernel.setMaxDynamicSharedMemory(shared);
        kernel.launch(b * nh, 1, 1, dh, 1, 1, shared, stream, in(xi), in(xf), in(xz), in(xo), in(r), in(bias), out(h),
                out(c), out(n), out(m), out(y), s, nh, dh, useShared ? 1 : 0);
    }

    // ------------------------------------------------------------------ memory

    /** A workspace whose chunks are device memory (freed with this backend's {@link DeviceTensors}). */
    @Override
    public org.xlstm.jvm.tensor.Workspace newWorkspace() {
        return new org.xlstm.jvm.tensor.Workspace(new org.xlstm.jvm.tensor.Workspace.Memory() {
            @Override
            public java.lang.foreign.MemorySegment allocate(long bytes) { return memory.allocateSegment(bytes); }

            @Override
            public void zero(Tensor t) { fill(t, 0f); }

            @Override
            public void release() {}   // the chunks belong to DeviceTensors, freed when it closes
        });
    }

    @Override
    public boolean hostMemory() { return false; }

    /**
     * The device copy of a host parameter, made once: every model instance built over the same host tensors (shared
     * weights, one instance per generating thread) computes with one device copy. Freed with {@link DeviceTensors}.
     */
    @Override
    public Tensor resident(Tensor host) {
        if (DeviceTensors.isDevice(host)) return host;
        DeviceParam p = param(host);
        synchronized (p) {
            if (p.resident == null) {
                Tensor d = memory.allocate(host.shape());
                ctx.copyToDevice(out(d), host.segment(), host.size() * Float.BYTES, stream);   // stream-ordered
                p.resident = d;
            }
            return p.resident;
        }
    }

    @Override
    public void permute(Tensor x, int[] order, Tensor y) {
        if (!DeviceTensors.isDevice(x) && !DeviceTensors.isDevice(y)) {
            Ops.super.permute(x, order, y);
            return;
        }
        int n = x.rank();
        if (n > 6 || order.length != n) throw new IllegalArgumentException("permute supports rank <= 6; got " + n);
        int[] xs = x.shape();
        long[] stride = new long[n];
        long st = 1;
        for (int d = n - 1; d >= 0; d--) { stride[d] = st; st *= xs[d]; }
        Object[] args = new Object[3 + 6 + 6 + 1];
        args[0] = out(y);
        args[1] = in(x);
        args[2] = n;
        for (int d = 0; d < 6; d++) {
            args[3 + d] = d < n ? xs[order[d]] : 1;
            args[9 + d] = d < n ? stride[order[d]] : 0L;
        }
        args[15] = x.size();
        k("layout", "xlstm_permute_f32").launch1d(x.size(), stream, args);
    }

    /** A zero-filled device tensor (recurrent states). */
    @Override
    public Tensor allocate(int... shape) {
        Tensor t = memory.allocateManaged(shape);   // freed once unreachable, like host states
        fill(t, 0f);
        return t;
    }

    /** Sets every element of a device tensor. */
    @Override
    public void fill(Tensor t, float value) {
        k("elementwise", "xlstm_fill_f32").launch1d(t.size(), stream, out(t), value, t.size());
    }

    @Override
    public void fillEach(java.util.List<Tensor> ts, float value) {
        if (CudaGradOps.allDevice(ts)) gradOps().fillEach(ts, value);
        else Ops.super.fillEach(ts, value);
    }

    @Override
    public void copy(Tensor src, Tensor dst) {
        long bytes = src.size() * Float.BYTES;
        boolean ds = DeviceTensors.isDevice(src), dd = DeviceTensors.isDevice(dst);
        if (ds && dd) k("elementwise", "xlstm_copy_f32").launch1d(src.size(), stream, out(dst), in(src), src.size());
        else if (dd) {
            stream.synchronize();
            ctx.copyToDevice(out(dst), src.segment(), bytes);
        } else if (ds) {
            stream.synchronize();
            ctx.copyToHost(dst.segment(), DeviceTensors.address(src), bytes);
        } else dst.copyFrom(src);
    }

    /** Waits for the stream, then copies device memory to the host array. */
    @Override
    public void read(Tensor t, long index, float[] dst, int offset, int length) {
        if (!DeviceTensors.isDevice(t)) {
            Ops.super.read(t, index, dst, offset, length);
            return;
        }
        stream.synchronize();
        float[] part = ctx.downloadFloats(DeviceTensors.address(t) + index * Float.BYTES, length);
        System.arraycopy(part, 0, dst, offset, length);
    }

    @Override
    public void close() {
        graphs.close();
        blas.close();
        stream.close();
    }
}
