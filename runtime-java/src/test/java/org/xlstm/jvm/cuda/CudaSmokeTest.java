package org.xlstm.jvm.cuda;

import static org.junit.jupiter.api.Assertions.*;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Runs on a machine with an NVIDIA GPU; elsewhere every test is skipped with the reason. */
class CudaSmokeTest {
    static CudaContext ctx;

    @BeforeAll
    static void open() {
        assumeTrue(CudaContext.isAvailable(), () -> "GPU tests skipped: " + CudaContext.unavailableReason());
        ctx = CudaContext.open(0);
        System.out.println("[gpu] " + ctx.deviceName() + ", sm_" + ctx.computeCapability() + ", "
                + ctx.multiprocessorCount() + " SMs, driver " + CudaDriver.get().driverVersion());
    }

    @AfterAll
    static void close() {
        if (ctx != null) ctx.close();
    }

    private static float[] random(int n, long seed) {
        Random r = new Random(seed);
        float[] v = new float[n];
        for (int i = 0; i < n; i++) v[i] = (float) r.nextGaussian();
        return v;
    }

    private static double relErr(float[] a, double[] ref) {
        double num = 0, den = 0;
        for (int i = 0; i < a.length; i++) {
            num += (a[i] - ref[i]) * (a[i] - ref[i]);
            den += ref[i] * ref[i];
        }
        return Math.sqrt(num / den);
    }

    @Test
    void elementwiseKernelsRunAndMatchTheCpu() {
        int n = 100_003;
        float[] x = random(n, 1), y = random(n, 2);
        try (DeviceBuffer dx = ctx.upload(x); DeviceBuffer dy = ctx.upload(y); CudaStream s = new CudaStream(ctx)) {
            ctx.kernel("elementwise", "xlstm_axpy_f32").launch1d(n, s, dy, dx, 0.5f, (long) n);
            ctx.kernel("elementwise", "xlstm_silu_f32").launch1d(n, s, dx, dy, (long) n);
            s.synchronize();
            float[] out = ctx.downloadFloats(dx.ptr(), n);
            for (int i = 0; i < n; i++) {
                double v = y[i] + 0.5 * x[i];
                assertEquals(v / (1 + Math.exp(-v)), out[i], 1e-5 * (1 + Math.abs(v)), "element " + i);
            }
        }
    }

    @Test
    void cublasMatmulMatchesAFloat64Reference() {
        int m = 67, n = 129, k = 255;
        float[] a = random(m * k, 3), b = random(n * k, 4);
        double[] ref = new double[m * n];
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++) {
                double s = 0;
                for (int p = 0; p < k; p++) s += (double) a[i * k + p] * b[j * k + p];
                ref[i * n + j] = s;
            }
        try (DeviceBuffer da = ctx.upload(a); DeviceBuffer db = ctx.upload(b); DeviceBuffer dc = ctx.allocate(4L * m * n);
             CudaStream s = new CudaStream(ctx); Cublas blas = new Cublas(ctx, s)) {
            blas.matmulABt(m, n, k, da.ptr(), db.ptr(), dc.ptr(), false, false);
            s.synchronize();
            assertTrue(relErr(ctx.downloadFloats(dc.ptr(), m * n), ref) < 1e-6);
            blas.matmulABt(m, n, k, da.ptr(), db.ptr(), dc.ptr(), false, true);
            s.synchronize();
            double tf32 = relErr(ctx.downloadFloats(dc.ptr(), m * n), ref);
            assertTrue(tf32 < 2e-3, "tf32 error " + tf32);
        }
    }

    @Test
    void cachingAllocatorReusesBlocksSoMemoryDoesNotGrow() {
        CachingAllocator al = ctx.allocator();
        for (int step = 0; step < 3; step++) {
            try (DeviceBuffer a = al.allocate(1 << 20); DeviceBuffer b = al.allocate(12345)) {
                assertNotEquals(a.ptr(), b.ptr());
            }
        }
        long after3 = al.driverAllocations();
        for (int step = 0; step < 1000; step++) {
            try (DeviceBuffer a = al.allocate(1 << 20); DeviceBuffer b = al.allocate(12345)) {
                assertTrue(a.bytes() > 0 && b.bytes() > 0);
            }
        }
        assertEquals(after3, al.driverAllocations(), "steady state allocates nothing from the driver");
    }

    @Test
    void outOfMemorySaysWhatWasAskedAndWhatIsFree() {
        long huge = 1L << 50;
        CudaException e = assertThrows(CudaException.class, () -> ctx.allocate(huge));
        assertTrue(e.getMessage().contains("bytes free"), e.getMessage());
        assertTrue(e.errorName().startsWith("CUDA_ERROR"), e.errorName());
    }

    @Test
    void graphReplaysCapturedLaunches() {
        int n = 4096;
        float[] y = new float[n];
        try (DeviceBuffer dy = ctx.upload(y); DeviceBuffer dx = ctx.upload(random(n, 5)); CudaStream s = new CudaStream(ctx)) {
            CudaKernel fill = ctx.kernel("elementwise", "xlstm_fill_f32");
            CudaKernel axpy = ctx.kernel("elementwise", "xlstm_axpy_f32");
            try (CudaGraph g = s.capture(() -> axpy.launch1d(n, s, dy, dx, 1f, (long) n))) {
                fill.launch1d(n, s, dy, 0f, (long) n);
                for (int i = 0; i < 5; i++) g.launch(s);
                s.synchronize();
            }
            float[] x = ctx.downloadFloats(dx.ptr(), n), out = ctx.downloadFloats(dy.ptr(), n);
            for (int i = 0; i < n; i++) assertEquals(5 * x[i], out[i], 1e-5f * (1 + Math.abs(x[i])));
        }
    }
}
