package org.xlstm.jvm.backend.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.lang.foreign.Arena;
import java.util.Arrays;
import java.util.SplittableRandom;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.xlstm.jvm.backend.ReferenceOps;
import org.xlstm.jvm.cuda.CudaContext;
import org.xlstm.jvm.tensor.Tensor;

/**
 * The tensor-core chunkwise mLSTM forward (BF16 precision) against the double-precision reference.
 *
 * <p>The reference is given the same bf16-rounded q, k, v the kernels compute with, so the comparison measures the
 * kernels (bf16 rounding of the score weights, the chunk states and w ⊙ v; fp32 accumulation), about 2e-3 here.
 * Against unrounded inputs the error is the precision's, not the kernels': where |q·n + Σ weights| is small the
 * rounding of q and k moves the normaliser, and h there, by several percent (printed, not asserted). GPU tests skip
 * without a GPU; the launch-plan test runs everywhere.
 */
class CudaMlstmTensorCoresTest {
    private static final double TOL = 2e-2;
    private static final float EPS = 1e-6f;
    private static CudaContext ctx;
    private final ReferenceOps ref = new ReferenceOps();
    private final Arena arena = Arena.ofShared();
    private final SplittableRandom rnd = new SplittableRandom(11);
    private DeviceTensors mem;
    private CudaOps bf16;

    private void requireGpu() {
        assumeTrue(CudaContext.isAvailable(), () -> "GPU tests skipped: " + CudaContext.unavailableReason());
        if (ctx == null) ctx = CudaContext.open(0);
        if (mem == null) {
            mem = new DeviceTensors(ctx);
            bf16 = new CudaOps(mem, CudaOps.Precision.BF16);
        }
    }

    @AfterAll
    static void closeContext() {
        if (ctx != null) ctx.close();
    }

    @AfterEach
    void close() {
        if (bf16 != null) bf16.close();
        if (mem != null) mem.close();
        arena.close();
    }

    // ------------------------------------------------------------------ helpers

    private Tensor random(double mean, double scale, int... shape) {
        Tensor t = Tensor.allocate(arena, shape);
        for (long i = 0; i < t.size(); i++) t.set(i, (float) (mean + rnd.nextGaussian() * scale));
        return t;
    }

    /** Round to nearest even bfloat16, as __float2bfloat16 does. */
    static float toBf16(float x) {
        if (Float.isNaN(x)) return x;
        int u = Float.floatToRawIntBits(x);
        u += 0x7fff + ((u >>> 16) & 1);
        return Float.intBitsToFloat(u & 0xffff0000);
    }

    private Tensor roundedBf16(Tensor x) {
        Tensor r = Tensor.allocate(arena, x.shape());
        for (long i = 0; i < x.size(); i++) r.set(i, toBf16(x.get(i)));
        return r;
    }

    private Tensor copy(Tensor x) {
        Tensor r = Tensor.allocate(arena, x.shape());
        r.copyFrom(x);
        return r;
    }

    private double same(String what, Tensor device, Tensor reference, double tol) {
        bf16.synchronize();
        double e = GpuTests.relErr(mem.download(device, arena), reference);
        assertTrue(e <= tol && !Double.isNaN(e), what + ": relative error " + e + " (tolerance " + tol + ")");
        return e;
    }

    // ------------------------------------------------------------------ tests

    @Test
    void matchesReferenceFromZeroAndCarriedStates() {
        requireGpu();
        // (B, S, NH, DQK, DV): the xLSTM-7B-at-D=768 heads over a sequence not a multiple of the chunk; S < 64;
        // S = 1; head dims that tile only by 16; several segments of chunk states are not needed at these sizes.
        int[][] shapes = {{2, 2047, 4, 96, 192}, {1, 37, 2, 32, 48}, {2, 130, 3, 16, 16}, {1, 1, 2, 64, 64},
                {1, 64, 1, 48, 80}, {3, 100, 1, 128, 256}};
        for (int[] sh : shapes) {
            int b = sh[0], s = sh[1], nh = sh[2], dk = sh[3], dv = sh[4];
            String name = "B=" + b + " S=" + s + " NH=" + nh + " DQK=" + dk + " DV=" + dv;
            Tensor c = Tensor.allocate(arena, b, nh, dk, dv), n = Tensor.allocate(arena, b, nh, dk),
                    m = Tensor.allocate(arena, b, nh);
            m.fill(Float.NEGATIVE_INFINITY);
            Tensor dc = mem.upload(c), dn = mem.upload(n), dm = mem.upload(m);
            for (int pass = 0; pass < 2; pass++) {   // from C = n = 0, m = -inf; then on from the state pass 0 left
                String at = name + (pass == 0 ? " from the zero state" : " from the carried state");
                Tensor q = random(0, 1, b, s, nh * dk), k = random(0, 1, b, s, nh * dk), v = random(0, 1, b, s, nh * dv);
                Tensor ig = random(0, 3, b, s, nh), fg = random(2, 2, b, s, nh);   // stabilisers move within chunks
                Tensor h = Tensor.allocate(arena, b, s, nh * dv), dh = mem.allocate(b, s, nh * dv);
                Tensor uc = copy(c), un = copy(n), um = copy(m), uh = Tensor.allocate(arena, b, s, nh * dv);
                ref.mlstmChunkwise(q, k, v, ig, fg, uc, un, um, 64, EPS, uh);
                ref.mlstmChunkwise(roundedBf16(q), roundedBf16(k), roundedBf16(v), ig, fg, c, n, m, 64, EPS, h);
                boolean ran = CudaMlstmTensorCores.run(bf16, mem.upload(q), mem.upload(k), mem.upload(v),
                        mem.upload(ig), mem.upload(fg), dc, dn, dm, 64, EPS, dh);
                assertTrue(ran, at + ": the tensor-core path declined the shape");
                double eh = same("h, " + at, dh, h, TOL);
                double ec = same("C, " + at, dc, c, TOL);
                double en = same("n, " + at, dn, n, TOL);
                double em = same("m, " + at, dm, m, 1e-5);
                double eu = GpuTests.relErr(mem.download(dh, arena), uh);
                System.out.printf("[mlstm-tc] %s: relative error h %.2e C %.2e n %.2e m %.2e (h vs unrounded inputs "
                        + "%.2e)%n", at, eh, ec, en, em, eu);
            }
        }
    }

    @Test
    void bf16BackendDispatchesHereAndFallsBackForOtherHeadSizes() {
        requireGpu();
        for (int[] sh : new int[][] {{2, 90, 2, 32, 64}, {2, 90, 2, 20, 24}}) {   // tiles by 16; does not
            int b = sh[0], s = sh[1], nh = sh[2], dk = sh[3], dv = sh[4];
            boolean tiles = dk % 16 == 0 && dv % 16 == 0;
            Tensor q = random(0, 1, b, s, nh * dk), k = random(0, 1, b, s, nh * dk), v = random(0, 1, b, s, nh * dv);
            Tensor ig = random(0, 3, b, s, nh), fg = random(2, 2, b, s, nh);
            Tensor c = random(0, 0.5, b, nh, dk, dv), n = random(0, 0.5, b, nh, dk), m = random(0, 1, b, nh);
            Tensor dc = mem.upload(c), dn = mem.upload(n), dm = mem.upload(m);
            Tensor h = Tensor.allocate(arena, b, s, nh * dv), dh = mem.allocate(b, s, nh * dv);
            // the fp32 fallback computes with the exact inputs; the tensor cores with bf16-rounded q, k, v
            if (tiles) ref.mlstmChunkwise(roundedBf16(q), roundedBf16(k), roundedBf16(v), ig, fg, c, n, m, 64, EPS, h);
            else ref.mlstmChunkwise(q, k, v, ig, fg, c, n, m, 64, EPS, h);
            bf16.mlstmChunkwise(mem.upload(q), mem.upload(k), mem.upload(v), mem.upload(ig), mem.upload(fg), dc, dn, dm,
                    64, EPS, dh);
            String at = "CudaOps(BF16).mlstmChunkwise " + Arrays.toString(sh);
            same("h, " + at, dh, h, tiles ? TOL : 1e-4);
            same("C, " + at, dc, c, tiles ? TOL : 1e-4);
            same("n, " + at, dn, n, tiles ? TOL : 1e-4);
            same("m, " + at, dm, m, 1e-5);
        }
        Tensor x = mem.allocate(1, 8, 2 * 20);
        assertFalse(CudaMlstmTensorCores.run(bf16, x, x, mem.allocate(1, 8, 2 * 32), mem.allocate(1, 8, 2),
                mem.allocate(1, 8, 2), mem.allocate(1, 2, 20, 32), mem.allocate(1, 2, 20), mem.allocate(1, 2), 64, EPS,
                mem.allocate(1, 8, 2 * 32)), "DQK = 20 is not a multiple of 16: the fp32 path must take it");
    }

    /** Not an assertion: the lead reads the figures (fp32 SIMT path vs tensor cores at the xLSTM-7B/D=768 shape). */
    @Test
    void timingAgainstTheFp32Path() {
        requireGpu();
        int b = 8, s = 2048, nh = 4, dk = 96, dv = 192;
        Tensor q = mem.upload(random(0, 1, b, s, nh * dk)), k = mem.upload(random(0, 1, b, s, nh * dk));
        Tensor v = mem.upload(random(0, 1, b, s, nh * dv));
        Tensor ig = mem.upload(random(0, 3, b, s, nh)), fg = mem.upload(random(2, 2, b, s, nh));
        Tensor h = mem.allocate(b, s, nh * dv);
        Tensor c = mem.allocate(b, nh, dk, dv), n = mem.allocate(b, nh, dk), m = mem.allocate(b, nh);
        try (CudaOps fp32 = new CudaOps(mem, CudaOps.Precision.FP32)) {
            double msFp32 = time(fp32, () -> fp32.mlstmChunkwise(q, k, v, ig, fg, c, n, m, 64, EPS, h), c, n, m, 2, 5);
            double msTc = time(bf16, () -> assertTrue(CudaMlstmTensorCores.run(bf16, q, k, v, ig, fg, c, n, m, 64, EPS,
                    h)), c, n, m, 3, 20);
            double flops = (double) b * nh * s * (2.0 * 64 * dk / 2 + 2.0 * 64 * dv / 2 + 4.0 * dk * dv);
            System.out.printf("[mlstm-tc] %s, mlstmChunkwise B=%d S=%d NH=%d DQK=%d DV=%d chunk 64: fp32 path %.3f ms, "
                            + "tensor cores (bf16) %.3f ms (%.1f TFLOP/s), speedup %.1fx%n", ctx.deviceName(), b, s, nh,
                    dk, dv, msFp32, msTc, flops / (msTc * 1e-3) / 1e12, msFp32 / msTc);
        }
    }

    /** Mean milliseconds per call, after warm-up; the state is reset before every call (its values then stay sane). */
    private double time(CudaOps ops, Runnable call, Tensor c, Tensor n, Tensor m, int warmup, int reps) {
        long total = 0;
        for (int r = 0; r < warmup + reps; r++) {
            ops.fill(c, 0f);
            ops.fill(n, 0f);
            ops.fill(m, Float.NEGATIVE_INFINITY);
            ops.synchronize();
            long t0 = System.nanoTime();
            call.run();
            ops.synchronize();
            if (r >= warmup) total += System.nanoTime() - t0;
        }
        return total / 1e6 / reps;
    }

    @Test
    void launchPlanFitsSharedMemoryAndPrefersLongChunks() {
        CudaMlstmTensorCores.Plan p = CudaMlstmTensorCores.plan(2048, 96, 192, 90);
        assertNotNull(p);
        assertEquals(64, p.chunk());
        assertEquals(96, p.outTile());
        assertEquals(32, p.stateRows());
        assertEquals(32, p.stateCols());
        assertTrue(p.outShared() <= 115712, "two output blocks per H100 multiprocessor: " + p.outShared());
        assertEquals(32, CudaMlstmTensorCores.plan(20, 96, 192, 90).chunk(), "short sequences take shorter chunks");
        assertEquals(16, CudaMlstmTensorCores.plan(1, 96, 192, 90).chunk());
        assertNull(CudaMlstmTensorCores.plan(100, 20, 192, 90), "DQK not a multiple of 16");
        assertNull(CudaMlstmTensorCores.plan(100, 96, 200, 90), "DV not a multiple of 16");
        for (int cc : new int[] {80, 86, 90})
            for (int dk = 16; dk <= 1024; dk += 16)
                for (int dv : new int[] {16, 48, 64, 192, 256, 512, 1024}) {
                    CudaMlstmTensorCores.Plan pl = CudaMlstmTensorCores.plan(4096, dk, dv, cc);
                    if (pl == null) continue;
                    String at = "sm_" + cc + " DQK=" + dk + " DV=" + dv + ": " + pl;
                    assertTrue(pl.outShared() <= CudaMlstmTensorCores.sharedLimit(cc), at);
                    assertTrue(pl.stateShared() <= CudaMlstmTensorCores.sharedLimit(cc), at);
                    assertEquals(0, dv % pl.outTile(), at);
                    assertEquals(0, pl.outTile() % 16, at);
                    assertEquals(0, dk % pl.stateRows(), at);
                    assertEquals(0, dv % pl.stateCols(), at);
                    assertEquals(pl.outShared(), CudaMlstmTensorCores.outShared(pl.chunk(), dk, pl.outTile()), at);
                }
        // the head sizes of the released xLSTM-7B (DQK 256, DV 512) fit on every supported chip
        for (int cc : new int[] {80, 86, 90}) assertNotNull(CudaMlstmTensorCores.plan(4096, 256, 512, cc), "sm_" + cc);
    }
}
