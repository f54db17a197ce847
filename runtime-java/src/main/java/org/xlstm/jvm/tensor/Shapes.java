package org.xlstm.jvm.tensor;

import java.util.Arrays;
import java.util.StringJoiner;

/** Small helpers for shapes given as int arrays. */
public final class Shapes {
    private Shapes() {}

    public static long numel(int... shape) {
        long n = 1;
        for (int d : shape) {
            if (d < 0) throw new IllegalArgumentException("negative dimension in shape " + Arrays.toString(shape));
            n *= d;
        }
        return n;
    }

    /** "[2, 32, 64]", the way the official code and safetensors headers print shapes. */
    public static String format(int... shape) {
        StringJoiner j = new StringJoiner(", ", "[", "]");
        for (int d : shape) j.add(Integer.toString(d));
        return j.toString();
    }

    public static String format(long... shape) {
        StringJoiner j = new StringJoiner(", ", "[", "]");
        for (long d : shape) j.add(Long.toString(d));
        return j.toString();
    }
}
