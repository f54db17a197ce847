package org.xlstm.jvm.nn;

import org.xlstm.jvm.backend.Ops;
import org.xlstm.jvm.tensor.Tensor;

/** y = x·Wᵀ + b with W stored (out, in), as PyTorch's nn.Linear. */
public final class Linear {
    private final Tensor weight;
    private final Tensor bias;

    public Linear(Tensor weight, Tensor bias) {
        if (weight.rank() != 2) throw new IllegalArgumentException("Linear weight must be (out, in); got " + weight);
        this.weight = weight;
        this.bias = bias;
    }

    /** Loads {@code name.weight} (out, in) and, if {@code withBias}, {@code name.bias} (out; initialised to zero). */
    public static Linear load(ParamSource p, String name, int out, int in, boolean withBias, Init weightInit) {
        Tensor w = p.get(name + ".weight", weightInit, out, in);
        Tensor b = withBias ? p.get(name + ".bias", Init.zeros(), out) : null;
        return new Linear(w, b);
    }

    public int in() { return weight.dim(1); }

    public int out() { return weight.dim(0); }

    public Tensor weight() { return weight; }

    public Tensor bias() { return bias; }

    /** x {@code [..., in]} → y {@code [..., out]}. */
    public void forward(Ops ops, Tensor x, Tensor y) { ops.linear(x, weight, bias, y); }

    /** y = (x·Wᵀ + b) + residual ({@link Ops#linearAdd}; product is scratch of y's shape, y may alias residual). */
    public void forwardAdd(Ops ops, Tensor x, Tensor residual, Tensor product, Tensor y) {
        ops.linearAdd(x, weight, bias, residual, product, y);
    }

    /** Several linear maps of one input ({@link Ops#linears}: one launch on a GPU when decoding). */
    public static void forwardAll(Ops ops, Tensor x, Linear[] maps, Tensor[] ys) {
        Tensor[] w = new Tensor[maps.length], b = new Tensor[maps.length];
        for (int j = 0; j < maps.length; j++) {
            w[j] = maps[j].weight;
            b[j] = maps[j].bias;
        }
        ops.linears(x, w, b, ys);
    }

    /** Backward: {@code dx (+)= dy·W} (dx may be null), weight and bias gradients added to their buffers. */
    public void backward(Training tr, Tensor x, Tensor dy, Tensor dx, boolean accumulateDx) {
        tr.grad().linearBackward(x, weight, dy, dx, accumulateDx, tr.grads().of(weight), tr.grads().ofOrNull(bias));
    }
}
