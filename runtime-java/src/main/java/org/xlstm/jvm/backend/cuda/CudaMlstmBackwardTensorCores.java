package org.xlstm.jvm.backend.cuda;

import org.xlstm.jvm.cuda.CudaKernel;
import org.xlstm.jvm.tensor.Tensor;

/**
 * Backward of the chunkwise mLSTM cell on tensor cores for the BF16 precision (kernels/src/mlstm_tc_backward.cu):
 * bf16 products with float32 accumulation, gates, stabilisers and per-row quantities in float32, the stabilisers
 * taken as constants (as the official chunkwise kernels do; the output depends on them only through eps). Four
 * launches, all parallel over chunks:
 * <ol>
 *   <li>the forward's states pass ({@code xlstm_mlstm_tc_states}) from the zero state: C, n, m before each chunk;</li>
 *   <li>{@code xlstm_mlstm_tc_bwd_rows}: per row the normaliser's inverse and the gradients of the denominator and of
 *       the inter-chunk weight;</li>
 *   <li>{@code xlstm_mlstm_tc_bwd_states}: the gradient of the state after each chunk, chunks last to first, one
 *       tile of dC per block;</li>
 *   <li>{@code xlstm_mlstm_tc_bwd_chunk}: dq, dk, dv, di, df of each chunk.</li>
 * </ol>
 * Checked against finite differences of a float64 recurrent cell on the CPU emulator
 * ({@code kernels/emu/run.sh mlstm_tc_backward}, also with EXACT=1 to float precision) and on the GPU by
 * CudaMlstmBackwardTensorCoresTest.
 */
final class CudaMlstmBackwardTensorCores {
    private CudaMlstmBackwardTensorCores() {}

    private static final int STATE_THREADS = 128, CHUNK_THREADS = 256;
    /** Scratch above which the float32 kernel runs instead (the chunk states and their gradients are kept whole). */
    private static final long MAX_SCRATCH_BYTES = 4L << 30;

    /** Launch shapes: chunk length, state tile, and each kernel's dynamic shared bytes. */
    record Plan(int chunk, int tileRows, int tileCols, int rowsShared, int statesShared, int backStatesShared,
                int chunkShared) {}

    /** Returns false (having done nothing) when the shape is not one it handles; then the float32 kernel runs. */
    static boolean run(CudaOps ops, Tensor q, Tensor k, Tensor v, Tensor i, Tensor f, float m0, int chunkSize, float eps,
                       Tensor dh, Tensor dq, Tensor dk, Tensor dv, Tensor di, Tensor df) {
        int b = q.dim(0), s = q.dim(1), nh = i.dim(2);
        int dqk = q.dim(2) / nh, dvh = v.dim(2) / nh;
        if (s == 0 || b == 0) return false;
        Plan p = plan(s, dqk, dvh, ops.context().computeCapability());
        if (p == null) return false;
        int l = p.chunk(), nc = (s + l - 1) / l, bh = b * nh;
        long states = (long) bh * nc * ((long) dqk * dvh + dqk);
        if ((2 * states + 2L * bh * nc + 5L * bh * s) * Float.BYTES > MAX_SCRATCH_BYTES) return false;

        DeviceTensors mem = ops.memory();
        Tensor c0 = mem.allocate(bh, dqk * dvh), n0 = mem.allocate(bh, dqk), mIn = mem.allocate(bh), mOut = mem.allocate(bh);
        Tensor cs = mem.allocate(bh * nc, dqk * dvh), ns = mem.allocate(bh * nc, dqk), ms = mem.allocate(bh * nc);
        Tensor dcs = mem.allocate(bh * nc, dqk * dvh), dns = mem.allocate(bh * nc, dqk);
        Tensor rinv = mem.allocate(bh, s), dden = mem.allocate(bh, s), dloga = mem.allocate(bh, s),
                coefA = mem.allocate(bh, s), coefN = mem.allocate(bh, s), decay = mem.allocate(bh * nc);
        ops.fill(c0, 0f);
        ops.fill(n0, 0f);
        ops.fill(mIn, m0);

        CudaKernel fwdStates = kernel(ops, "mlstm_tc", "xlstm_mlstm_tc_states", p.statesShared());
        CudaKernel rows = kernel(ops, "mlstm_tc_backward", "xlstm_mlstm_tc_bwd_rows", p.rowsShared());
        CudaKernel backStates = kernel(ops, "mlstm_tc_backward", "xlstm_mlstm_tc_bwd_states", p.backStatesShared());
        CudaKernel chunk = kernel(ops, "mlstm_tc_backward", "xlstm_mlstm_tc_bwd_chunk", p.chunkShared());
        long aq = ops.input(q), ak = ops.input(k), av = ops.input(v), ai = ops.input(i), af = ops.input(f),
                adh = ops.input(dh);
        long acs = CudaOps.output(cs), ans = CudaOps.output(ns), ams = CudaOps.output(ms), adcs = CudaOps.output(dcs),
                adns = CudaOps.output(dns), arinv = CudaOps.output(rinv), adden = CudaOps.output(dden),
                adloga = CudaOps.output(dloga), acoefA = CudaOps.output(coefA), acoefN = CudaOps.output(coefN),
                adecay = CudaOps.output(decay);
        Timer timer = TIMING ? new Timer(ops) : null;
        int tq = p.tileRows(), tv = p.tileCols();
        fwdStates.launch(bh, dqk / tq, dvh / tv, STATE_THREADS, 1, 1, p.statesShared(), ops.stream(), ak, av, ai, af,
                CudaOps.output(c0), CudaOps.output(n0), CudaOps.output(mIn), CudaOps.output(mOut), acs, ans, ams, s, nh,
                dqk, dvh, l, 0, s, tq, tv);
        if (timer != null) timer.lap("states (forward recomputed)");
        rows.launch(bh, nc, 1, CHUNK_THREADS, 1, 1, p.rowsShared(), ops.stream(), aq, ak, av, ai, af, adh, acs, ans, ams,
                arinv, adden, adloga, acoefA, acoefN, adecay, s, nh, dqk, dvh, l, eps);
        if (timer != null) timer.lap("rows");
        backStates.launch(bh, dqk / tq, dvh / tv, STATE_THREADS, 1, 1, p.backStatesShared(), ops.stream(), aq, adh,
                acoefA, acoefN, adecay, adcs, adns, s, nh, dqk, dvh, l, tq, tv);
        if (timer != null) timer.lap("state gradients");
        chunk.launch(bh, nc, 1, CHUNK_THREADS, 1, 1, p.chunkShared(), ops.stream(), aq, ak, av, ai, af, adh, acs, ans,
                ams, adcs, adns, arinv, adden, adloga, CudaOps.output(dq), CudaOps.output(dk), CudaOps.output(dv),
                CudaOps.output(di), CudaOps.output(df), s, nh, dqk, dvh, l);
        if (timer != null) timer.lap("chunks");
        for (Tensor t : new Tensor[] {c0, n0, mIn, mOut, cs, ns, ms, dcs, dns, rinv, dden, dloga, coefA, coefN, decay})
            mem.release(t);
        return true;
    }

    /** -Dxlstm.cuda.mlstmBackwardTiming=true: each launch waited for and its time printed (diagnostics only). */
    private static final boolean TIMING = Boolean.getBoolean("xlstm.cuda.mlstmBackwardTiming");

    private static final class Timer {
        private final CudaOps ops;
        private long last;

        Timer(CudaOps ops) {
            this.ops = ops;
            ops.synchronize();
            last = System.nanoTime();
        }

        void lap(String what) {
            ops.synchronize();
            long now = System.nanoTime();
            System.err.printf("[mlstm-bw-tc] %-28s %8.3f ms%n", what, (now - last) / 1e6);
            last = now;
        }
    }

    private static CudaKernel kernel(CudaOps ops, String module, String name, int shared) {
        CudaKernel kernel = ops.kernel(module, name);
        if (shared > 48 * 1024) kernel.setMaxDynamicSharedMemory(shared);
        return kernel;
    }

    /**
     * Launch shapes for sequence length s and head dimensions dq, dv on a device of compute capability cc, or null:
     * head dimensions multiples of 16, the longest chunk (64, shorter for short sequences) whose per-chunk kernels
     * fit in shared memory (they hold a chunk's q, k, v, dh and a whole DQ × DV state).
     */
    static Plan plan(int s, int dq, int dv, int cc) {
        if (dq <= 0 || dv <= 0 || dq % 16 != 0 || dv % 16 != 0) return null;
        int limit = CudaMlstmTensorCores.sharedLimit(cc);
        int l = 64;
        while (l > 16 && l / 2 >= s) l /= 2;
        for (; l >= 16; l /= 2) {
            int rows = rowsShared(l, dq, dv), chunk = chunkShared(l, dq, dv);
            if (rows > limit || chunk > limit) continue;
            int tq = dq % 32 == 0 ? 32 : 16, tv = dv % 32 == 0 ? 32 : 16;
            return new Plan(l, tq, tv, rows, CudaMlstmTensorCores.stateShared(l, tq, tv), backStatesShared(l, tq, tv), chunk);
        }
        return null;
    }

    private static int align128(long bytes) { return (int) ((bytes + 127) & ~127L); }

    /** Dynamic shared bytes of xlstm_mlstm_tc_bwd_rows (its layout comment, the same sums in the same order). */
    static int rowsShared(int l, int dq, int dv) {
        return 2 * align128((long) l * (dq + 8) * 2) + 2 * align128((long) l * (dv + 8) * 2)
                + align128((long) dq * (dv + 8) * 2) + 2 * align128((long) l * (l + 4) * 4)
                + align128((long) l * (dq + 4) * 4) + align128((long) dq * 4) + (5 * l + 2) * 4;
    }

    /** Dynamic shared bytes of xlstm_mlstm_tc_bwd_states. */
    static int backStatesShared(int l, int tq, int tv) {
        return align128((long) l * (tq + 8) * 2) + align128((long) l * (tv + 8) * 2) + align128((long) l * tq * 4)
                + align128((long) tq * (tv + 4) * 4) + (2 * l + tq) * 4;
    }

    /** Dynamic shared bytes of xlstm_mlstm_tc_bwd_chunk. */
    static int chunkShared(int l, int dq, int dv) {
        return 2 * align128((long) l * (dq + 8) * 2) + 2 * align128((long) l * (dv + 8) * 2)
                + align128((long) dq * (dv + 8) * 2) + 2 * align128((long) l * (l + 8) * 2)
                + align128((long) l * (l + 4) * 4) + align128((long) Math.max(l * (l + 4), 8 * 512) * 4)
                + align128((long) l * (dq + 4) * 4) + 2 * align128((long) dq * 4) + (11 * l + 32 + 2) * 4;
    }
}
