package org.xlstm.jvm.io;

import java.nio.file.Path;
import java.util.Arrays;

/** Where one tensor lives: its dtype, shape, file and byte range inside that file. */
public record TensorInfo(String name, DType dtype, long[] shape, Path file, long byteOffset, long byteLength) {
    public long numel() {
        long n = 1;
        for (long d : shape) n *= d;
        return n;
    }

    public String shapeString() { return Arrays.toString(shape); }

    @Override
    public boolean equals(Object o) {
        return o instanceof TensorInfo t && name.equals(t.name) && dtype == t.dtype && Arrays.equals(shape, t.shape)
                && file.equals(t.file) && byteOffset == t.byteOffset && byteLength == t.byteLength;
    }

    @Override
    public int hashCode() { return name.hashCode() * 31 + Arrays.hashCode(shape); }

    @Override
    public String toString() { return name + " " + dtype + shapeString(); }
}
