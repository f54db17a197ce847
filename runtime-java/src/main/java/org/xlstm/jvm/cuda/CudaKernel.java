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

    /** cuLaunchKernelEx's CUlaunchConfig (56 bytes) with one CUlaunchAttribute (72 bytes), reused per thread. */
    private static final class LaunchConfig {
        final MemorySegment config = Arena.global().allocate(56, 8), attribute = Arena.global().allocate(72, 8);

        LaunchConfig() {
            attribute.set(JAVA_INT, 0, 6);   // CU_LAUNCH_ATTRIBUTE_PROGRAMMATIC_STREAM_SERIALIZATION
            attribute.set(JAVA_INT, 8, 1);   // .programmaticStreamSerializationAllowed
            config.set(ADDRESS, 40, attribute);
            config.set(JAVA_INT, 48, 1);
        }
    }

    private static final ThreadLocal<LaunchConfig> CONFIG = ThreadLocal.withInitial(LaunchConfig::new);

    /** Whether {@link #launchDependent} launches programmatically here: 0 not yet known, 1 yes, -1 no. */
    private volatile int dependentLaunches;

    /** -Dxlstm.cuda.pdl=false: dependent launches as plain ones (to compare). */
    private static final boolean PDL = !"false".equalsIgnoreCase(System.getProperty("xlstm.cuda.pdl"));

    /**
     * A programmatic dependent launch (compute capability 9.0+; a plain {@link #launch} elsewhere): the kernel may
     * begin while the previous kernel on the stream is still running, so it must execute {@code pdl_wait()}
     * (kernels/src/common.cuh) before it reads anything an earlier kernel wrote or writes anything one reads; what
     * comes before (loading weights) overlaps the previous kernel. Captured into CUDA graphs as such.
     */
    public void launchDependent(int gridX, int gridY, int gridZ, int blockX, int blockY, int blockZ, int sharedBytes,
                                CudaStream stream, Object... args) {
        CudaDriver cu = ctx.driver();
        if (dependentLaunches == 0) dependentLaunches = PDL && cu.cuLaunchKernelEx != null && ctx.computeCapability() >= 90 ? 1 : -1;
        if (dependentLaunches < 0) {
            launch(gridX, gridY, gridZ, blockX, blockY, blockZ, sharedBytes, stream, args);
            return;
        }
        if (args.length > MAX_ARGS) throw new IllegalArgumentException("kernel " + name + ": more than " + MAX_ARGS + " arguments");
        ctx.bind();
        ArgBlock block = ARGS.get();
        pack(block, args);
        MemorySegment cfg = CONFIG.get().config;
        cfg.set(JAVA_INT, 0, gridX);
        cfg.set(JAVA_INT, 4, gridY);
        cfg.set(JAVA_INT, 8, gridZ);
        cfg.set(JAVA_INT, 12, blockX);
        cfg.set(JAVA_INT, 16, blockY);
        cfg.set(JAVA_INT, 20, blockZ);
        cfg.set(JAVA_INT, 24, sharedBytes);
        cfg.set(ADDRESS, 32, stream == null ? MemorySegment.NULL : stream.handle());
        int rc;
        try {
            rc = (int) cu.cuLaunchKernelEx.invokeExact(cfg, function, block.pointers, MemorySegment.NULL);
        } catch (Throwable t) {
            throw new IllegalStateException("native call failed: " + t, t);
        }
        if (rc != 0)
            throw new CudaException(rc, cu.errorName(rc), "dependent launch of kernel " + name + " <<<(" + gridX + ","
                    + gridY + "," + gridZ + "),(" + blockX + "," + blockY + "," + blockZ + ")," + sharedBytes + ">>>");
    }

    private void pack(ArgBlock block, Object[] args) {
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
    }

    /** Launches on {@code stream} (null = the default stream). */
    public void launch(int gridX, int gridY, int gridZ, int blockX, int blockY, int blockZ, int sharedBytes,
                       CudaStream stream, Object... args) {
        if (args.length > MAX_ARGS) throw new IllegalArgumentException("kernel " + name + ": more than " + MAX_ARGS + " arguments");
        ctx.bind();
        CudaDriver cu = ctx.driver();
        ArgBlock block = ARGS.get();
        pack(block, args);
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
