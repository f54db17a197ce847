package org.xlstm.jvm.model;

import java.lang.foreign.Arena;
import org.xlstm.jvm.backend.Ops;
import org.xlstm.jvm.nn.Init;
import org.xlstm.jvm.nn.ParamSource;
import org.xlstm.jvm.tensor.Tensor;

/**
 * Parameters moved to where the backend computes (a GPU): each tensor the inner source gives (a checkpoint, an
 * initialiser) is copied into the backend's memory, and derived forms are allocated there too. The model then
 * trains in place on the device: the optimizer updates these copies, nothing goes back and forth per step.
 */
final class ResidentParams implements ParamSource {
    private final ParamSource inner;
    private final Ops ops;

    ResidentParams(ParamSource inner, Ops ops) {
        this.inner = inner;
        this.ops = ops;
    }

    @Override
    public Tensor get(String name, Init init, int... shape) { return ops.resident(inner.get(name, init, shape)); }

    @Override
    public void allow(String name) { inner.allow(name); }

    @Override
    public Arena arena() { return inner.arena(); }

    @Override
    public Tensor derived(int... shape) { return ops.allocate(shape); }
}
