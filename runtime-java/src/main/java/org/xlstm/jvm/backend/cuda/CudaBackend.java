package org.xlstm.jvm.backend.cuda;

import org.xlstm.jvm.cuda.CudaContext;

/** Opens the CUDA backend: GPU context, device memory and {@link CudaOps} in one step; clear errors when absent. */
public final class CudaBackend {
    private CudaBackend() {}

    /** @param precision FP32, TF32 or BF16 */
    public static CudaOps open(int ordinal, String precision) {
        CudaContext ctx = CudaContext.open(ordinal);
        return new CudaOps(new DeviceTensors(ctx), CudaOps.Precision.valueOf(precision));
    }
}
