package org.xlstm.jvm.backend.cuda;

import org.xlstm.jvm.cuda.CudaKernel;
import org.xlstm.jvm.tensor.Tensor;

/**
 * {@link org.xlstm.jvm.backend.Ops#mlstmChunkwise} on tensor cores for the BF16 precision (kernels/src/mlstm_tc.cu):
 * q, k, v rounded to bfloat16 as the kernels load them, float32 accumulation, gates, stabilisers and states in
 * float32. Two passes per segment of chunks: {@code xlstm_mlstm_tc_states} walks the chunks once per tile of the
 * state C (grid B·NH × DQ/TQ × DV/TV) and records the state before each chunk; {@code xlstm_mlstm_tc_outputs}
 * computes every chunk's outputs at once from those states (grid B·NH × chunks × DV/TV).
 *
 * <p>The chunk length is the kernels' own choice (64, less only for short sequences or to fit shared memory): the
 * chunkwise forms are equal in exact arithmetic for every chunk length, it only changes rounding, as in the float32
 * path.
 */
final class CudaMlstmTensorCores {
    private CudaMlstmTensorCores() {}

    private static final int STATE_THREADS = 128, OUT_THREADS = 256, OUT_WARPS = OUT_THREADS / 32;
    private static final int PAD_BF16 = 8, PAD_F32 = 4;
    /** Recorded chunk states per segment at most; longer sequences run as several segments, state carried between. */
    private static final long SEGMENT_BYTES = 256L << 20;

    /** Launch shapes: chunk length, the outputs pass's column tile and the states pass's C tile, shared bytes. */
    record Plan(int chunk, int outTile, int outShared, int stateRows, int stateCols, int stateShared) {}

    /**
     * Runs the tensor-core forward and returns true, or returns false (having done nothing) when the shape is not
     * one it handles: head dimensions not multiples of 16, or no tiling that fits the device's shared memory.
     */
    static boolean run(CudaOps ops, Tensor q, Tensor k, Tensor v, Tensor i, Tensor f, Tensor c, Tensor n, Tensor m,
                       int chunkSize, float eps, Tensor h) {
        int b = q.dim(0), s = q.dim(1), nh = i.dim(2);
        int dq = q.dim(2) / nh, dv = v.dim(2) / nh;
        if (s == 0 || b == 0) return false;
        Plan p = plan(s, dq, dv, ops.context().computeCapability());
        if (p == null) return false;
        int l = p.chunk(), chunks = (s + l - 1) / l;
        long perChunk = (long) b * nh * ((long) dq * dv + dq + 1) * Float.BYTES;
        int segChunks = (int) Math.max(1, Math.min(Math.min(chunks, 65535), SEGMENT_BYTES / perChunk));

        DeviceTensors mem = ops.memory();
        Tensor cs = mem.allocate(b * nh * segChunks, dq * dv), ns = mem.allocate(b * nh * segChunks, dq),
                ms = mem.allocate(b * nh * segChunks), mOut = mem.allocate(b * nh);
        CudaKernel states = ops.kernel("mlstm_tc", "xlstm_mlstm_tc_states");
        CudaKernel outputs = ops.kernel("mlstm_tc", "xlstm_mlstm_tc_outputs");
        if (p.stateShared() > 48 * 1024) states.setMaxDynamicSharedMemory(p.stateShared());
        if (p.outShared() > 48 * 1024) outputs.setMaxDynamicSharedMemory(p.outShared());
        long aq = ops.input(q), ak = ops.input(k), av = ops.input(v), ai = ops.input(i), af = ops.input(f);
        long ac = CudaOps.output(c), an = CudaOps.output(n), am = CudaOps.output(m), ah = CudaOps.output(h);
        long acs = CudaOps.output(cs), ans = CudaOps.output(ns), ams = CudaOps.output(ms), amOut = CudaOps.output(mOut);
        for (int c0 = 0; c0 < chunks; c0 += segChunks) {
            int segN = Math.min(segChunks, chunks - c0), tbase = c0 * l, sseg = Math.min(s, tbase + segN * l) - tbase;
            states.launch(b * nh, dq / p.stateRows(), dv / p.stateCols(), STATE_THREADS, 1, 1, p.stateShared(),
                    ops.stream(), ak, av, ai, af, ac, an, am, amOut, acs, ans, ams, s, nh, dq, dv, l, tbase, sseg,
                    p.stateRows(), p.stateCols());
            // every states block reads m before any may write it: the final m comes back through scratch
            ops.copy(mOut, m);
            outputs.launch(b * nh, segN, dv / p.outTile(), OUT_THREADS, 1, 1, p.outShared(), ops.stream(), aq, ak, av,
                    ai, af, acs, ans, ams, ah, s, nh, dq, dv, l, tbase, sseg, p.outTile(), eps);
        }
        mem.release(cs);
        mem.release(ns);
        mem.release(ms);
        mem.release(mOut);
        return true;
    }

    /**
     * The launch shapes for sequence length s and head dimensions dq, dv on a device of compute capability cc, or
     * null. Prefers two output blocks per multiprocessor with a column tile of at least 64 (fewer recomputed score
     * tiles), then one block per multiprocessor, then any tile; within each, the longest chunk, then the widest tile.
     */
    static Plan plan(int s, int dq, int dv, int cc) {
        if (dq <= 0 || dv <= 0 || dq % 16 != 0 || dv % 16 != 0) return null;
        int limit = sharedLimit(cc), twoPerSm = (limit + 1024) / 2 - 1024;
        int l0 = 64;
        while (l0 > 16 && l0 / 2 >= s) l0 /= 2;   // short sequences: less padding
        int wide = Math.min(64, dv);
        int[][] passes = {{twoPerSm, wide}, {limit, wide}, {limit, 16}};
        for (int[] pass : passes)
            for (int l = l0; l >= 16; l /= 2)
                for (int tv = Math.min(dv, 128) / 16 * 16; tv >= pass[1]; tv -= 16) {
                    if (dv % tv != 0) continue;
                    int shared = outShared(l, dq, tv);
                    if (shared > pass[0]) continue;
                    int tq = dq % 32 == 0 ? 32 : 16, tvs = dv % 32 == 0 ? 32 : 16;
                    return new Plan(l, tv, shared, tq, tvs, stateShared(l, tq, tvs));
                }
        return null;
    }

    /** Opt-in dynamic shared memory per block: 227 KB on sm_90 (and sm_100), 163 KB on sm_80/87, else 99 KB. */
    static int sharedLimit(int cc) {
        if (cc == 90 || cc == 100 || cc == 103) return 232448;
        if (cc == 80 || cc == 87) return 166912;
        return 101376;
    }

    private static int align128(long bytes) { return (int) ((bytes + 127) & ~127L); }

    /** Dynamic shared bytes of xlstm_mlstm_tc_outputs (its layout comment; the same sums in the same order). */
    static int outShared(int l, int dq, int tv) {
        return align128((long) l * (l + dq + PAD_BF16) * 2) + align128((long) l * (dq + PAD_BF16) * 2)
                + align128((long) (l + dq) * (tv + PAD_BF16) * 2)
                + align128((long) Math.max(l * (l + PAD_F32), OUT_WARPS * 256) * 4) + align128((long) dq * 4)
                + 4 * l * 4;
    }

    /** Dynamic shared bytes of xlstm_mlstm_tc_states. */
    static int stateShared(int l, int tq, int tv) {
        return align128((long) l * (tq + PAD_BF16) * 2) + align128((long) l * (tv + PAD_BF16) * 2)
                + align128((long) l * tv * 4) + align128((long) tq * (tv + PAD_F32) * 4) + (3 * l + tq + 2) * 4;
    }
}
