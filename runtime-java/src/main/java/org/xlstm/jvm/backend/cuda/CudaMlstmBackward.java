package org.xlstm.jvm.backend.cuda;

import org.xlstm.jvm.tensor.Tensor;

/** Backward of the chunkwise mLSTM cell on the GPU (kernels/src/mlstm_backward.cu). */
final class CudaMlstmBackward {
    private CudaMlstmBackward() {}

    /** {@link org.xlstm.jvm.backend.GradOps#mlstmChunkwiseBackward} on {@code ops}' stream. */
    static void run(CudaOps ops, Tensor q, Tensor k, Tensor v, Tensor i, Tensor f, float m0, int chunkSize, float eps,
                    Tensor dh, Tensor dq, Tensor dk, Tensor dv, Tensor di, Tensor df) {
        throw new UnsupportedOperationException("mlstmChunkwiseBackward has no CUDA kernel yet");
    }
}
