package org.xlstm.jvm.tensor;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;

/**
 * A dense float32 tensor in row-major order, stored off-heap in a {@link MemorySegment} whose lifetime an
 * {@link Arena} manages. A tensor never owns its arena: whoever allocated it (a model's parameter arena, a
 * {@link Workspace}) frees it.
 *
 * <p>Layers never read or write elements themselves; they hand tensors to an {@link org.xlstm.jvm.backend.Ops}
 * implementation. That is the backend boundary: a GPU backend keeps the same tensor handles and interprets the
 * segment as device memory. Element access here exists for I/O and tests.
 */
public final class Tensor {
    /** Byte alignment of fresh allocations: one AVX-512 register, one cache line. */
    public static final long ALIGNMENT = 64;
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT;

    private final MemorySegment data;
    private final int[] shape;
    private final long size;
    /**
     * Backend-private derived form of this tensor (e.g. a packed weight matrix) with the {@link #version} it was
     * made from, one immutable pair, so that threads sharing a parameter never see a new version with an old form.
     */
    private volatile Cached backendCache;

    private record Cached(Object value, long version) {}
    /**
     * Modification counter shared by this tensor and every view or slice of the same memory: training changes
     * parameters in place, and {@link #markModified()} on any of them makes all derived forms stale.
     */
    private final long[] version;

    private Tensor(MemorySegment data, int[] shape) {
        this(data, shape, new long[1]);
    }

    private Tensor(MemorySegment data, int[] shape, long[] version) {
        long n = Shapes.numel(shape);
        if (data.byteSize() < n * Float.BYTES)
            throw new IllegalArgumentException("segment of " + data.byteSize() + " bytes is too small for shape "
                    + Shapes.format(shape));
        this.data = data;
        this.shape = shape.clone();
        this.size = n;
        this.version = version;
    }

    /** A zero-filled tensor allocated in {@code arena}. */
    public static Tensor allocate(Arena arena, int... shape) {
        long n = Shapes.numel(shape);
        return new Tensor(arena.allocate(Math.max(1, n) * Float.BYTES, ALIGNMENT), shape);
    }

    /** A tensor in {@code arena} holding a copy of {@code values}. */
    public static Tensor of(Arena arena, float[] values, int... shape) {
        if (values.length != Shapes.numel(shape))
            throw new IllegalArgumentException(values.length + " values do not fill shape " + Shapes.format(shape));
        Tensor t = allocate(arena, shape);
        t.copyFrom(values);
        return t;
    }

    /** A tensor viewing an existing segment (no copy). */
    public static Tensor wrap(MemorySegment segment, int... shape) {
        return new Tensor(segment, shape);
    }

    public MemorySegment segment() { return data; }

    public int[] shape() { return shape.clone(); }

    public int rank() { return shape.length; }

    /** Size of dimension {@code i}; negative {@code i} counts from the end. */
    public int dim(int i) { return shape[i < 0 ? shape.length + i : i]; }

    public long size() { return size; }

    /** Product of all dimensions but the last: the number of rows when viewed as a matrix. */
    public int rows() { return size == 0 ? 0 : (int) (size / shape[shape.length - 1]); }

    /** The last dimension. */
    public int cols() { return shape[shape.length - 1]; }

    public float get(long index) { return data.getAtIndex(F32, checkIndex(index)); }

    public void set(long index, float value) { data.setAtIndex(F32, checkIndex(index), value); }

    /** Element at a multi-index, e.g. {@code at(b, t, d)}. */
    public float at(int... index) { return get(flat(index)); }

    public float[] toArray() {
        float[] out = new float[Math.toIntExact(size)];
        MemorySegment.copy(data, F32, 0, out, 0, out.length);
        return out;
    }

    public void copyFrom(float[] values) {
        if (values.length != size)
            throw new IllegalArgumentException(values.length + " values for a tensor of shape " + Shapes.format(shape));
        MemorySegment.copy(values, 0, data, F32, 0, values.length);
    }

    public void copyFrom(Tensor other) {
        if (other.size != size)
            throw new IllegalArgumentException("cannot copy " + Shapes.format(other.shape) + " into " + Shapes.format(shape));
        MemorySegment.copy(other.data, 0, data, 0, size * Float.BYTES);
    }

    public void fill(float value) {
        if (value == 0f) data.asSlice(0, size * Float.BYTES).fill((byte) 0);
        else for (long i = 0; i < size; i++) data.setAtIndex(F32, i, value);
    }

    /** The same memory seen with another shape of the same element count. */
    public Tensor view(int... newShape) {
        if (Shapes.numel(newShape) != size)
            throw new IllegalArgumentException("cannot view " + Shapes.format(shape) + " as " + Shapes.format(newShape));
        return new Tensor(data, newShape, version);
    }

    /** Rows [from, to) of the first dimension, sharing memory. */
    public Tensor slice(int from, int to) {
        if (from < 0 || to > shape[0] || from > to)
            throw new IndexOutOfBoundsException("slice [" + from + ", " + to + ") of dimension 0 of " + Shapes.format(shape));
        long inner = shape[0] == 0 ? 0 : size / shape[0];
        int[] s = shape.clone();
        s[0] = to - from;
        return new Tensor(data.asSlice(from * inner * Float.BYTES, (to - from) * inner * Float.BYTES), s, version);
    }

    /**
     * A slot in which a backend may keep a derived form of this tensor (a packed copy of a weight matrix, a device
     * copy). Backends only cache forms of parameters; a parameter changed in place (a training step) must be
     * {@link #markModified() marked}, which empties this slot (null is returned until a new form is stored).
     */
    public Object backendCache() {
        Cached c = backendCache;
        return c != null && c.version == version[0] ? c.value : null;
    }

    public void backendCache(Object value) { backendCache = value == null ? null : new Cached(value, version[0]); }

    /**
     * The cached form whatever version it was made from (null if none): a backend whose form owns resources (device
     * memory) refreshes it in place instead of leaking it when the parameter changed.
     */
    public Object backendCacheOfAnyVersion() {
        Cached c = backendCache;
        return c == null ? null : c.value;
    }

    /** The modification count of this tensor's memory (shared with its views and slices). */
    public long version() { return version[0]; }

    /**
     * Declares that the contents changed (e.g. an optimizer updated this parameter in place): every cached derived
     * form of this tensor and of its views and slices becomes stale.
     */
    public void markModified() {
        synchronized (version) {
            version[0]++;
        }
    }

    private long flat(int[] index) {
        if (index.length != shape.length)
            throw new IllegalArgumentException(index.length + " indices for rank-" + shape.length + " tensor");
        long f = 0;
        for (int i = 0; i < index.length; i++) {
            if (index[i] < 0 || index[i] >= shape[i])
                throw new IndexOutOfBoundsException("index " + Arrays.toString(index) + " out of " + Shapes.format(shape));
            f = f * shape[i] + index[i];
        }
        return f;
    }

    private long checkIndex(long index) {
        if (index < 0 || index >= size) throw new IndexOutOfBoundsException(index + " of " + size + " elements");
        return index;
    }

    @Override
    public String toString() { return "Tensor" + Shapes.format(shape); }
}
