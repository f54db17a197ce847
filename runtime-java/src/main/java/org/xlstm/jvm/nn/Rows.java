package org.xlstm.jvm.nn;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
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

    /** Concatenates matrices along their first dimension into a new tensor. */
    public static Tensor concat(Arena arena, Tensor... parts) {
        int rows = 0;
        for (Tensor p : parts) rows += p.dim(0);
        int[] shape = parts[0].shape();
        shape[0] = rows;
        Tensor out = Tensor.allocate(arena, shape);
        long off = 0;
        for (Tensor p : parts) {
            MemorySegment.copy(p.segment(), 0, out.segment(), off, p.size() * 4);
            off += p.size() * 4;
        }
        return out;
    }
}
