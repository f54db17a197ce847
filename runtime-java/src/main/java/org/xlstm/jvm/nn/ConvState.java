package org.xlstm.jvm.nn;

import java.lang.foreign.Arena;
import org.xlstm.jvm.tensor.Tensor;

/** The causal convolution's memory: the last K − 1 inputs, oldest first, {@code [B, K−1, F]}. */
public final class ConvState {
    private final Tensor window;

    ConvState(int batch, int length, int features) {
        this.window = Tensor.allocate(Arena.ofAuto(), batch, length, features);
    }

    private ConvState(Tensor window) { this.window = window; }

    public Tensor window() { return window; }

    public ConvState copy() {
        Tensor w = Tensor.allocate(Arena.ofAuto(), window.shape());
        w.copyFrom(window);
        return new ConvState(w);
    }
}
