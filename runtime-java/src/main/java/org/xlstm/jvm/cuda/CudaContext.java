package org.xlstm.jvm.cuda;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.io.IOException;
import java.io.InputStream;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.ConcurrentHashMap;

/**
 * One GPU's primary context, its kernel modules (the fatbins the kernels module built, loaded from the class path)
 * and a caching allocator. Every entry point makes the context current on the calling thread first, so a context
 * may be used from any thread (one at a time per stream).
 */
public final class CudaContext implements AutoCloseable {
    /** CU_DEVICE_ATTRIBUTE_* values used here. */
    private static final int ATTR_MULTIPROCESSOR_COUNT = 16, ATTR_CC_MAJOR = 75, ATTR_CC_MINOR = 76;

    private final CudaDriver cu;
    private final int ordinal;
    private final MemorySegment ctx;
    private final Map<String, MemorySegment> modules = new ConcurrentHashMap<>();
    private final Map<String, CudaKernel> kernels = new ConcurrentHashMap<>();
    private final CachingAllocator allocator;

    private CudaContext(CudaDriver cu, int ordinal) {
        this.cu = cu;
        this.ordinal = ordinal;
        try (Arena a = Arena.ofConfined()) {
            MemorySegment dev = a.allocate(JAVA_INT);
            cu.check("cuDeviceGet(" + ordinal + ")", cu.cuDeviceGet, dev, ordinal);
            MemorySegment p = a.allocate(ADDRESS);
            cu.check("cuDevicePrimaryCtxRetain", cu.cuDevicePrimaryCtxRetain, p, dev.get(JAVA_INT, 0));
            ctx = p.get(ADDRESS, 0);
        }
        bind();
        allocator = new CachingAllocator(this);
    }

    /** Opens GPU {@code ordinal}; throws {@link CudaUnavailableException} when there is none. */
    public static CudaContext open(int ordinal) {
        CudaDriver cu = CudaDriver.get();
        int n = cu.deviceCount();
        if (n == 0) throw new CudaUnavailableException("the CUDA driver loaded but reports no GPU");
        if (ordinal < 0 || ordinal >= n)
            throw new CudaUnavailableException("GPU " + ordinal + " requested but only " + n + " present");
        return new CudaContext(cu, ordinal);
    }

    /** True when a driver and at least one GPU are present (never throws). */
    public static boolean isAvailable() {
        try {
            return CudaDriver.get().deviceCount() > 0;
        } catch (RuntimeException | LinkageError e) {
            return false;
        }
    }

    /** Why {@link #isAvailable()} is false, for messages and skipped tests. */
    public static String unavailableReason() {
        try {
            int n = CudaDriver.get().deviceCount();
            return n > 0 ? "available" : "no GPU reported by the driver";
        } catch (RuntimeException | LinkageError e) {
            return e.getMessage();
        }
    }

    CudaDriver driver() { return cu; }

    /** Makes this context current on the calling thread. */
    public void bind() {
        // cuCtxSetCurrent costs a native call; skip it when this thread already has this context current.
        if (CURRENT.get() == this) return;
        cu.check("cuCtxSetCurrent", cu.cuCtxSetCurrent, ctx);
        CURRENT.set(this);
    }

    /** The context each thread made current through {@link #bind()}. */
    private static final ThreadLocal<CudaContext> CURRENT = new ThreadLocal<>();

    public void synchronize() {
        bind();
        cu.check("cuCtxSynchronize", cu.cuCtxSynchronize);
    }

    public String deviceName() {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment s = a.allocate(256);
            cu.check("cuDeviceGetName", cu.cuDeviceGetName, s, 256, ordinal);
            return s.getString(0);
        }
    }

    private int attribute(int attr) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment p = a.allocate(JAVA_INT);
            cu.check("cuDeviceGetAttribute(" + attr + ")", cu.cuDeviceGetAttribute, p, attr, ordinal);
            return p.get(JAVA_INT, 0);
        }
    }

    public int multiprocessorCount() { return attribute(ATTR_MULTIPROCESSOR_COUNT); }

    /** Compute capability as major*10 + minor (90 for Hopper). */
    public int computeCapability() { return attribute(ATTR_CC_MAJOR) * 10 + attribute(ATTR_CC_MINOR); }

    /** {free, total} device memory in bytes. */
    public long[] memoryInfo() {
        bind();
        try (Arena a = Arena.ofConfined()) {
            MemorySegment f = a.allocate(JAVA_LONG), t = a.allocate(JAVA_LONG);
            cu.check("cuMemGetInfo", cu.cuMemGetInfo, f, t);
            return new long[] {f.get(JAVA_LONG, 0), t.get(JAVA_LONG, 0)};
        }
    }

    public CachingAllocator allocator() { return allocator; }

    /** Allocates through the caching allocator; {@link DeviceBuffer#close()} returns the block to the cache. */
    public DeviceBuffer allocate(long bytes) { return allocator.allocate(bytes); }

    /** Raw device allocation (the allocator's backing store); OOM errors say what was asked and what is free. */
    long rawAlloc(long bytes) {
        bind();
        try (Arena a = Arena.ofConfined()) {
            MemorySegment p = a.allocate(JAVA_LONG);
            int rc = cu.call(cu.cuMemAlloc, p, bytes);
            if (rc != 0) {
                long[] mem = memoryInfo();
                throw new CudaException(rc, cu.errorName(rc), "cuMemAlloc of " + bytes + " bytes (" + mem[0]
                        + " bytes free of " + mem[1] + "; " + allocator.cachedBytes() + " held in the cache)");
            }
            return p.get(JAVA_LONG, 0);
        }
    }

    void rawFree(long ptr) {
        bind();
        cu.check("cuMemFree", cu.cuMemFree, ptr);
    }

    /**
     * Host → device, ordered on {@code stream}: use this for memory a queued kernel may have just released to the
     * caching allocator (a synchronous copy would overwrite it before that kernel ran). The host bytes are staged
     * before this returns, so {@code src} may be freed afterwards.
     */
    public void copyToDevice(long dst, MemorySegment src, long bytes, CudaStream stream) {
        bind();
        cu.check("cuMemcpyHtoDAsync of " + bytes + " bytes", cu.cuMemcpyHtoDAsync, dst, src, bytes, stream.handle());
    }

    /** Sets {@code count} 32-bit words at {@code dst} to {@code value}, ordered on {@code stream}. */
    public void fillInts(long dst, int value, long count, CudaStream stream) {
        bind();
        cu.check("cuMemsetD32Async of " + count + " words", cu.cuMemsetD32Async, dst, value, count, stream.handle());
    }

    public void copyToDevice(long dst, MemorySegment src, long bytes) {
        bind();
        cu.check("cuMemcpyHtoD of " + bytes + " bytes", cu.cuMemcpyHtoD, dst, src, bytes);
    }

    public void copyToHost(MemorySegment dst, long src, long bytes) {
        bind();
        cu.check("cuMemcpyDtoH of " + bytes + " bytes", cu.cuMemcpyDtoH, dst, src, bytes);
    }

    public void copyDeviceToDevice(long dst, long src, long bytes) {
        bind();
        cu.check("cuMemcpyDtoD of " + bytes + " bytes", cu.cuMemcpyDtoD, dst, src, bytes);
    }

    /** Copies a float array to a new device buffer. */
    public DeviceBuffer upload(float[] v) {
        DeviceBuffer b = allocate((long) v.length * 4);
        try (Arena a = Arena.ofConfined()) {
            MemorySegment s = a.allocate(ValueLayout.JAVA_FLOAT, v.length);
            MemorySegment.copy(v, 0, s, ValueLayout.JAVA_FLOAT, 0, v.length);
            copyToDevice(b.ptr(), s, (long) v.length * 4);
        }
        return b;
    }

    /** Reads {@code n} floats from a device pointer (synchronous). */
    public float[] downloadFloats(long ptr, int n) {
        float[] out = new float[n];
        try (Arena a = Arena.ofConfined()) {
            MemorySegment s = a.allocate(ValueLayout.JAVA_FLOAT, n);
            copyToHost(s, ptr, (long) n * 4);
            MemorySegment.copy(s, ValueLayout.JAVA_FLOAT, 0, out, 0, n);
        }
        return out;
    }

    /** A kernel from one of our fatbins, e.g. kernel("elementwise", "xlstm_fill_f32"); cached. */
    public CudaKernel kernel(String module, String function) {
        return kernels.computeIfAbsent(module + "/" + function, k -> {
            MemorySegment mod = modules.computeIfAbsent(module, this::loadModule);
            bind();
            try (Arena a = Arena.ofConfined()) {
                MemorySegment p = a.allocate(ADDRESS);
                cu.check("cuModuleGetFunction(" + function + " in " + module + ")", cu.cuModuleGetFunction, p, mod,
                        a.allocateFrom(function));
                return new CudaKernel(this, function, p.get(ADDRESS, 0));
            }
        });
    }

    private MemorySegment loadModule(String module) {
        byte[] image = KernelImages.fatbin(module);
        bind();
        try (Arena a = Arena.ofConfined()) {
            // The driver copies the image, so a confined arena may free it right after loading.
            MemorySegment img = a.allocate(image.length + 1L);
            MemorySegment.copy(image, 0, img, ValueLayout.JAVA_BYTE, 0, image.length);
            MemorySegment p = a.allocate(ADDRESS);
            cu.check("cuModuleLoadData(" + module + ".fatbin)", cu.cuModuleLoadData, p, img);
            return p.get(ADDRESS, 0);
        }
    }

    @Override
    public void close() {
        allocator.releaseCached();
    }

    /** Reads the fatbins the kernels module packed as class-path resources. */
    static final class KernelImages {
        private static final String ROOT = "/org/xlstm/jvm/kernels/";

        static byte[] fatbin(String module) {
            try (InputStream in = CudaContext.class.getResourceAsStream(ROOT + module + ".fatbin")) {
                if (in == null) throw new CudaUnavailableException("GPU kernels not available: " + builtInfo());
                return in.readAllBytes();
            } catch (IOException e) {
                throw new CudaUnavailableException("cannot read kernel module " + module + ": " + e.getMessage(), e);
            }
        }

        static String builtInfo() {
            try (InputStream in = CudaContext.class.getResourceAsStream(ROOT + "kernels.properties")) {
                if (in == null) return "the xlstm-kernels jar is not on the class path";
                Properties p = new Properties();
                p.load(in);
                return "true".equals(p.getProperty("built")) ? "built with " + p.getProperty("nvcc") + ", modules "
                        + p.getProperty("modules") : "this build was made without nvcc (" + p.getProperty("reason")
                        + "); rebuild on a machine with the CUDA toolkit";
            } catch (IOException e) {
                return e.getMessage();
            }
        }
    }
}
