package org.xlstm.jvm.backend.cuda;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentSkipListMap;
import org.xlstm.jvm.cuda.CudaContext;
import org.xlstm.jvm.cuda.DeviceBuffer;
import org.xlstm.jvm.tensor.Shapes;
import org.xlstm.jvm.tensor.Tensor;

/**
 * Tensors in GPU memory. A device tensor is an ordinary {@link Tensor} whose segment's address is a device pointer
 * (a zero-length-checked native segment the CPU must never touch): layers keep handing tensors to {@link Ops}
 * unchanged, and {@link CudaOps} reads the address. This class allocates them, remembers which address ranges are
 * device memory, frees them together on {@link #close()}, and copies between host and device.
 */
public final class DeviceTensors implements AutoCloseable {
    private final CudaContext ctx;
    private final List<DeviceBuffer> owned = new ArrayList<>();
    /** Start address → end address of every live device allocation of any DeviceTensors (for isDevice). */
    private static final ConcurrentSkipListMap<Long, Long> RANGES = new ConcurrentSkipListMap<>();

    public DeviceTensors(CudaContext ctx) { this.ctx = ctx; }

    public CudaContext context() { return ctx; }

    /** A device tensor with undefined contents. */
    public Tensor allocate(int... shape) {
        long bytes = Math.max(1, Shapes.numel(shape)) * Float.BYTES;
        DeviceBuffer b = ctx.allocate(bytes);
        synchronized (owned) { owned.add(b); }
        RANGES.put(b.ptr(), b.ptr() + bytes);
        return Tensor.wrap(MemorySegment.ofAddress(b.ptr()).reinterpret(bytes), shape);
    }

    /**
     * Frees a tensor allocated here before {@link #close()}. Safe while kernels that use it are still queued, as
     * long as every launch goes to one stream: the block's next user is queued behind them.
     */
    public void release(Tensor t) { releaseAddress(address(t), t.toString()); }

    /**
     * A device tensor that gives its memory back to the caching allocator once the CPU side can no longer reach it
     * (recurrent states of finished generations), as host states are freed by the garbage collector. Safe because
     * every device write is ordered on the compute stream: the block's next user queues behind the old work.
     */
    public Tensor allocateManaged(int... shape) {
        Tensor t = allocate(shape);
        long address = address(t);
        String name = t.toString();
        CLEANER.register(t, () -> {
            try {
                releaseAddress(address, name);
            } catch (RuntimeException ignored) {
                // already freed by close()
            }
        });
        return t;
    }

    private static final java.lang.ref.Cleaner CLEANER = java.lang.ref.Cleaner.create();

    private void releaseAddress(long a, String what) {
        synchronized (owned) {
            for (int i = owned.size() - 1; i >= 0; i--) {
                if (owned.get(i).ptr() == a) {
                    RANGES.remove(a);
                    owned.remove(i).close();
                    return;
                }
            }
        }
        throw new IllegalArgumentException(what + " was not allocated by this DeviceTensors (or was already freed)");
    }

    /** Raw device memory as a segment (for a device {@link org.xlstm.jvm.tensor.Workspace}'s chunks); freed on close. */
    public MemorySegment allocateSegment(long bytes) {
        DeviceBuffer b = ctx.allocate(bytes);
        synchronized (owned) { owned.add(b); }
        RANGES.put(b.ptr(), b.ptr() + bytes);
        return MemorySegment.ofAddress(b.ptr()).reinterpret(bytes);
    }

    /** A device copy of a host tensor. */
    public Tensor upload(Tensor host) {
        Tensor d = allocate(host.shape());
        // The block may have been released by a kernel still queued on some stream: let everything finish first.
        ctx.synchronize();
        ctx.copyToDevice(address(d), host.segment(), host.size() * Float.BYTES);
        return d;
    }

    /** Copies a device tensor into a new host tensor allocated in {@code arena}. */
    public Tensor download(Tensor device, Arena arena) {
        Tensor h = Tensor.allocate(arena, device.shape());
        ctx.synchronize();   // the copy must see every queued write
        ctx.copyToHost(h.segment(), address(device), device.size() * Float.BYTES);
        return h;
    }

    public float[] toArray(Tensor device) {
        return ctx.downloadFloats(address(device), Math.toIntExact(device.size()));
    }

    /** True when the tensor's memory is a device allocation made here. */
    public static boolean isDevice(Tensor t) {
        long a = t.segment().address();
        Map.Entry<Long, Long> e = RANGES.floorEntry(a);
        return e != null && a < e.getValue();
    }

    static long address(Tensor t) { return t.segment().address(); }

    @Override
    public void close() {
        synchronized (owned) {
            for (DeviceBuffer b : owned) {
                RANGES.remove(b.ptr());
                b.close();
            }
            owned.clear();
        }
    }

    /** Host float array → device tensor, for small inputs such as token ids turned into floats. */
    Tensor uploadInts(int[] v, org.xlstm.jvm.cuda.CudaStream stream) {
        Tensor d = allocate(v.length);
        try (Arena a = Arena.ofConfined()) {
            MemorySegment s = a.allocate(ValueLayout.JAVA_INT, Math.max(1, v.length));
            MemorySegment.copy(v, 0, s, ValueLayout.JAVA_INT, 0, v.length);
            ctx.copyToDevice(address(d), s, (long) v.length * Integer.BYTES, stream);
        }
        return d;
    }
}
