package org.xlstm.jvm.nn;

import org.xlstm.jvm.backend.Ops;
import org.xlstm.jvm.config.Activation;
import org.xlstm.jvm.tensor.Tensor;

/**
 * Layer norm of each head's slice separately (official MultiHeadLayerNorm: a group norm with one group per head),
 * on activations kept as {@code (B, S, NH·DH)}. The xLSTM LM's version (mLSTM outnorm, sLSTM group_norm) stores
 * its weight as an offset (scale 1 + w), eps 1e-5, no bias; the xLSTM-7B version uses a plain weight and norm_eps.
 */
public final class MultiHeadLayerNorm {
    private final Tensor weight, bias;
    private final int heads;
    private final float eps;
    private final boolean offset;

    public MultiHeadLayerNorm(Tensor weight, Tensor bias, int heads, float eps, boolean offset) {
        this.weight = weight;
        this.bias = bias;
        this.heads = heads;
        this.eps = eps;
        this.offset = offset;
    }

    /** xLSTM LM form: {@code name.weight} offset (init 0), eps 1e-5. */
    public static MultiHeadLayerNorm xlstm(ParamSource p, String name, int heads, int dim) {
        return new MultiHeadLayerNorm(p.get(name + ".weight", Init.zeros(), dim), null, heads, LayerNorm.EPS, true);
    }

    public void forward(Ops ops, Tensor x, Tensor y) { ops.headLayerNorm(x, heads, weight, bias, eps, offset, y); }

    /**
     * y = (norm(x) ⊙ act(gate))·Wᵀ + b + residual ({@link Ops#headNormGatedLinearAdd}; gated and product are
     * scratch, y may alias residual).
     */
    public void forwardGatedLinearAdd(Ops ops, Tensor x, Tensor gate, Activation act, Tensor gated, Linear map,
                                      Tensor residual, Tensor product, Tensor y) {
        ops.headNormGatedLinearAdd(x, heads, weight, bias, eps, offset, gate, act, gated, map.weight(), map.bias(),
                residual, product, y);
    }

    /** y = norm(x) ⊙ act(gate) ({@link Ops#headNormGated}; y distinct from x). */
    public void forwardGated(Ops ops, Tensor x, Tensor gate, Activation act, Tensor y) {
        ops.headNormGated(x, heads, weight, bias, eps, offset, gate, act, y);
    }

    /** Backward: dx written, weight and bias gradients added to their buffers. */
    public void backward(Training tr, Tensor x, Tensor dy, Tensor dx) {
        tr.grad().headLayerNormBackward(x, heads, weight, eps, offset, dy, dx, tr.grads().ofOrNull(weight), tr.grads().ofOrNull(bias));
    }
}
