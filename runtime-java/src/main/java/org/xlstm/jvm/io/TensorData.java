package org.xlstm.jvm.io;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;

/** A tensor to write: dtype, shape and little-endian bytes. */
public record TensorData(DType dtype, long[] shape, ByteBuffer data) {
    public TensorData {
        long n = 1;
        for (long d : shape) {
            if (d < 0) throw new IllegalArgumentException("negative dimension in shape " + Arrays.toString(shape));
            n *= d;
        }
        if ((long) data.remaining() != n * dtype.bytes())
            throw new IllegalArgumentException("shape " + Arrays.toString(shape) + " of " + dtype + " needs "
                    + n * dtype.bytes() + " bytes, got " + data.remaining());
        data = data.slice().order(ByteOrder.LITTLE_ENDIAN);
    }

    public static TensorData f32(long[] shape, float[] v) {
        ByteBuffer b = ByteBuffer.allocate(v.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        b.asFloatBuffer().put(v);
        return new TensorData(DType.F32, shape, b);
    }

    public static TensorData f64(long[] shape, double[] v) {
        ByteBuffer b = ByteBuffer.allocate(v.length * 8).order(ByteOrder.LITTLE_ENDIAN);
        b.asDoubleBuffer().put(v);
        return new TensorData(DType.F64, shape, b);
    }

    public static TensorData i64(long[] shape, long[] v) {
        ByteBuffer b = ByteBuffer.allocate(v.length * 8).order(ByteOrder.LITTLE_ENDIAN);
        b.asLongBuffer().put(v);
        return new TensorData(DType.I64, shape, b);
    }

    /** bfloat16 by round-to-nearest-even of the float32 values (as torch's .to(bfloat16)). */
    public static TensorData bf16(long[] shape, float[] v) {
        ByteBuffer b = ByteBuffer.allocate(v.length * 2).order(ByteOrder.LITTLE_ENDIAN);
        for (float f : v) b.putShort(Bf16.fromFloat(f));
        b.flip();
        return new TensorData(DType.BF16, shape, b);
    }
}
