package org.xlstm.jvm.cuda;

/**
 * A block of device memory from the {@link CachingAllocator}. {@link #close()} gives it back to the cache, not to
 * the driver, so steady-state training allocates nothing from the driver.
 */
public final class DeviceBuffer implements AutoCloseable {
    private final CachingAllocator owner;
    private final long ptr;
    private final long bytes;
    private final long capacity;
    private boolean closed;

    DeviceBuffer(CachingAllocator owner, long ptr, long bytes, long capacity) {
        this.owner = owner;
        this.ptr = ptr;
        this.bytes = bytes;
        this.capacity = capacity;
    }

    /** The device address. */
    public long ptr() {
        if (closed) throw new IllegalStateException("device buffer used after close");
        return ptr;
    }

    public long bytes() { return bytes; }

    /** The address without the use-after-close check, for the allocator taking the block back. */
    long rawPtr() { return ptr; }

    long capacity() { return capacity; }

    @Override
    public void close() {
        if (!closed) {
            closed = true;
            owner.release(this);
        }
    }
}
