package org.xlstm.jvm.model;

import java.lang.foreign.Arena;
import java.util.Map;
import org.xlstm.jvm.nn.Init;
import org.xlstm.jvm.nn.ParamSource;
import org.xlstm.jvm.tensor.Shapes;
import org.xlstm.jvm.tensor.Tensor;

/** Hands out an existing model's parameter tensors by name: another instance over the same weights. */
final class ReplayParams implements ParamSource {
    private final Map<String, Tensor> params;
    private final Arena arena;

    ReplayParams(Map<String, Tensor> params, Arena arena) {
        this.params = params;
        this.arena = arena;
    }

    @Override
    public Tensor get(String name, Init init, int... shape) {
        Tensor t = params.get(name);
        if (t == null) throw new IllegalStateException("parameter " + name + " is not a parameter of the original model");
        if (!java.util.Arrays.equals(t.shape(), shape))
            throw new IllegalStateException("parameter " + name + " has shape " + Shapes.format(t.shape()) + ", asked " + Shapes.format(shape));
        return t;
    }

    @Override
    public void allow(String name) {}

    @Override
    public Arena arena() { return arena; }
}
