package org.xlstm.jvm.nn;

import java.lang.foreign.Arena;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import org.xlstm.jvm.tensor.Tensor;

/**
 * A {@link ParamSource} that passes every request on and remembers what it handed out, by official name, in
 * order: the trainable parameters of the model being built. Names only {@link #allow allowed} (a tied lm_head)
 * are not parameters of their own.
 */
public final class RecordingParams implements ParamSource {
    private final ParamSource inner;
    private final Map<String, Tensor> params = new LinkedHashMap<>();

    public RecordingParams(ParamSource inner) { this.inner = inner; }

    @Override
    public Tensor get(String name, Init init, int... shape) {
        Tensor t = inner.get(name, init, shape);
        params.put(name, t);
        return t;
    }

    @Override
    public void allow(String name) { inner.allow(name); }

    @Override
    public Arena arena() { return inner.arena(); }

    @Override
    public Tensor derived(int... shape) { return inner.derived(shape); }

    /** Official name → tensor of every parameter requested, in request order. */
    public Map<String, Tensor> parameters() { return Collections.unmodifiableMap(params); }
}
