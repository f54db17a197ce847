package org.xlstm.jvm.backend.cuda;

import org.xlstm.jvm.tensor.Tensor;

/**
 * The chunkwise mLSTM backward on the GPU, float32, one block per (batch, head) (kernels/src/mlstm_backward_seq.cu):
 * the CPU engine's algorithm with each step's vector work spread over the block's threads. Exact like the CPU's;
 * parallel only over batch × heads, so far from the tensor-core forward's speed, but it keeps training on the device.
 */
final class CudaMlstmBackwardSeq {
    private CudaMlstmBackwardSeq() {}

    private static final int THREADS = 256, MAX_SHARED = 200 * 1024;

    static int sharedBytes(int l, int dk, int dv) {
        return 5 * l * Double.BYTES + (2 * l * dk + 2 * l * dv + 2 * l * l + 4 * l + 2 * dv + dk) * Float.BYTES;
    }

    /** The chunk length it runs with: the requested one (at most 64), halved until its shared memory fits; 0 if none. */
    static int chunk(int chunkSize, int dk, int dv) {
        int l = Math.max(1, Math.min(chunkSize, 64));
        while (l >= 8 && sharedBytes(l, dk, dv) > MAX_SHARED) l /= 2;
        return l >= 8 || sharedBytes(l, dk, dv) <= MAX_SHARED ? l : 0;
    }

    /** Returns false (nothing done) when the head dimensions leave no chunk length that fits in shared memory. */
    static boolean run(CudaOps ops, Tensor q, Tensor k, Tensor v, Tensor i, Tensor f, float m0, int chunkSize, float eps,
                       Tensor dh, Tensor dq, Tensor dk, Tensor dv, Tensor di, Tensor df) {
        int b = q.dim(0), s = q.dim(1), nh = i.dim(2);
        int dqk = q.dim(2) / nh, dvh = v.dim(2) / nh;
        if (s == 0) return true;
        int l = chunk(chunkSize, dqk, dvh);
        if (l == 0) return false;
        int nc = (s + l - 1) / l;
        DeviceTensors mem = ops.memory();
        Tensor cs = mem.allocate(b * nh * nc, dqk * dvh), ns = mem.allocate(b * nh * nc, dqk), ms = mem.allocate(b * nh * nc),
                dC = mem.allocate(b * nh, dqk * dvh), dn = mem.allocate(b * nh, dqk);
        int shared = sharedBytes(l, dqk, dvh);
        org.xlstm.jvm.cuda.CudaKernel kernel = ops.kernel("mlstm_backward_seq", "xlstm_mlstm_backward_seq_f32");
        if (shared > 48 * 1024) kernel.setMaxDynamicSharedMemory(shared);
        kernel.launch(b * nh, 1, 1, THREADS, 1, 1, shared, ops.stream(), ops.input(q), ops.input(k), ops.input(v),
                ops.input(i), ops.input(f), ops.input(dh), CudaOps.output(dq), CudaOps.output(dk), CudaOps.output(dv),
                CudaOps.output(di), CudaOps.output(df), CudaOps.output(cs), CudaOps.output(ns), CudaOps.output(ms),
                CudaOps.output(dC), CudaOps.output(dn), s, nh, dqk, dvh, l, m0, eps);
        mem.release(cs);
        mem.release(ns);
        mem.release(ms);
        mem.release(dC);
        mem.release(dn);
        return true;
    }
}
