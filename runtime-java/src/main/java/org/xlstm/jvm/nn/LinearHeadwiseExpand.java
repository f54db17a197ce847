package org.xlstm.jvm.nn;

import org.xlstm.jvm.backend.Ops;
import org.xlstm.jvm.tensor.Tensor;

/**
 * Block-diagonal projection (official LinearHeadwiseExpand): the input is cut into {@code heads} contiguous blocks,
 * block h is mapped by W[h] of shape (out_per_block, in_per_block); optional bias over the whole output.
 */
public final class LinearHeadwiseExpand {
    private final Tensor weight, bias;

    public LinearHeadwiseExpand(Tensor weight, Tensor bias) {
        this.weight = weight;
        this.bias = bias;
    }

    /** Square blocks (expand factor 1, as every official use): {@code name.weight} (heads, dim/heads, dim/heads). */
    public static LinearHeadwiseExpand load(ParamSource p, String name, int dim, int heads, boolean withBias, Init init) {
        if (heads <= 0 || dim % heads != 0)
            throw new IllegalArgumentException(name + ": " + dim + " features cannot be cut into " + heads + " blocks");
        int per = dim / heads;
        Tensor w = p.get(name + ".weight", init, heads, per, per);
        Tensor b = withBias ? p.get(name + ".bias", Init.zeros(), dim) : null;
        return new LinearHeadwiseExpand(w, b);
    }

    public int outFeatures() { return weight.dim(0) * weight.dim(1); }

    public void forward(Ops ops, Tensor x, Tensor y) { ops.linearHeadwise(x, weight, bias, y); }

    /** Backward: {@code dx (+)= per block W[h]ᵀ·dy_h}, weight and bias gradients added to their buffers. */
    public void backward(Training tr, Tensor x, Tensor dy, Tensor dx, boolean accumulateDx) {
        tr.grad().linearHeadwiseBackward(x, weight, dy, dx, accumulateDx, tr.grads().of(weight), tr.grads().ofOrNull(bias));
    }
}
