package org.xlstm.jvm.backend.cuda;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import org.xlstm.jvm.cuda.CudaContext;
import org.xlstm.jvm.cuda.CudaException;
import org.xlstm.jvm.cuda.CudaKernel;
import org.xlstm.jvm.tensor.Tensor;

/**
 * The sLSTM recurrence (forward) for heads whose recurrent kernel R does not fit in one block's shared memory:
 * kernels/src/slstm_cluster.cu runs each (batch, head) on a thread-block cluster (sm_90+) of {@code CL} blocks that
 * together hold R on chip for the whole sequence, instead of re-reading it from L2 at every step as the one-block
 * kernel must (at DH = 192, 590 KB per head per step). Clusters need {@code cuLaunchKernelEx} with the
 * cluster-dimension launch attribute, which this class calls through its own FFM downcall.
 *
 * <p>{@link #run} returns false where this kernel does not apply, and the caller then uses the one-block kernel:
 * the device is older than compute capability 9.0, R fits one block anyway (the one-block kernel is then best), no
 * cluster size up to 8 fits R in shared memory (DH above about 320), the driver lacks cluster launches, the device
 * cannot host one such cluster, or the system property {@value #DISABLE_PROPERTY} is {@code false}.
 */
final class CudaSlstmCluster {
    /** Set to {@code false} to force the one-block kernel (comparisons, debugging). */
    static final String DISABLE_PROPERTY = "xlstm.cuda.slstmCluster";

    /** Shared memory we let one block use: the one-block kernel's budget (CudaOps.slstmRecurrent), under 227 KB. */
    static final int SHARED_BUDGET = 200 * 1024;

    private static final int CU_LAUNCH_ATTRIBUTE_CLUSTER_DIMENSION = 4;
    private static final int CONFIG_BYTES = 56, ATTRIBUTE_BYTES = 72;   // sizeof(CUlaunchConfig), sizeof(CUlaunchAttribute)
    private static final int ARGS = 16;

    private CudaSlstmCluster() {}

    /**
     * How one head of dimension {@code dh} is split: {@code cl} blocks per cluster, {@code js} output columns per
     * block (the last block may have fewer), {@code threads} per block (4 per column, whole warps), and the dynamic
     * shared memory per block (the double-buffered h plus the block's slice of R).
     */
    record Plan(int cl, int js, int threads, int sharedBytes) {}

    /** True when the one-block kernel keeps R in shared memory (the rule of CudaOps.slstmRecurrent). */
    static boolean oneBlockFits(int dh) {
        return (long) dh * 4 * dh * Float.BYTES + (long) dh * Float.BYTES <= SHARED_BUDGET;
    }

    /** The smallest cluster (2, 4 or 8 blocks: portable sizes) whose slices fit; null when none does. */
    static Plan plan(int dh) {
        if (dh <= 0 || oneBlockFits(dh)) return null;
        for (int cl : new int[] {2, 4, 8}) {
            int js = (dh + cl - 1) / cl;
            long bytes = (2L * ((dh + 3) & ~3) + (long) dh * 4 * js) * Float.BYTES;
            int threads = (4 * js + 31) / 32 * 32;
            if (bytes <= SHARED_BUDGET && threads <= 1024) return new Plan(cl, js, threads, (int) bytes);
        }
        return null;
    }

    /** Runs the recurrence on clusters and returns true, or returns false (nothing launched) where it does not apply. */
    static boolean run(CudaOps ops, Tensor xi, Tensor xf, Tensor xz, Tensor xo, Tensor r, Tensor bias, Tensor h,
                       Tensor c, Tensor n, Tensor m, Tensor y) {
        if ("false".equalsIgnoreCase(System.getProperty(DISABLE_PROPERTY))) return false;
        int b = xi.dim(0), s = xi.dim(1), nh = r.dim(0), dh = r.dim(1);
        Plan p = plan(dh);
        if (p == null || b <= 0 || nh <= 0 || (long) b * nh * p.cl() > Integer.MAX_VALUE) return false;
        if (whyNot(ops, p) != null) return false;
        CudaKernel kernel = ops.kernel("slstm_cluster", "xlstm_slstm_cluster_f32");
        Object[] args = {ops.input(xi), ops.input(xf), ops.input(xz), ops.input(xo), ops.input(r), ops.input(bias),
                CudaOps.output(h), CudaOps.output(c), CudaOps.output(n), CudaOps.output(m), CudaOps.output(y), s, nh,
                dh, p.cl(), p.js()};
        ops.context().bind();
        Driver d = Driver.get().orElseThrow();
        try (Arena a = Arena.ofConfined()) {
            MemorySegment config = config(a, p, b * nh * p.cl(), ops.stream().handle());
            MemorySegment values = a.allocate(8L * ARGS, 8), pointers = a.allocate(ADDRESS, ARGS);
            for (int i = 0; i < args.length; i++) {
                MemorySegment slot = values.asSlice(8L * i, 8);
                switch (args[i]) {
                    case Long l -> slot.set(JAVA_LONG, 0, l);
                    case Integer k -> slot.set(JAVA_INT, 0, k);
                    default -> throw new IllegalStateException("argument " + i + ": " + args[i]);
                }
                pointers.setAtIndex(ADDRESS, i, slot);
            }
            int rc = d.call(d.launchKernelEx, config, kernel.handle(), pointers, MemorySegment.NULL);
            if (rc != 0)
                throw new CudaException(rc, d.errorName(rc), "cuLaunchKernelEx of xlstm_slstm_cluster_f32 (B=" + b
                        + ", S=" + s + ", NH=" + nh + ", DH=" + dh + ", " + p + ")");
        }
        return true;
    }

    /** Why the cluster kernel cannot run head dim {@code dh} on this backend's device; null when it can. */
    static String whyNot(CudaOps ops, int dh) {
        Plan p = plan(dh);
        if (p == null)
            return oneBlockFits(dh) ? "R of DH=" + dh + " fits one block (the one-block kernel is used)"
                    : "no cluster of 2, 4 or 8 blocks holds R of DH=" + dh + " in " + SHARED_BUDGET + " bytes each";
        return whyNot(ops, p);
    }

    /** Checked once per (context, plan): compute capability, driver entry points, and that one cluster fits. */
    private static final Map<List<Object>, String> READY = new ConcurrentHashMap<>();
    private static final String OK = "";

    private static String whyNot(CudaOps ops, Plan p) {
        String why = READY.computeIfAbsent(List.of(ops.context(), p), k -> check(ops, p));
        return why.isEmpty() ? null : why;
    }

    private static String check(CudaOps ops, Plan p) {
        CudaContext ctx = ops.context();
        int cc = ctx.computeCapability();
        if (cc < 90) return "compute capability " + cc / 10 + "." + cc % 10 + " has no thread-block clusters (needs 9.0)";
        Optional<Driver> driver = Driver.get();
        if (driver.isEmpty()) return "the CUDA driver lacks cuLaunchKernelEx / cuOccupancyMaxActiveClusters";
        Driver d = driver.get();
        CudaKernel kernel = ops.kernel("slstm_cluster", "xlstm_slstm_cluster_f32");
        // The budget, not this plan's bytes: the attribute is per function, and every plan is within the budget, so
        // checking a smaller plan later cannot lower the limit an earlier, larger one launches with.
        kernel.setMaxDynamicSharedMemory(SHARED_BUDGET);
        ctx.bind();
        try (Arena a = Arena.ofConfined()) {
            MemorySegment count = a.allocate(JAVA_INT);
            int rc = d.call(d.occupancyMaxActiveClusters, count, kernel.handle(), config(a, p, p.cl(), MemorySegment.NULL));
            if (rc != 0) return "cuOccupancyMaxActiveClusters failed: " + d.errorName(rc) + " for " + p;
            if (count.get(JAVA_INT, 0) < 1) return "the device cannot host one cluster of " + p;
        }
        return OK;
    }

    /** A CUlaunchConfig with one attribute, the cluster dimension (cl, 1, 1). Offsets from cuda.h (x86-64). */
    private static MemorySegment config(Arena a, Plan p, int gridX, MemorySegment stream) {
        MemorySegment attr = a.allocate(ATTRIBUTE_BYTES, 8);   // zeroed
        attr.set(JAVA_INT, 0, CU_LAUNCH_ATTRIBUTE_CLUSTER_DIMENSION);
        attr.set(JAVA_INT, 8, p.cl());    // value.clusterDim.x
        attr.set(JAVA_INT, 12, 1);        // .y
        attr.set(JAVA_INT, 16, 1);        // .z
        MemorySegment cfg = a.allocate(CONFIG_BYTES, 8);
        cfg.set(JAVA_INT, 0, gridX);
        cfg.set(JAVA_INT, 4, 1);
        cfg.set(JAVA_INT, 8, 1);
        cfg.set(JAVA_INT, 12, p.threads());
        cfg.set(JAVA_INT, 16, 1);
        cfg.set(JAVA_INT, 20, 1);
        cfg.set(JAVA_INT, 24, p.sharedBytes());
        cfg.set(ADDRESS, 32, stream);
        cfg.set(ADDRESS, 40, attr);
        cfg.set(JAVA_INT, 48, 1);
        return cfg;
    }

    /**
     * The driver entry points org.xlstm.jvm.cuda.CudaDriver does not bind. libcuda is already loaded when a context
     * exists, and dlopen by its soname returns that same library.
     */
    private record Driver(MethodHandle launchKernelEx, MethodHandle occupancyMaxActiveClusters, MethodHandle getErrorName) {
        private static volatile Optional<Driver> instance;

        static Optional<Driver> get() {
            Optional<Driver> d = instance;
            if (d == null) {
                synchronized (Driver.class) {
                    if (instance == null) instance = load();
                    d = instance;
                }
            }
            return d;
        }

        private static Optional<Driver> load() {
            String env = System.getenv("XLSTM_CUDA_LIB");
            for (String name : env == null ? List.of("libcuda.so.1", "libcuda.so") : List.of(env, "libcuda.so.1", "libcuda.so")) {
                try {
                    SymbolLookup lib = SymbolLookup.libraryLookup(name, Arena.global());
                    Optional<MemorySegment> launch = lib.find("cuLaunchKernelEx"),
                            occupancy = lib.find("cuOccupancyMaxActiveClusters"), error = lib.find("cuGetErrorName");
                    if (launch.isEmpty() || occupancy.isEmpty() || error.isEmpty()) continue;
                    Linker linker = Linker.nativeLinker();
                    return Optional.of(new Driver(
                            linker.downcallHandle(launch.get(), FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, ADDRESS, ADDRESS)),
                            linker.downcallHandle(occupancy.get(), FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, ADDRESS)),
                            linker.downcallHandle(error.get(), FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS))));
                } catch (IllegalArgumentException notFound) {
                    // try the next name
                }
            }
            return Optional.empty();
        }

        int call(MethodHandle h, Object... args) {
            try {
                return (int) h.invokeWithArguments(args);
            } catch (Throwable t) {
                throw new IllegalStateException("native call failed: " + t, t);
            }
        }

        String errorName(int rc) {
            try (Arena a = Arena.ofConfined()) {
                MemorySegment p = a.allocate(ADDRESS);
                if (call(getErrorName, rc, p) != 0) return "CUDA_ERROR_" + rc;
                return p.get(ADDRESS, 0).reinterpret(256).getString(0);
            }
        }
    }
}
