package org.xlstm.jvm.train;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;

/**
 * A trainable tensor as the optimizer sees it: its official name, its shape, and two float32 buffers of the same
 * size in native byte order: the value (updated in place) and the gradient (written by the backward pass).
 * Buffers may be heap arrays ({@link #ofArrays}) or off-heap memory such as a tensor's segment.
 *
 * <p>A list of parameters handed to the optimizer or the trainer holds each tensor once: a tied language-model head
 * is not listed besides the embedding it shares (as the official {@code named_parameters()} lists it once, under
 * {@code token_embedding.weight}).
 */
public record Parameter(String name, int[] shape, MemorySegment value, MemorySegment grad) {
    static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT;

    public Parameter {
        shape = shape.clone();
        long n = 1;
        for (int d : shape) {
            if (d < 0) throw new IllegalArgumentException(name + ": negative dimension in shape " + Arrays.toString(shape));
            n *= d;
        }
        if (value.byteSize() != n * 4)
            throw new IllegalArgumentException(name + ": value holds " + value.byteSize() / 4 + " floats, shape "
                    + Arrays.toString(shape) + " needs " + n);
        if (grad.byteSize() != n * 4)
            throw new IllegalArgumentException(name + ": gradient holds " + grad.byteSize() / 4 + " floats, shape "
                    + Arrays.toString(shape) + " needs " + n);
    }

    /** A parameter over heap arrays (tests, small models). */
    public static Parameter ofArrays(String name, float[] value, float[] grad, int... shape) {
        return new Parameter(name, shape, MemorySegment.ofArray(value), MemorySegment.ofArray(grad));
    }

    /** A parameter over two engine tensors of one shape: the weight and its gradient. */
    public static Parameter of(String name, org.xlstm.jvm.tensor.Tensor value, org.xlstm.jvm.tensor.Tensor grad) {
        if (!Arrays.equals(value.shape(), grad.shape()))
            throw new IllegalArgumentException(name + ": gradient shape " + Arrays.toString(grad.shape())
                    + " differs from the parameter's " + Arrays.toString(value.shape()));
        long bytes = value.size() * 4;  // an empty tensor's segment holds one spare float
        return new Parameter(name, value.shape(), value.segment().asSlice(0, bytes), grad.segment().asSlice(0, bytes));
    }

    /** Number of elements. */
    public long size() { return value.byteSize() / 4; }

    @Override
    public int[] shape() { return shape.clone(); }

    public float[] valueArray() { return value.toArray(F32); }

    public float[] gradArray() { return grad.toArray(F32); }

    /** Overwrites the value. */
    public void setValue(float[] v) {
        if (v.length != size()) throw new IllegalArgumentException(name + ": " + v.length + " values for " + size() + " elements");
        MemorySegment.copy(v, 0, value, F32, 0, v.length);
    }

    public void zeroGrad() { grad.fill((byte) 0); }

    @Override
    public String toString() { return name + Arrays.toString(shape); }

    @Override
    public boolean equals(Object o) { return this == o; }

    @Override
    public int hashCode() { return System.identityHashCode(this); }
}
