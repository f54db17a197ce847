package org.xlstm.jvm.cuda;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;

/**
 * Downcalls into the CUDA driver API ({@code libcuda.so.1}) through FFM. Handles (contexts, modules, functions,
 * streams, events, graphs) are opaque pointers; device pointers are 64-bit integers. Every call goes through
 * {@link #check}, which turns a non-zero CUresult into a {@link CudaException} carrying the error's name.
 */
public final class CudaDriver {
    private static final Linker LINKER = Linker.nativeLinker();
    private static volatile CudaDriver instance;

    final MethodHandle cuInit, cuDeviceGetCount, cuDeviceGet, cuDeviceGetName, cuDeviceGetAttribute,
            cuDevicePrimaryCtxRetain, cuCtxSetCurrent, cuCtxSynchronize, cuMemAlloc, cuMemFree, cuMemcpyHtoD,
            cuMemcpyDtoH, cuMemcpyDtoD, cuMemcpyHtoDAsync, cuMemcpyDtoHAsync, cuMemsetD32, cuMemsetD32Async,
            cuMemGetInfo, cuModuleLoadData, cuModuleGetFunction, cuModuleUnload, cuFuncSetAttribute, cuLaunchKernel,
            cuStreamCreate, cuStreamSynchronize, cuStreamDestroy, cuEventCreate, cuEventRecord, cuEventSynchronize,
            cuEventElapsedTime, cuEventDestroy, cuStreamBeginCapture, cuStreamEndCapture, cuGraphInstantiate,
            cuGraphLaunch, cuGraphExecDestroy, cuGraphDestroy, cuGetErrorName, cuDriverGetVersion;
    /** cuLaunchKernelEx (CUDA 11.8+; null when the driver lacks it): launches with attributes. */
    final MethodHandle cuLaunchKernelEx;

    private CudaDriver(SymbolLookup lib) {
        cuInit = h(lib, "cuInit", JAVA_INT);
        cuDriverGetVersion = h(lib, "cuDriverGetVersion", ADDRESS);
        cuDeviceGetCount = h(lib, "cuDeviceGetCount", ADDRESS);
        cuDeviceGet = h(lib, "cuDeviceGet", ADDRESS, JAVA_INT);
        cuDeviceGetName = h(lib, "cuDeviceGetName", ADDRESS, JAVA_INT, JAVA_INT);
        cuDeviceGetAttribute = h(lib, "cuDeviceGetAttribute", ADDRESS, JAVA_INT, JAVA_INT);
        cuDevicePrimaryCtxRetain = h(lib, "cuDevicePrimaryCtxRetain", ADDRESS, JAVA_INT);
        cuCtxSetCurrent = h(lib, "cuCtxSetCurrent", ADDRESS);
        cuCtxSynchronize = h(lib, "cuCtxSynchronize");
        cuMemAlloc = h(lib, "cuMemAlloc_v2", ADDRESS, JAVA_LONG);
        cuMemFree = h(lib, "cuMemFree_v2", JAVA_LONG);
        cuMemcpyHtoD = h(lib, "cuMemcpyHtoD_v2", JAVA_LONG, ADDRESS, JAVA_LONG);
        cuMemcpyDtoH = h(lib, "cuMemcpyDtoH_v2", ADDRESS, JAVA_LONG, JAVA_LONG);
        cuMemcpyDtoD = h(lib, "cuMemcpyDtoD_v2", JAVA_LONG, JAVA_LONG, JAVA_LONG);
        cuMemcpyHtoDAsync = h(lib, "cuMemcpyHtoDAsync_v2", JAVA_LONG, ADDRESS, JAVA_LONG, ADDRESS);
        cuMemcpyDtoHAsync = h(lib, "cuMemcpyDtoHAsync_v2", ADDRESS, JAVA_LONG, JAVA_LONG, ADDRESS);
        cuMemsetD32 = h(lib, "cuMemsetD32_v2", JAVA_LONG, JAVA_INT, JAVA_LONG);
        cuMemsetD32Async = h(lib, "cuMemsetD32Async", JAVA_LONG, JAVA_INT, JAVA_LONG, ADDRESS);
        cuMemGetInfo = h(lib, "cuMemGetInfo_v2", ADDRESS, ADDRESS);
        cuModuleLoadData = h(lib, "cuModuleLoadData", ADDRESS, ADDRESS);
        cuModuleGetFunction = h(lib, "cuModuleGetFunction", ADDRESS, ADDRESS, ADDRESS);
        cuModuleUnload = h(lib, "cuModuleUnload", ADDRESS);
        cuFuncSetAttribute = h(lib, "cuFuncSetAttribute", ADDRESS, JAVA_INT, JAVA_INT);
        cuLaunchKernel = h(lib, "cuLaunchKernel", ADDRESS, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT,
                JAVA_INT, ADDRESS, ADDRESS, ADDRESS);
        cuStreamCreate = h(lib, "cuStreamCreate", ADDRESS, JAVA_INT);
        cuStreamSynchronize = h(lib, "cuStreamSynchronize", ADDRESS);
        cuStreamDestroy = h(lib, "cuStreamDestroy_v2", ADDRESS);
        cuEventCreate = h(lib, "cuEventCreate", ADDRESS, JAVA_INT);
        cuEventRecord = h(lib, "cuEventRecord", ADDRESS, ADDRESS);
        cuEventSynchronize = h(lib, "cuEventSynchronize", ADDRESS);
        cuEventElapsedTime = h(lib, "cuEventElapsedTime", ADDRESS, ADDRESS, ADDRESS);
        cuEventDestroy = h(lib, "cuEventDestroy_v2", ADDRESS);
        cuStreamBeginCapture = h(lib, "cuStreamBeginCapture_v2", ADDRESS, JAVA_INT);
        cuStreamEndCapture = h(lib, "cuStreamEndCapture", ADDRESS, ADDRESS);
        cuGraphInstantiate = h(lib, "cuGraphInstantiateWithFlags", ADDRESS, ADDRESS, JAVA_LONG);
        cuGraphLaunch = h(lib, "cuGraphLaunch", ADDRESS, ADDRESS);
        cuGraphExecDestroy = h(lib, "cuGraphExecDestroy", ADDRESS);
        cuGraphDestroy = h(lib, "cuGraphDestroy", ADDRESS);
        cuGetErrorName = h(lib, "cuGetErrorName", JAVA_INT, ADDRESS);
        cuLaunchKernelEx = lib.find("cuLaunchKernelEx").map(sym -> LINKER.downcallHandle(sym,
                FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, ADDRESS, ADDRESS))).orElse(null);
    }

    private static MethodHandle h(SymbolLookup lib, String name, java.lang.foreign.MemoryLayout... args) {
        MemorySegment sym = lib.find(name).orElseThrow(() ->
                new CudaUnavailableException("the CUDA driver lacks " + name + " (driver too old?)"));
        return LINKER.downcallHandle(sym, FunctionDescriptor.of(JAVA_INT, args));
    }

    /** Loads the driver and runs cuInit once; throws {@link CudaUnavailableException} saying why it cannot. */
    public static CudaDriver get() {
        CudaDriver d = instance;
        if (d != null) return d;
        synchronized (CudaDriver.class) {
            if (instance == null) {
                CudaDriver nd = new CudaDriver(NativeLibraries.cudaDriver());
                int rc = nd.call(nd.cuInit, 0);
                if (rc != 0)
                    throw new CudaUnavailableException("cuInit failed: " + nd.errorName(rc) + " (" + rc
                            + "); is there an NVIDIA GPU and a working driver?");
                instance = nd;
            }
            return instance;
        }
    }

    /** Invokes a driver function, returning its CUresult. */
    int call(MethodHandle h, Object... args) {
        try {
            return (int) h.invokeWithArguments(args);
        } catch (Throwable t) {
            throw new IllegalStateException("native call failed: " + t, t);
        }
    }

    /** Invokes and throws a {@link CudaException} naming the error and {@code what} on failure. */
    void check(String what, MethodHandle h, Object... args) {
        int rc = call(h, args);
        if (rc != 0) throw new CudaException(rc, errorName(rc), what);
    }

    String errorName(int rc) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment p = a.allocate(ADDRESS);
            if (call(cuGetErrorName, rc, p) != 0) return "CUDA_ERROR_" + rc;
            return p.get(ADDRESS, 0).reinterpret(256).getString(0);
        }
    }

    /** Driver version as major*1000 + minor*10 (e.g. 13000). */
    public int driverVersion() {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment p = a.allocate(JAVA_INT);
            check("cuDriverGetVersion", cuDriverGetVersion, p);
            return p.get(JAVA_INT, 0);
        }
    }

    /** Number of CUDA devices (0 if none). */
    public int deviceCount() {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment p = a.allocate(JAVA_INT);
            check("cuDeviceGetCount", cuDeviceGetCount, p);
            return p.get(JAVA_INT, 0);
        }
    }

    static float readFloat(MemorySegment s) { return s.get(JAVA_FLOAT, 0); }
}
