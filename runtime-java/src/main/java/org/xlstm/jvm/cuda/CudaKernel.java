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

    /** Launches on {@code stream} (null = the default stream). */
    public void launch(int gridX, int gridY, int gridZ, int blockX, int blockY, int blockZ, int sharedBytes,
                       CudaStream stream, Object... args) {
        ctx.bind();
        CudaDriver cu = ctx.driver();
        try (Arena a = Arena.ofConfined()) {
            MemorySegment params = a.allocate(ADDRESS, Math.max(1, args.length));
            for (int i = 0; i < args.length; i++) {
                MemorySegment v = switch (args[i]) {
                    case Long l -> a.allocateFrom(JAVA_LONG, l);
                    case Integer n -> a.allocateFrom(JAVA_INT, n);
                    case Float f -> a.allocateFrom(JAVA_FLOAT, f);
                    case DeviceBuffer b -> a.allocateFrom(JAVA_LONG, b.ptr());
                    default -> throw new IllegalArgumentException("kernel " + name + ": argument " + i + " has unsupported type "
                            + args[i].getClass().getSimpleName());
                };
                params.setAtIndex(ADDRESS, i, v);
            }
            cu.check("launch of kernel " + name + " <<<(" + gridX + "," + gridY + "," + gridZ + "),(" + blockX + ","
                            + blockY + "," + blockZ + ")," + sharedBytes + ">>>", cu.cuLaunchKernel, function, gridX, gridY,
                    gridZ, blockX, blockY, blockZ, sharedBytes, stream == null ? MemorySegment.NULL : stream.handle(),
                    params, MemorySegment.NULL);
        }
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
