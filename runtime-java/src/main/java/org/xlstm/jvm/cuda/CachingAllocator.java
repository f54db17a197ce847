package org.xlstm.jvm.cuda;

import java.util.ArrayDeque;
import java.util.Map;
import java.util.TreeMap;

/**
 * Keeps freed device blocks for reuse, keyed by size class (powers of two up to 1 MiB, then 1 MiB steps up to
 * 64 MiB, then 16 MiB steps), like PyTorch's caching allocator in spirit. A training loop that frees what it
 * allocates each step stops calling cuMemAlloc after the first step, so device memory does not grow.
 * When cuMemAlloc fails, the cache is emptied and the allocation retried once.
 */
public final class CachingAllocator {
    private final CudaContext ctx;
    private final TreeMap<Long, ArrayDeque<Long>> free = new TreeMap<>();
    private long cachedBytes, liveBytes, driverAllocations;

    CachingAllocator(CudaContext ctx) { this.ctx = ctx; }

    static long sizeClass(long bytes) {
        long b = Math.max(bytes, 256);
        if (b <= (1L << 20)) return Long.highestOneBit(b - 1) << 1;
        long step = b <= (64L << 20) ? (1L << 20) : (16L << 20);
        return (b + step - 1) / step * step;
    }

    public synchronized DeviceBuffer allocate(long bytes) {
        long cls = sizeClass(bytes);
        ArrayDeque<Long> q = free.get(cls);
        long ptr;
        if (q != null && !q.isEmpty()) {
            ptr = q.pop();
            cachedBytes -= cls;
        } else {
            try {
                ptr = ctx.rawAlloc(cls);
            } catch (CudaException e) {
                releaseCached();
                ptr = ctx.rawAlloc(cls);
            }
            driverAllocations++;
        }
        liveBytes += cls;
        return new DeviceBuffer(this, ptr, bytes, cls);
    }

    synchronized void release(DeviceBuffer b) {
        free.computeIfAbsent(b.capacity(), k -> new ArrayDeque<>()).push(b.rawPtr());
        cachedBytes += b.capacity();
        liveBytes -= b.capacity();
    }

    /** Returns every cached block to the driver. */
    public synchronized void releaseCached() {
        for (Map.Entry<Long, ArrayDeque<Long>> e : free.entrySet()) for (long p : e.getValue()) ctx.rawFree(p);
        free.clear();
        cachedBytes = 0;
    }

    public synchronized long cachedBytes() { return cachedBytes; }

    public synchronized long liveBytes() { return liveBytes; }

    /** How many times the driver was asked for memory (flat in steady state). */
    public synchronized long driverAllocations() { return driverAllocations; }
}
