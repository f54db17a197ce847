package org.xlstm.jvm.backend.cuda;

import org.xlstm.jvm.backend.GradChecks;
import org.xlstm.jvm.cuda.CudaKernel;
import org.xlstm.jvm.cuda.Cublas;
import org.xlstm.jvm.tensor.Tensor;

/**
 * Backward through time of the sLSTM recurrence on the GPU (kernels/src/slstm_backward.cu): a fixed number of
 * launches per layer call, none per time step. The forward is run again with the forward kernel's arithmetic,
 * keeping every step's gate pre-activations, states and recurrent input on a tape {@code [B, S, NH, 8, DH]}; one
 * block per (batch row, head) then walks back in time with the recurrent matrix (transposed) in shared memory when it
 * fits, writing the gate gradients to dx* and over the tape's pre-activations; the parameter gradients are then
 * reductions over the tape's (b, t) rows: dR by one cuBLAS product batched over heads, dbias by a fixed-order column
 * sum. Deterministic; dR and dbias accumulate, dx* are overwritten.
 */
final class CudaSlstmBackward {
    private CudaSlstmBackward() {}

    /** Shared memory one block may take for R (the forward's budget, CudaSlstmCluster.SHARED_BUDGET, under 227 KB). */
    static final int SHARED_BUDGET = CudaSlstmCluster.SHARED_BUDGET;

    /** Tape slots per (b, t, head): pre-activations i, f, z, o; states c, n, m after the step; h before it. */
    static final int SLOTS = 8, H_PREV = 7;

    /** True when the backward block keeps R (transposed) in shared memory, beside its double-buffered gate gradients. */
    static boolean backwardFits(int dh) {
        return (4L * dh * dh + 8L * dh) * Float.BYTES <= SHARED_BUDGET;
    }

    /**
     * {@link org.xlstm.jvm.backend.GradOps#slstmBackward} on {@code ops}' stream. Throws
     * {@link UnsupportedOperationException} (the caller then falls back to the host) for head dims above 1024, one
     * thread per hidden unit being the kernels' layout.
     */
    static void run(CudaOps ops, Tensor xi, Tensor xf, Tensor xz, Tensor xo, Tensor r, Tensor bias, Tensor dy,
                    Tensor dxi, Tensor dxf, Tensor dxz, Tensor dxo, Tensor dr, Tensor dbias) {
        GradChecks.slstm(xi, xf, xz, xo, r, bias, dy, dxi, dxf, dxz, dxo, dr, dbias);
        int b = xi.dim(0), s = xi.dim(1), nh = r.dim(0), dh = r.dim(1);
        if (dh > 1024)
            throw new UnsupportedOperationException("sLSTM backward: head dim " + dh + " exceeds 1024 threads per block");
        if ((long) b * s * nh * dh == 0) return;   // nothing flows: dx* are empty, dR and dbias gain 0
        if ((long) b * nh > Integer.MAX_VALUE || (long) b * s > Integer.MAX_VALUE)
            throw new IllegalArgumentException("slstmBackward: B=" + b + ", S=" + s + ", NH=" + nh + " exceed one launch");
        long xiA = ops.input(xi), xfA = ops.input(xf), xzA = ops.input(xz), xoA = ops.input(xo), rA = ops.input(r),
                biasA = ops.input(bias), dyA = ops.input(dy);
        DeviceTensors mem = ops.memory();
        Tensor rt = mem.allocate(nh, 4 * dh, dh), tape = mem.allocate(b, s, nh, SLOTS * dh);
        try {
            long rtA = DeviceTensors.address(rt), tapeA = DeviceTensors.address(tape);
            ops.kernel("slstm_backward", "xlstm_slstm_bw_transpose_f32").launch1d((long) nh * 4 * dh * dh, ops.stream(),
                    rA, rtA, nh, dh);

            boolean tapeShared = CudaSlstmCluster.oneBlockFits(dh);   // the forward kernel's rule
            int tapeBytes = ((tapeShared ? 4 * dh * dh : 0) + dh) * Float.BYTES;
            CudaKernel tapeKernel = ops.kernel("slstm_backward", "xlstm_slstm_bw_tape_f32");
            if (tapeBytes > 48 * 1024) tapeKernel.setMaxDynamicSharedMemory(tapeBytes);
            tapeKernel.launch(b * nh, 1, 1, dh, 1, 1, tapeBytes, ops.stream(), xiA, xfA, xzA, xoA, rA, biasA, tapeA, s, nh,
                    dh, tapeShared ? 1 : 0);

            boolean bwShared = backwardFits(dh);
            int bwBytes = ((bwShared ? 4 * dh * dh : 0) + 8 * dh) * Float.BYTES;
            CudaKernel bw = ops.kernel("slstm_backward", "xlstm_slstm_bw_f32");
            if (bwBytes > 48 * 1024) bw.setMaxDynamicSharedMemory(bwBytes);
            bw.launch(b * nh, 1, 1, dh, 1, 1, bwBytes, ops.stream(), rtA, dyA, tapeA, CudaOps.output(dxi),
                    CudaOps.output(dxf), CudaOps.output(dxz), CudaOps.output(dxo), s, nh, dh, bwShared ? 1 : 0);

            int rows = b * s, ld = nh * SLOTS * dh;
            if (dr != null) {
                // per head h: dR_h[k, (g, j)] += Σ_rows hprev[row, h, k] · dgate[row, h, (g, j)]; both factors are
                // column blocks of the tape (row stride ld), the heads SLOTS·DH columns apart; dR_h is [DH, 4·DH]
                int compute = ops.tf32() ? Cublas.COMPUTE_32F_FAST_TF32 : Cublas.COMPUTE_32F;
                ops.blas().gemmStridedBatched(true, false, dh, 4 * dh, rows,
                        tapeA + (long) H_PREV * dh * Float.BYTES, Cublas.R_32F, ld, (long) SLOTS * dh,
                        tapeA, Cublas.R_32F, ld, (long) SLOTS * dh,
                        CudaOps.output(dr), 4 * dh, 4L * dh * dh, nh, true, compute);
            }
            if (dbias != null)
                ops.kernel("slstm_backward", "xlstm_slstm_bw_bias_f32").launch((4 * dh + 31) / 32, nh, 1, 32, 32, 1, 32 * 33 * Float.BYTES,
                        ops.stream(), tapeA, CudaOps.output(dbias), (long) rows, nh, dh);
        } finally {
            mem.release(tape);   // safe while the kernels are queued: everything runs on one stream
            mem.release(rt);
        }
    }
}
