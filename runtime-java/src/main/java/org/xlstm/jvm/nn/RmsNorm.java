package org.xlstm.jvm.nn;

import org.xlstm.jvm.backend.Ops;
import org.xlstm.jvm.config.Activation;
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

    /**
     * The linear maps of the normalised x ({@link Ops#rmsNormLinears}: one launch on a GPU when decoding), outputs
     * from {@code capFrom} on soft-capped at {@code softCap} (when positive); normed is scratch of x's shape.
     */
    public void forwardLinears(Ops ops, Tensor x, Tensor normed, Linear[] maps, Tensor[] ys, int capFrom, float softCap) {
        Tensor[] w = new Tensor[maps.length], b = new Tensor[maps.length];
        for (int j = 0; j < maps.length; j++) {
            w[j] = maps[j].weight();
            b[j] = maps[j].bias();
        }
        ops.rmsNormLinears(x, weight, bias, eps, normed, w, b, ys, capFrom, softCap);
    }

    /** y = act(gate(n)) ⊙ up(n), n the normalised x ({@link Ops#rmsNormGatedLinear}); normed, g are scratch. */
    public void forwardGated(Ops ops, Tensor x, Tensor normed, Linear gate, Linear up, Activation act, Tensor g, Tensor y) {
        ops.rmsNormGatedLinear(x, weight, bias, eps, normed, gate.weight(), gate.bias(), up.weight(), up.bias(), act, g, y);
    }

    /** Backward: dx written (or added to), weight and bias gradients added to their buffers. */
    public void backward(Training tr, Tensor x, Tensor dy, Tensor dx, boolean accumulateDx) {
        tr.grad().rmsNormBackward(x, weight, eps, dy, dx, accumulateDx, tr.grads().ofOrNull(weight), tr.grads().ofOrNull(bias));
    }
}
