package org.xlstm.jvm.tensor;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Scratch memory for intermediate activations: a bump allocator over off-heap chunks, reset between calls.
 *
 * <p>Why: a forward pass or one generation step needs dozens of temporaries. Allocating (and zeroing) fresh
 * off-heap memory for each would dominate small steps. After the first call with a given batch shape, the same
 * sequence of {@link #take} requests is served from the same memory, and even the same {@link Tensor} objects are
 * handed out again, so a steady-state step loop allocates nothing.
 *
 * <p>Contents of a taken tensor are undefined (whatever the previous call left); kernels overwrite their outputs
 * completely. Not thread-safe: one workspace per model call chain. Memory stays valid until the next
 * {@link #reset()} or {@link #close()}.
 */
public final class Workspace implements AutoCloseable {
    private static final long MIN_CHUNK = 1L << 20;

    private final Arena arena = Arena.ofShared();
    /** Where chunks come from: this workspace's arena, or another memory (a GPU's) through {@link #Workspace(Memory)}. */
    private final Memory memory;

    /** Chunk allocation and zeroing for workspaces outside host memory. */
    public interface Memory {
        /** A chunk of at least {@code bytes}, aligned to {@link Tensor#ALIGNMENT}, valid until {@link #release}. */
        MemorySegment allocate(long bytes);

        /** Sets a tensor taken from such a chunk to zeros. */
        void zero(Tensor t);

        /** Frees every chunk (the workspace is closing). */
        void release();
    }

    /** A workspace in host memory. */
    public Workspace() { this.memory = null; }

    /** A workspace whose chunks live in {@code memory} (e.g. device memory: the CPU must not touch them). */
    public Workspace(Memory memory) { this.memory = memory; }
    private final List<MemorySegment> chunks = new ArrayList<>();
    private final List<Handed> handed = new ArrayList<>();
    private int chunk;
    private long offset;
    private int request;
    private boolean closed;

    private record Handed(int chunk, long offset, int[] shape, Tensor tensor) {}

    /** A tensor of the given shape with undefined contents, valid until the next reset. */
    public Tensor take(int... shape) {
        if (closed) throw new IllegalStateException("workspace is closed");
        long bytes = align(Math.max(1, Shapes.numel(shape)) * Float.BYTES);
        while (chunk < chunks.size() && offset + bytes > chunks.get(chunk).byteSize()) {
            chunk++;
            offset = 0;
        }
        if (chunk == chunks.size()) {
            long size = Math.max(MIN_CHUNK, bytes);
            chunks.add(memory == null ? arena.allocate(size, Tensor.ALIGNMENT) : memory.allocate(size));
            offset = 0;
        }
        Tensor t;
        if (request < handed.size()) {
            Handed h = handed.get(request);
            if (h.chunk == chunk && h.offset == offset && Arrays.equals(h.shape, shape)) {
                t = h.tensor;
            } else {
                t = Tensor.wrap(chunks.get(chunk).asSlice(offset, bytes), shape);
                handed.set(request, new Handed(chunk, offset, shape.clone(), t));
            }
        } else {
            t = Tensor.wrap(chunks.get(chunk).asSlice(offset, bytes), shape);
            handed.add(new Handed(chunk, offset, shape.clone(), t));
        }
        request++;
        offset += bytes;
        return t;
    }

    /** Like {@link #take} but filled with zeros. */
    public Tensor takeZeroed(int... shape) {
        Tensor t = take(shape);
        if (memory == null) t.fill(0f);
        else memory.zero(t);
        return t;
    }

    /** Makes all memory reusable; tensors taken before must not be used any more. */
    public void reset() {
        chunk = 0;
        offset = 0;
        request = 0;
    }

    /** Bytes reserved so far (for diagnostics). */
    public long reservedBytes() {
        long n = 0;
        for (MemorySegment s : chunks) n += s.byteSize();
        return n;
    }

    @Override
    public void close() {
        if (!closed) {
            closed = true;
            arena.close();
            if (memory != null) memory.release();
        }
    }

    private static long align(long bytes) {
        return (bytes + Tensor.ALIGNMENT - 1) / Tensor.ALIGNMENT * Tensor.ALIGNMENT;
    }
}
