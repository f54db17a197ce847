package org.xlstm.jvm.backend.cuda;

import org.xlstm.jvm.tensor.Tensor;

/** Backward of the chunkwise mLSTM cell on tensor cores (bf16 products, fp32 accumulation) for the BF16 precision. */
final class CudaMlstmBackwardTensorCores {
    private CudaMlstmBackwardTensorCores() {}

    /** Returns false when this path does not handle the call (then the fp32 kernels run). */
    static boolean run(CudaOps ops, Tensor q, Tensor k, Tensor v, Tensor i, Tensor f, float m0, int chunkSize, float eps,
                       Tensor dh, Tensor dq, Tensor dk, Tensor dv, Tensor di, Tensor df) {
        return false;
    }
}
