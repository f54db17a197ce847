package org.xlstm.jvm.nn;

import java.lang.foreign.Arena;
import org.xlstm.jvm.tensor.Tensor;

/**
 * Where layers get their parameters, by official name and official shape: a checkpoint (which checks every name
 * and shape and reports all problems together) or an initialiser. Layers ask for each parameter exactly in the
 * official layout and convert to whatever layout their kernels want themselves.
 */
public interface ParamSource {
    /** The parameter {@code name} (full official name) with the given shape; {@code init} is used when initialising. */
    Tensor get(String name, Init init, int... shape);

    /** Declares a name that may be present in a checkpoint without being read (e.g. a tied lm_head.weight). */
    void allow(String name);

    /** Where layers allocate tensors derived from parameters (re-laid-out or sliced copies); lives as long as the model. */
    Arena arena();

    /**
     * A tensor for a form derived from parameters (a re-laid-out copy), in the memory the parameters live in, as
     * long-lived as the model; its contents are the caller's to fill (with {@link org.xlstm.jvm.backend.Ops}).
     */
    default Tensor derived(int... shape) { return Tensor.allocate(arena(), shape); }

    /** A view that prefixes every name with {@code prefix}. */
    default ParamSource scope(String prefix) {
        ParamSource outer = this;
        return new ParamSource() {
            @Override
            public Tensor get(String name, Init init, int... shape) { return outer.get(prefix + name, init, shape); }

            @Override
            public void allow(String name) { outer.allow(prefix + name); }

            @Override
            public Arena arena() { return outer.arena(); }

            @Override
            public Tensor derived(int... shape) { return outer.derived(shape); }

            @Override
            public ParamSource scope(String more) { return outer.scope(prefix + more); }
        };
    }
}
