package org.xlstm.jvm.nn;

import org.xlstm.jvm.backend.Ops;
import org.xlstm.jvm.tensor.Tensor;

/**
 * Layer norm over the last dimension. The official xLSTM LayerNorm stores its weight as an offset from one
 * (scale = 1 + w, w initialised to 0) and has no bias unless configured; eps 1e-5.
 */
public final class LayerNorm {
    public static final float EPS = 1e-5f;
    private final Tensor weight, bias;
    private final float eps;
    private final boolean offset;

    public LayerNorm(Tensor weight, Tensor bias, float eps, boolean offset) {
        this.weight = weight;
        this.bias = bias;
        this.eps = eps;
        this.offset = offset;
    }

    /** The official xLSTM LayerNorm: {@code name.weight} (offset, init 0), optional {@code name.bias}. */
    public static LayerNorm xlstm(ParamSource p, String name, int dim, boolean withBias) {
        Tensor w = p.get(name + ".weight", Init.zeros(), dim);
        Tensor b = withBias ? p.get(name + ".bias", Init.zeros(), dim) : null;
        return new LayerNorm(w, b, EPS, true);
    }

    public void forward(Ops ops, Tensor x, Tensor y) { ops.layerNorm(x, weight, bias, eps, offset, y); }

    /** Backward: dx written (or added to), weight and bias gradients added to their buffers. */
    public void backward(Training tr, Tensor x, Tensor dy, Tensor dx, boolean accumulateDx) {
        tr.grad().layerNormBackward(x, weight, eps, offset, dy, dx, accumulateDx, tr.grads().ofOrNull(weight), tr.grads().ofOrNull(bias));
    }
}
