package org.xlstm.jvm.nn;

import org.xlstm.jvm.backend.Ops;
import org.xlstm.jvm.tensor.Tensor;

/** The causal convolution's memory: the last K − 1 inputs, oldest first, {@code [B, K−1, F]}. */
public final class ConvState {
    private final Ops ops;
    private final Tensor window;

    ConvState(Ops ops, int batch, int length, int features) {
        this(ops, ops.allocate(batch, length, features));
    }

    private ConvState(Ops ops, Tensor window) {
        this.ops = ops;
        this.window = window;
    }

    public Tensor window() { return window; }

    public ConvState copy() {
        Tensor w = ops.allocate(window.shape());
        ops.copy(window, w);
        return new ConvState(ops, w);
    }
}
