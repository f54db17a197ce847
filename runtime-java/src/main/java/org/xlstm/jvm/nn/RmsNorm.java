package org.xlstm.jvm.nn;

import org.xlstm.jvm.backend.Ops;
import org.xlstm.jvm.tensor.Tensor;

/** RMS norm of the xLSTM-7B blocks: x·rsqrt(mean(x²) + eps)·w (+ b), w initialised to 1 (no offset). */
public final class RmsNorm {
    private final Tensor weight, bias;
    private final float eps;

    public RmsNorm(Tensor weight, Tensor bias, float eps) {
        this.weight = weight;
        this.bias = bias;
        this.eps = eps;
    }

    public static RmsNorm load(ParamSource p, String name, int dim, float eps, boolean withBias) {
        Tensor w = p.get(name + ".weight", Init.ones(), dim);
        Tensor b = withBias ? p.get(name + ".bias", Init.zeros(), dim) : null;
        return new RmsNorm(w, b, eps);
    }

    public void forward(Ops ops, Tensor x, Tensor y) { ops.rmsNorm(x, weight, bias, eps, y); }

    /** Backward: dx written (or added to), weight and bias gradients added to their buffers. */
    public void backward(Training tr, Tensor x, Tensor dy, Tensor dx, boolean accumulateDx) {
        tr.grad().rmsNormBackward(x, weight, eps, dy, dx, accumulateDx, tr.grads().ofOrNull(weight), tr.grads().ofOrNull(bias));
    }
}
