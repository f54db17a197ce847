package org.xlstm.jvm.config;

import java.util.Arrays;
import java.util.stream.Collectors;

/**
 * One trainable tensor of the official state_dict: its exact official name, its stored shape, and whether it is
 * the same storage as an earlier entry (the LM's {@code lm_head.weight} under {@code tie_weights}). Tied entries
 * appear, as they do in the official state_dict, but count no parameters of their own.
 */
public record ParamSpec(String name, long[] shape, boolean tiedToOther) {
    public ParamSpec {
        shape = shape.clone();
    }

    public ParamSpec(String name, long... shape) { this(name, shape, false); }

    @Override
    public long[] shape() { return shape.clone(); }

    public int rank() { return shape.length; }

    /** Number of scalars in the tensor (product of the shape). */
    public long numel() {
        long n = 1;
        for (long d : shape) n = Math.multiplyExact(n, d);
        return n;
    }

    /** Scalars this entry adds to the model's parameter count: 0 when tied to another entry. */
    public long ownParameters() { return tiedToOther ? 0 : numel(); }

    @Override
    public boolean equals(Object o) {
        return o instanceof ParamSpec p && p.name.equals(name) && Arrays.equals(p.shape, shape) && p.tiedToOther == tiedToOther;
    }

    @Override
    public int hashCode() { return name.hashCode() * 31 + Arrays.hashCode(shape) + (tiedToOther ? 1 : 0); }

    @Override
    public String toString() {
        return name + " " + Arrays.stream(shape).mapToObj(Long::toString).collect(Collectors.joining(", ", "(", ")"))
                + (tiedToOther ? " [tied]" : "");
    }
}
