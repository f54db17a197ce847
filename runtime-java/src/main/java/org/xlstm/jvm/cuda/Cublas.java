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
 * cuBLAS through FFM, for the matrix products. Our tensors are row-major and Linear weights are stored (out, in),
 * so the common product is C[M,N] = A[M,K]·B[N,K]ᵀ; cuBLAS is column-major, where that is Cᵀ = B·Aᵀ, i.e.
 * gemm(T, N, m=N, n=M, k=K, B, K, A, K, C, N). {@link #matmulABt} does that mapping once, here.
 */
public final class Cublas implements AutoCloseable {
    /** cudaDataType_t and cublasComputeType_t values. */
    public static final int R_32F = 0, R_16F = 2, R_16BF = 14;
    public static final int COMPUTE_32F = 68, COMPUTE_32F_FAST_TF32 = 77;
    private static final int OP_N = 0, OP_T = 1, GEMM_DEFAULT = -1;

    private static volatile Handles handles;

    private final CudaContext ctx;
    private final MemorySegment handle;
    private final Arena arena = Arena.ofShared();
    private final MemorySegment one, zero;

    private record Handles(MethodHandle create, MethodHandle destroy, MethodHandle setStream,
                           MethodHandle gemmEx, MethodHandle gemmStridedBatchedEx, MethodHandle statusName) {}

    private static Handles handles() {
        Handles h = handles;
        if (h != null) return h;
        synchronized (Cublas.class) {
            if (handles == null) {
                SymbolLookup lib = NativeLibraries.cublas();
                Linker l = Linker.nativeLinker();
                java.util.function.BiFunction<String, FunctionDescriptor, MethodHandle> f = (n, d) -> l.downcallHandle(
                        lib.find(n).orElseThrow(() -> new CudaUnavailableException("cuBLAS lacks " + n)), d);
                handles = new Handles(
                        f.apply("cublasCreate_v2", FunctionDescriptor.of(JAVA_INT, ADDRESS)),
                        f.apply("cublasDestroy_v2", FunctionDescriptor.of(JAVA_INT, ADDRESS)),
                        f.apply("cublasSetStream_v2", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS)),
                        f.apply("cublasGemmEx", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT, JAVA_INT,
                                JAVA_INT, JAVA_INT, ADDRESS, JAVA_LONG, JAVA_INT, JAVA_INT, JAVA_LONG, JAVA_INT, JAVA_INT,
                                ADDRESS, JAVA_LONG, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT)),
                        f.apply("cublasGemmStridedBatchedEx", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT,
                                JAVA_INT, JAVA_INT, JAVA_INT, ADDRESS, JAVA_LONG, JAVA_INT, JAVA_INT, JAVA_LONG, JAVA_LONG,
                                JAVA_INT, JAVA_INT, JAVA_LONG, ADDRESS, JAVA_LONG, JAVA_INT, JAVA_INT, JAVA_LONG, JAVA_INT,
                                JAVA_INT, JAVA_INT)),
                        f.apply("cublasGetStatusName", FunctionDescriptor.of(ADDRESS, JAVA_INT)));
            }
            return handles;
        }
    }

    public Cublas(CudaContext ctx, CudaStream stream) {
        this.ctx = ctx;
        ctx.bind();
        MemorySegment p = arena.allocate(ADDRESS);
        check("cublasCreate", call(handles().create(), p));
        handle = p.get(ADDRESS, 0);
        if (stream != null) check("cublasSetStream", call(handles().setStream(), handle, stream.handle()));
        one = arena.allocateFrom(JAVA_FLOAT, 1f);
        zero = arena.allocateFrom(JAVA_FLOAT, 0f);
    }

    private static int call(MethodHandle h, Object... args) {
        try {
            return (int) h.invokeWithArguments(args);
        } catch (Throwable t) {
            throw new IllegalStateException("cuBLAS call failed: " + t, t);
        }
    }

    private void check(String what, int status) {
        if (status == 0) return;
        String name;
        try {
            name = ((MemorySegment) handles().statusName().invokeWithArguments(status)).reinterpret(128).getString(0);
        } catch (Throwable t) {
            name = "CUBLAS_STATUS_" + status;
        }
        throw new CudaException(status, name, what);
    }

    /** C[M,N] = A[M,K]·B[N,K]ᵀ (+ C if accumulate), float32; {@code tf32} lets the tensor cores round inputs to tf32. */
    public void matmulABt(int m, int n, int k, long a, long b, long c, boolean accumulate, boolean tf32) {
        gemmEx(m, n, k, a, R_32F, b, R_32F, c, R_32F, accumulate, tf32 ? COMPUTE_32F_FAST_TF32 : COMPUTE_32F);
    }

    /** As {@link #matmulABt} with explicit storage types (e.g. bf16 inputs, fp32 output) and compute type. */
    public void gemmEx(int m, int n, int k, long a, int aType, long b, int bType, long c, int cType, boolean accumulate,
                       int computeType) {
        ctx.bind();
        MemorySegment beta = accumulate ? one : zero;
        int rc;
        try {
            // exact invocation: the decode step makes hundreds of these calls per token
            rc = (int) handles().gemmEx().invokeExact(handle, OP_T, OP_N, n, m, k, one, b, bType, k, a, aType, k, beta, c,
                    cType, n, computeType, GEMM_DEFAULT);
        } catch (Throwable t) {
            throw new IllegalStateException("cuBLAS call failed: " + t, t);
        }
        if (rc != 0) check("cublasGemmEx(m=" + m + ", n=" + n + ", k=" + k + ")", rc);
    }

    /** C[M,N] = A[M,K]·B[K,N] (plain row-major product), float32. */
    public void matmulAB(int m, int n, int k, long a, long b, long c, boolean tf32) {
        ctx.bind();
        check("cublasGemmEx AB(m=" + m + ", n=" + n + ", k=" + k + ")", call(handles().gemmEx(), handle, OP_N, OP_N, n, m,
                k, one, b, R_32F, n, a, R_32F, k, zero, c, R_32F, n, tf32 ? COMPUTE_32F_FAST_TF32 : COMPUTE_32F,
                GEMM_DEFAULT));
    }

    /**
     * Block-diagonal (headwise) product: for each of {@code heads} blocks h, Y_h[R, out] = X_h[R, in]·W_h[out, in]ᵀ
     * where X_h is columns [h·in, (h+1)·in) of x [R, heads·in], W is [heads, out, in] and Y_h is columns
     * [h·out, (h+1)·out) of y [R, heads·out]. One strided-batched call.
     */
    public void headwiseABt(int rows, int heads, int out, int in, long x, long w, long y, boolean tf32) {
        headwiseABt(rows, heads, out, in, x, R_32F, w, R_32F, y, tf32 ? COMPUTE_32F_FAST_TF32 : COMPUTE_32F);
    }

    /** {@link #headwiseABt(int, int, int, int, long, long, long, boolean)} with explicit input types (fp32 output). */
    public void headwiseABt(int rows, int heads, int out, int in, long x, int xType, long w, int wType, long y,
                            int computeType) {
        ctx.bind();
        int rc;
        try {
            rc = (int) handles().gemmStridedBatchedEx().invokeExact(handle, OP_T, OP_N, out, rows, in, one, w, wType, in,
                    (long) out * in, x, xType, heads * in, (long) in, zero, y, R_32F, heads * out, (long) out, heads,
                    computeType, GEMM_DEFAULT);
        } catch (Throwable t) {
            throw new IllegalStateException("cuBLAS call failed: " + t, t);
        }
        if (rc != 0)
            check("cublasGemmStridedBatchedEx headwise(rows=" + rows + ", heads=" + heads + ", out=" + out + ", in=" + in + ")", rc);
    }

    /**
     * General row-major product {@code C[M,N] (+)= op(A)·op(B)} with float32 output: op(A) is A stored {@code [M,K]},
     * or Aᵀ with A stored {@code [K,M]} when {@code transA}; op(B) is B stored {@code [K,N]}, or Bᵀ with B stored
     * {@code [N,K]} when {@code transB}. {@code lda}, {@code ldb}, {@code ldc} are the row strides (in elements) of
     * the matrices as stored; {@code accumulate} adds to C (beta = 1) instead of overwriting it.
     *
     * <p>cuBLAS is column-major, where a row-major matrix reads as its transpose: Cᵀ = op(B)ᵀ·op(A)ᵀ, so B goes
     * first, with op N when it is used as stored and T when transposed (likewise A).
     */
    public void gemm(boolean transA, boolean transB, int m, int n, int k, long a, int aType, int lda, long b, int bType,
                     int ldb, long c, int ldc, boolean accumulate, int computeType) {
        if (m == 0 || n == 0) return;
        ctx.bind();
        MemorySegment beta = accumulate ? one : zero;
        int rc;
        try {
            rc = (int) handles().gemmEx().invokeExact(handle, transB ? OP_T : OP_N, transA ? OP_T : OP_N, n, m, k, one, b,
                    bType, ldb, a, aType, lda, beta, c, R_32F, ldc, computeType, GEMM_DEFAULT);
        } catch (Throwable t) {
            throw new IllegalStateException("cuBLAS call failed: " + t, t);
        }
        if (rc != 0)
            check("cublasGemmEx(transA=" + transA + ", transB=" + transB + ", m=" + m + ", n=" + n + ", k=" + k + ", lda="
                    + lda + ", ldb=" + ldb + ", ldc=" + ldc + ")", rc);
    }

    /**
     * {@link #gemm} over {@code batch} independent products, the i-th at {@code a + i·strideA}, {@code b + i·strideB},
     * {@code c + i·strideC} (strides in elements of each matrix's type). With strides that step along columns
     * (as {@link #headwiseABt}) the batches are the column blocks of one row-major matrix: per-head products.
     */
    public void gemmStridedBatched(boolean transA, boolean transB, int m, int n, int k, long a, int aType, int lda,
                                   long strideA, long b, int bType, int ldb, long strideB, long c, int ldc, long strideC,
                                   int batch, boolean accumulate, int computeType) {
        if (m == 0 || n == 0 || batch == 0) return;
        ctx.bind();
        MemorySegment beta = accumulate ? one : zero;
        int rc;
        try {
            rc = (int) handles().gemmStridedBatchedEx().invokeExact(handle, transB ? OP_T : OP_N, transA ? OP_T : OP_N, n, m,
                    k, one, b, bType, ldb, strideB, a, aType, lda, strideA, beta, c, R_32F, ldc, strideC, batch,
                    computeType, GEMM_DEFAULT);
        } catch (Throwable t) {
            throw new IllegalStateException("cuBLAS call failed: " + t, t);
        }
        if (rc != 0)
            check("cublasGemmStridedBatchedEx(transA=" + transA + ", transB=" + transB + ", m=" + m + ", n=" + n + ", k=" + k
                    + ", batch=" + batch + ")", rc);
    }

    @Override
    public void close() {
        ctx.bind();
        check("cublasDestroy", call(handles().destroy(), handle));
        arena.close();
    }
}
