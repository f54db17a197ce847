package org.xlstm.jvm.cuda;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * A loaded kernel. {@link #launch} packs the arguments as the driver wants them (an array of pointers to each
 * argument's value): {@link Long} for device pointers and int64, {@link Integer}, {@link Float}.
 * Errors name the kernel.
 */
public final class CudaKernel {
    private final CudaContext ctx;
    private final String name;
    private final MemorySegment function;

    CudaKernel(CudaContext ctx, String name, MemorySegment function) {
        this.ctx = ctx;
        this.name = name;
        this.function = function;
    }

    public String name() { return name; }

    /** The CUfunction handle, for launches this class does not make (cuLaunchKernelEx with cluster dimensions). */
    public MemorySegment handle() { return function; }

    /**
     * Per-thread argument block: up to {@link #MAX_ARGS} 8-byte value slots and the pointer array the driver reads.
     * Reused for every launch on the thread (the driver copies the arguments at launch), so a launch allocates
     * nothing; decoding makes hundreds of launches per token.
     */
    private static final int MAX_ARGS = 32;

    private static final class ArgBlock {
        final MemorySegment values = Arena.global().allocate(8L * MAX_ARGS, 8);
        final MemorySegment pointers = Arena.global().allocate(ADDRESS, MAX_ARGS);

        ArgBlock() {
            for (int i = 0; i < MAX_ARGS; i++) pointers.setAtIndex(ADDRESS, i, values.asSlice(8L * i, 8));
        }
    }

    private static final ThreadLocal<ArgBlock> ARGS = ThreadLocal.withInitial(ArgBlock::new);

    /** Launches on {@code stream} (null = the default stream). */
    public void launch(int gridX, int gridY, int gridZ, int blockX, int blockY, int blockZ, int sharedBytes,
                       CudaStream stream, Object... args) {
        if (args.length > MAX_ARGS) throw new IllegalArgumentException("kernel " + name + ": more than " + MAX_ARGS + " arguments");
        ctx.bind();
        CudaDriver cu = ctx.driver();
        ArgBlock block = ARGS.get();
        for (int i = 0; i < args.length; i++) {
            long at = 8L * i;
            switch (args[i]) {
                case Long l -> block.values.set(JAVA_LONG, at, l);
                case Integer n -> block.values.set(JAVA_INT, at, n);
                case Float f -> block.values.set(JAVA_FLOAT, at, f);
                case DeviceBuffer b -> block.values.set(JAVA_LONG, at, b.ptr());
                default -> throw new IllegalArgumentException("kernel " + name + ": argument " + i + " has unsupported type "
                        + args[i].getClass().getSimpleName());
            }
        }
        int rc;
        // A local of the exact type: inside invokeExact's argument list a conditional would be typed Object.
        MemorySegment streamHandle = stream == null ? MemorySegment.NULL : stream.handle();
        try {
            rc = (int) cu.cuLaunchKernel.invokeExact(function, gridX, gridY, gridZ, blockX, blockY, blockZ, sharedBytes,
                    streamHandle, block.pointers, MemorySegment.NULL);
        } catch (Throwable t) {
            throw new IllegalStateException("native call failed: " + t, t);
        }
        if (rc != 0)
            throw new CudaException(rc, cu.errorName(rc), "launch of kernel " + name + " <<<(" + gridX + "," + gridY + ","
                    + gridZ + "),(" + blockX + "," + blockY + "," + blockZ + ")," + sharedBytes + ">>>");
    }

    /** A 1-D launch covering {@code n} elements with 256 threads per block (grid-stride kernels). */
    public void launch1d(long n, CudaStream stream, Object... args) {
        int blocks = (int) Math.max(1, Math.min((n + 255) / 256, 65535L * 8));
        launch(blocks, 1, 1, 256, 1, 1, 0, stream, args);
    }

    /** Raises the kernel's dynamic shared-memory limit (needed above 48 KB). */
    public void setMaxDynamicSharedMemory(int bytes) {
        ctx.bind();
        ctx.driver().check("cuFuncSetAttribute(" + name + ", max dynamic shared " + bytes + ")",
                ctx.driver().cuFuncSetAttribute, function, 8, bytes);
    }
}
