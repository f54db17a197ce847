package org.xlstm.jvm.backend.cuda;

import java.lang.foreign.Arena;
import org.xlstm.jvm.backend.GradOps;
import org.xlstm.jvm.backend.cpu.CpuGradOps;
import org.xlstm.jvm.tensor.Tensor;

/**
 * The recurrent cells' backward through the CPU engine, for device tensors: inputs copied to the host, the CPU's
 * backward run there, results copied back (parameter gradients added as on the device). Used only while a cell has
 * no device kernel: correct, and slow for large models (the copies and the CPU kernel), so GPU training works end to
 * end in every precision before the fused kernels do.
 */
final class HostBackward {
    private HostBackward() {}

    private static final GradOps CPU = new CpuGradOps();

    private static Tensor down(CudaOps ops, Arena a, Tensor t) {
        if (t == null) return null;
        Tensor h = Tensor.allocate(a, t.shape());
        ops.copy(t, h);
        return h;
    }

    private static Tensor scratch(Arena a, Tensor like) { return like == null ? null : Tensor.allocate(a, like.shape()); }

    private static void up(CudaOps ops, Tensor host, Tensor device) {
        if (device != null) ops.copy(host, device);
    }

    static void mlstm(CudaOps ops, Tensor q, Tensor k, Tensor v, Tensor i, Tensor f, float m0, int chunkSize, float eps,
                      Tensor dh, Tensor dq, Tensor dk, Tensor dv, Tensor di, Tensor df) {
        try (Arena a = Arena.ofShared()) {   // the CPU kernels run on several threads
            Tensor hq = scratch(a, dq), hk = scratch(a, dk), hv = scratch(a, dv), hi = scratch(a, di), hf = scratch(a, df);
            CPU.mlstmChunkwiseBackward(down(ops, a, q), down(ops, a, k), down(ops, a, v), down(ops, a, i), down(ops, a, f), m0,
                    chunkSize, eps, down(ops, a, dh), hq, hk, hv, hi, hf);
            up(ops, hq, dq);
            up(ops, hk, dk);
            up(ops, hv, dv);
            up(ops, hi, di);
            up(ops, hf, df);
        }
    }

    static void slstm(CudaOps ops, Tensor xi, Tensor xf, Tensor xz, Tensor xo, Tensor r, Tensor bias, Tensor dy,
                      Tensor dxi, Tensor dxf, Tensor dxz, Tensor dxo, Tensor dr, Tensor dbias) {
        try (Arena a = Arena.ofShared()) {   // the CPU kernels run on several threads
            Tensor hi = scratch(a, dxi), hf = scratch(a, dxf), hz = scratch(a, dxz), ho = scratch(a, dxo);
            Tensor hr = down(ops, a, dr), hb = down(ops, a, dbias);   // accumulated into, then written back
            CPU.slstmBackward(down(ops, a, xi), down(ops, a, xf), down(ops, a, xz), down(ops, a, xo), down(ops, a, r),
                    down(ops, a, bias), down(ops, a, dy), hi, hf, hz, ho, hr, hb);
            up(ops, hi, dxi);
            up(ops, hf, dxf);
            up(ops, hz, dxz);
            up(ops, ho, dxo);
            up(ops, hr, dr);
            up(ops, hb, dbias);
        }
    }
}
