package org.xlstm.jvm.nn;

import org.xlstm.jvm.backend.Ops;
import org.xlstm.jvm.tensor.Tensor;

/**
 * Depthwise causal convolution over time, kernel K, bias on (official CausalConv1d wrapping nn.Conv1d with
 * groups = features, left zero padding K − 1). Official {@code conv.weight} is (F, 1, K); kept as (F, K).
 */
public final class CausalConv1d {
    private final Tensor weight, bias;
    private final int kernel, features;

    public CausalConv1d(Tensor weight, Tensor bias) {
        this.weight = weight;
        this.bias = bias;
        this.features = weight.dim(0);
        this.kernel = weight.dim(1);
    }

    /** {@code name.conv.weight} (F, 1, K) and {@code name.conv.bias} (F), PyTorch default init (fan_in = K). */
    public static CausalConv1d load(ParamSource p, String name, int features, int kernel) {
        Tensor w = p.get(name + ".conv.weight", Init.torchDefault(kernel), features, 1, kernel);
        Tensor b = p.get(name + ".conv.bias", Init.torchDefault(kernel), features);
        return new CausalConv1d(w.view(features, kernel), b);
    }

    public int kernel() { return kernel; }

    public int features() { return features; }

    /** A fresh (all-zero) window for the step form: the K − 1 inputs before the next one. */
    public ConvState newState(Ops ops, int batch) { return new ConvState(ops, batch, kernel - 1, features); }

    /** x, y {@code [B, S, F]}; {@code state} null means zeros before x and nothing kept. */
    public void forward(Ops ops, Tensor x, ConvState state, Tensor y) {
        ops.causalConv1d(x, weight, bias, state == null ? null : state.window(), y);
    }

    /** Backward from zero padding: dx written, weight and bias gradients added to their buffers. */
    public void backward(Training tr, Tensor x, Tensor dy, Tensor dx) {
        tr.grad().causalConv1dBackward(x, weight, dy, dx, tr.grads().of(weight), tr.grads().ofOrNull(bias));
    }
}
