package org.xlstm.jvm.backend.cuda;

import org.xlstm.jvm.tensor.Tensor;

/** Backward through time of the sLSTM recurrence on the GPU (kernels/src/slstm_backward.cu). */
final class CudaSlstmBackward {
    private CudaSlstmBackward() {}

    /** {@link org.xlstm.jvm.backend.GradOps#slstmBackward} on {@code ops}' stream. */
    static void run(CudaOps ops, Tensor xi, Tensor xf, Tensor xz, Tensor xo, Tensor r, Tensor bias, Tensor dy,
                    Tensor dxi, Tensor dxf, Tensor dxz, Tensor dxo, Tensor dr, Tensor dbias) {
        throw new UnsupportedOperationException("slstmBackward has no CUDA kernel yet");
    }
}
