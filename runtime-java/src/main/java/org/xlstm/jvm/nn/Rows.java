package org.xlstm.jvm.nn;

import java.lang.foreign.Arena;
import org.xlstm.jvm.tensor.Tensor;

/** Copies of parts of parameters, for layers that split a fused official tensor (e.g. proj_up into two halves). */
public final class Rows {
    private Rows() {}

    /** Rows [from, to) of a matrix (first dimension), as an independent tensor in {@code arena}. */
    public static Tensor copy(Arena arena, Tensor t, int from, int to) {
        int[] shape = t.shape();
        shape[0] = to - from;
        Tensor out = Tensor.allocate(arena, shape);
        out.copyFrom(t.slice(from, to));
        return out;
    }
}
