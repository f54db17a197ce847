package org.xlstm.jvm.backend.cuda;

import org.xlstm.jvm.backend.GradOps;
import org.xlstm.jvm.config.Activation;
import org.xlstm.jvm.tensor.Tensor;

/**
 * The CUDA backward pass: every {@link GradOps} method as our kernels or cuBLAS, on the stream, memory and
 * precision of the {@link CudaOps} it belongs to. Parameter gradients accumulate in float32.
 */
public final class CudaGradOps implements GradOps {
    private final CudaOps ops;

    CudaGradOps(CudaOps ops) { this.ops = ops; }

    @Override
    public String name() { return ops.name(); }

    private static UnsupportedOperationException todo(String what) {
        return new UnsupportedOperationException(what + " has no CUDA kernel yet");
    }

    @Override
    public void linearBackward(Tensor x, Tensor w, Tensor dy, Tensor dx, boolean accumulateDx, Tensor dw, Tensor db) { throw todo("linearBackward"); }

    @Override
    public void matmulBackward(Tensor a, Tensor b, Tensor dc, Tensor da, Tensor db) { throw todo("matmulBackward"); }

    @Override
    public void linearHeadwiseBackward(Tensor x, Tensor w, Tensor dy, Tensor dx, boolean accumulateDx, Tensor dw, Tensor db) { throw todo("linearHeadwiseBackward"); }

    @Override
    public void embeddingBackward(int[] tokens, Tensor dy, Tensor dTable) { throw todo("embeddingBackward"); }

    @Override
    public void layerNormBackward(Tensor x, Tensor w, float eps, boolean weightIsOffset, Tensor dy, Tensor dx, boolean accumulateDx, Tensor dw, Tensor db) { throw todo("layerNormBackward"); }

    @Override
    public void rmsNormBackward(Tensor x, Tensor w, float eps, Tensor dy, Tensor dx, boolean accumulateDx, Tensor dw, Tensor db) { throw todo("rmsNormBackward"); }

    @Override
    public void headLayerNormBackward(Tensor x, int numHeads, Tensor w, float eps, boolean weightIsOffset, Tensor dy, Tensor dx, Tensor dw, Tensor db) { throw todo("headLayerNormBackward"); }

    @Override
    public void activationBackward(Activation act, Tensor x, Tensor dy, Tensor dx) { throw todo("activationBackward"); }

    @Override
    public void mulActivatedBackward(Tensor x, Activation act, Tensor g, Tensor dy, Tensor dx, Tensor dg) { throw todo("mulActivatedBackward"); }

    @Override
    public void addScaledBackward(Tensor w, Tensor b, Tensor dy, Tensor db, boolean accumulateDb, Tensor dw) { throw todo("addScaledBackward"); }

    @Override
    public void softCapBackward(Tensor x, float cap, Tensor dy, Tensor dx) { throw todo("softCapBackward"); }

    @Override
    public void splitColumns(Tensor dy, Tensor[] parts, boolean accumulate) { throw todo("splitColumns"); }

    @Override
    public void causalConv1dBackward(Tensor x, Tensor w, Tensor dy, Tensor dx, Tensor dw, Tensor db) { throw todo("causalConv1dBackward"); }

    @Override
    public void mlstmChunkwiseBackward(Tensor q, Tensor k, Tensor v, Tensor i, Tensor f, float m0, int chunkSize, float eps,
                                       Tensor dh, Tensor dq, Tensor dk, Tensor dv, Tensor di, Tensor df) {
        if (ops.precision() == CudaOps.Precision.BF16
                && CudaMlstmBackwardTensorCores.run(ops, q, k, v, i, f, m0, chunkSize, eps, dh, dq, dk, dv, di, df)) return;
        CudaMlstmBackward.run(ops, q, k, v, i, f, m0, chunkSize, eps, dh, dq, dk, dv, di, df);
    }

    @Override
    public void slstmBackward(Tensor xi, Tensor xf, Tensor xz, Tensor xo, Tensor r, Tensor bias, Tensor dy,
                              Tensor dxi, Tensor dxf, Tensor dxz, Tensor dxo, Tensor dr, Tensor dbias) {
        CudaSlstmBackward.run(ops, xi, xf, xz, xo, r, bias, dy, dxi, dxf, dxz, dxo, dr, dbias);
    }

    @Override
    public void dropout(Tensor x, float p, long seed, Tensor y) { throw todo("dropout"); }

    @Override
    public double crossEntropy(Tensor logits, int[] targets, Tensor dLogits, int meanOver) { throw todo("crossEntropy"); }
}
