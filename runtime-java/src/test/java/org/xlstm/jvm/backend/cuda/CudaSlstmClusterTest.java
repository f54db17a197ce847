package org.xlstm.jvm.backend.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.lang.foreign.Arena;
import java.util.SplittableRandom;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.xlstm.jvm.backend.ReferenceOps;
import org.xlstm.jvm.cuda.CudaContext;
import org.xlstm.jvm.tensor.Tensor;

/**
 * The cluster sLSTM forward (kernels/src/slstm_cluster.cu through {@link CudaSlstmCluster}) against the
 * double-precision reference, from the zero state and from a random one, with every output named on failure; the
 * heads too large for it fall back to the one-block kernel; and a timing printout of both kernels at the 125M
 * recipe's shape. GPU parts skip without a GPU; the cluster parts skip, saying so, below compute capability 9.0.
 */
class CudaSlstmClusterTest {
    private static final double TOL = 1e-5;
    private static CudaContext ctx;
    private final ReferenceOps ref = new ReferenceOps();
    private final Arena arena = Arena.ofShared();
    private final SplittableRandom rnd = new SplittableRandom(11);
    private DeviceTensors mem;
    private CudaOps ops;

    @BeforeAll
    static void open() {
        if (CudaContext.isAvailable()) ctx = CudaContext.open(0);
    }

    @AfterAll
    static void closeAll() {
        if (ctx != null) ctx.close();
    }

    @AfterEach
    void close() {
        if (ops != null) ops.close();
        if (mem != null) mem.close();
        arena.close();
    }

    private void gpu() {
        assumeTrue(ctx != null, () -> "GPU tests skipped: " + CudaContext.unavailableReason());
        if (ops == null) {
            mem = new DeviceTensors(ctx);
            ops = new CudaOps(mem, false);
        }
    }

    private void clusterGpu() {
        gpu();
        int cc = ctx.computeCapability();
        assumeTrue(cc >= 90, () -> "cluster sLSTM kernel skipped: " + ctx.deviceName() + " has compute capability "
                + cc / 10 + "." + cc % 10 + ", clusters need 9.0");
    }

    // ------------------------------------------------------------------ plans (no GPU)

    @Test
    void planTakesTheSmallestClusterWhoseSlicesFit() {
        assertNull(CudaSlstmCluster.plan(64), "R of DH=64 fits one block");
        assertNull(CudaSlstmCluster.plan(112), "R of DH=112 fits one block");
        CudaSlstmCluster.Plan p192 = CudaSlstmCluster.plan(192);
        assertEquals(new CudaSlstmCluster.Plan(4, 48, 192, (2 * 192 + 192 * 4 * 48) * 4), p192, "DH=192 (125M recipe)");
        assertEquals(2, CudaSlstmCluster.plan(120).cl(), "DH=120");
        assertEquals(8, CudaSlstmCluster.plan(256).cl(), "DH=256");
        CudaSlstmCluster.Plan p250 = CudaSlstmCluster.plan(250);   // uneven: the last block owns 250 - 7*32 = 26 columns
        assertEquals(8, p250.cl(), "DH=250");
        assertEquals(32, p250.js(), "DH=250 columns per block");
        assertNull(CudaSlstmCluster.plan(512), "DH=512: an eighth of R is 512 KB, more than one block's shared memory");
        for (int dh = 1; dh <= 1024; dh++) {
            CudaSlstmCluster.Plan p = CudaSlstmCluster.plan(dh);
            if (p == null) continue;
            assertTrue(p.sharedBytes() <= CudaSlstmCluster.SHARED_BUDGET && p.threads() % 32 == 0
                    && p.threads() >= 4 * p.js() && p.js() * p.cl() >= dh && (p.js() - 1) * p.cl() < dh, "plan " + dh + ": " + p);
        }
    }

    // ------------------------------------------------------------------ against the reference

    @Test
    void clusterKernelMatchesReferenceAtTheRecipeHeadSize() {
        clusterGpu();
        assertNull(CudaSlstmCluster.whyNot(ops, 192), "the cluster kernel should apply at DH=192");
        // {B, NH, S}: every value of B in {1, 3}, NH in {1, 4}, S in {1, 37, 300}
        for (int[] s : new int[][] {{1, 1, 1}, {3, 4, 1}, {1, 4, 37}, {3, 1, 37}, {1, 4, 300}, {3, 1, 300}}) {
            check(s[0], s[2], s[1], 192, false, true);
            check(s[0], Math.min(s[2], 37), s[1], 192, true, true);
        }
    }

    @Test
    void clusterKernelMatchesReferenceAtLargerAndUnevenHeads() {
        clusterGpu();
        check(2, 37, 2, 256, false, true);   // CL = 8
        check(2, 23, 2, 256, true, true);
        check(2, 29, 2, 250, true, true);    // CL = 8, the last block's slice is short
        check(1, 17, 3, 134, true, true);    // CL = 2, DH not a multiple of 4 (float4 tail), a partly idle warp
    }

    @Test
    void headsTooLargeForClustersFallBackToTheOneBlockKernel() {
        gpu();
        assertNotNull(CudaSlstmCluster.whyNot(ops, 512), "DH=512 cannot be held on chip by 8 blocks");
        check(1, 6, 1, 512, true, false);
        check(2, 3, 1, 64, true, false);      // fits one block: the one-block kernel with R in shared memory
    }

    /**
     * One comparison: random inputs (recurrent kernel scaled 1/sqrt(DH) so 300 steps stay well conditioned), state
     * zero or random (n > 0), the GPU through the cluster kernel (viaCluster, asserted to have run) or through
     * CudaOps (which falls back), y and the final h, c, n, m against ReferenceOps.
     */
    private void check(int b, int s, int nh, int dh, boolean randomState, boolean viaCluster) {
        int d = nh * dh;
        String what = "B=" + b + " S=" + s + " NH=" + nh + " DH=" + dh + (randomState ? " from a random state" : " from zero");
        Tensor[] x = new Tensor[4], dx = new Tensor[4];
        for (int g = 0; g < 4; g++) { x[g] = random(1, b, s, d); dx[g] = mem.upload(x[g]); }
        Tensor r = random(1 / Math.sqrt(dh), nh, dh, 4, dh), bias = random(1, nh, 4, dh);
        Tensor[] st = {host(b, d), host(b, d), host(b, d), host(b, d)};
        if (randomState)
            for (long i = 0; i < (long) b * d; i++) {
                st[0].set(i, (float) (rnd.nextDouble() * 1.6 - 0.8));        // h
                st[1].set(i, (float) rnd.nextGaussian());                    // c
                st[2].set(i, (float) (0.5 + 2 * rnd.nextDouble()));          // n > 0: not the first step
                st[3].set(i, (float) (rnd.nextGaussian() * 2));              // m
            }
        Tensor[] dst = new Tensor[4];
        for (int i = 0; i < 4; i++) dst[i] = mem.upload(st[i]);
        Tensor y = host(b, s, d), dy = mem.allocate(b, s, d);
        ref.slstmRecurrent(x[0], x[1], x[2], x[3], r, bias, st[0], st[1], st[2], st[3], y);
        if (viaCluster)
            assertTrue(CudaSlstmCluster.run(ops, dx[0], dx[1], dx[2], dx[3], r, bias, dst[0], dst[1], dst[2], dst[3], dy),
                    what + ": the cluster kernel declined: " + CudaSlstmCluster.whyNot(ops, dh));
        else
            ops.slstmRecurrent(dx[0], dx[1], dx[2], dx[3], r, bias, dst[0], dst[1], dst[2], dst[3], dy);
        same(what + ": y", dy, y);
        String[] names = {"h", "c", "n", "m"};
        for (int i = 0; i < 4; i++) same(what + ": final " + names[i], dst[i], st[i]);
        for (Tensor t : dx) mem.release(t);
        for (Tensor t : dst) mem.release(t);
        mem.release(dy);
    }

    // ------------------------------------------------------------------ against the one-block kernel, timed

    @Test
    void clusterKernelAgreesWithTheOneBlockKernelAndTiming() {
        clusterGpu();
        int b = 8, s = 2048, nh = 4, dh = 192, d = nh * dh;
        Tensor[] dx = new Tensor[4];
        for (int g = 0; g < 4; g++) dx[g] = mem.upload(uniform(1.7, b, s, d));
        Tensor r = uniform(1.7 / Math.sqrt(dh), nh, dh, 4, dh), bias = uniform(1, nh, 4, dh);
        Tensor zero = host(b, d);
        Tensor[] oneBlock = run(false, dx, r, bias, zero, b, s, d), cluster = run(true, dx, r, bias, zero, b, s, d);
        String[] names = {"y", "final h", "final c", "final n", "final m"};
        for (int i = 0; i < 5; i++) {
            double e = GpuTests.relErr(mem.download(cluster[i], arena), mem.download(oneBlock[i], arena));
            System.out.printf("sLSTM cluster vs one-block kernel, %s: relative difference %.3g%n", names[i], e);
            assertTrue(e <= TOL, "B=8 S=2048 NH=4 DH=192, " + names[i] + ": cluster vs one-block kernel relative difference " + e);
        }
        double tOne = time(false, dx, r, bias, oneBlock), tCluster = time(true, dx, r, bias, cluster);
        System.out.printf("sLSTM forward B=%d S=%d NH=%d DH=%d on %s: one-block kernel %.2f ms (%.0f tokens/s), "
                        + "cluster kernel %.2f ms (%.0f tokens/s), %.2fx%n", b, s, nh, dh, ctx.deviceName(), tOne * 1e3,
                b * s / tOne, tCluster * 1e3, b * s / tCluster, tOne / tCluster);
    }

    /** Runs one kernel from the zero state; returns {y, h, c, n, m} on the device. */
    private Tensor[] run(boolean cluster, Tensor[] dx, Tensor r, Tensor bias, Tensor zero, int b, int s, int d) {
        Tensor[] out = {mem.allocate(b, s, d), mem.upload(zero), mem.upload(zero), mem.upload(zero), mem.upload(zero)};
        launch(cluster, dx, r, bias, out);
        ops.synchronize();
        return out;
    }

    private void launch(boolean cluster, Tensor[] dx, Tensor r, Tensor bias, Tensor[] out) {
        if (cluster) {
            assertTrue(CudaSlstmCluster.run(ops, dx[0], dx[1], dx[2], dx[3], r, bias, out[1], out[2], out[3], out[4], out[0]),
                    "the cluster kernel declined: " + CudaSlstmCluster.whyNot(ops, r.dim(1)));
            return;
        }
        String before = System.getProperty(CudaSlstmCluster.DISABLE_PROPERTY);
        System.setProperty(CudaSlstmCluster.DISABLE_PROPERTY, "false");
        try {
            ops.slstmRecurrent(dx[0], dx[1], dx[2], dx[3], r, bias, out[1], out[2], out[3], out[4], out[0]);
        } finally {
            if (before == null) System.clearProperty(CudaSlstmCluster.DISABLE_PROPERTY);
            else System.setProperty(CudaSlstmCluster.DISABLE_PROPERTY, before);
        }
    }

    /** Seconds per call, best of three (continuing from whatever state the outputs hold: the time does not care). */
    private double time(boolean cluster, Tensor[] dx, Tensor r, Tensor bias, Tensor[] out) {
        double best = Double.MAX_VALUE;
        for (int rep = 0; rep < 3; rep++) {
            ops.synchronize();
            long t0 = System.nanoTime();
            launch(cluster, dx, r, bias, out);
            ops.synchronize();
            best = Math.min(best, (System.nanoTime() - t0) * 1e-9);
        }
        return best;
    }

    // ------------------------------------------------------------------ helpers

    private Tensor host(int... shape) { return Tensor.allocate(arena, shape); }

    private Tensor random(double scale, int... shape) {
        Tensor t = host(shape);
        for (long i = 0; i < t.size(); i++) t.set(i, (float) (rnd.nextGaussian() * scale));
        return t;
    }

    /** Uniform in [-a, a): cheaper than Gaussian for the 50 M inputs of the timing shape. */
    private Tensor uniform(double a, int... shape) {
        Tensor t = host(shape);
        for (long i = 0; i < t.size(); i++) t.set(i, (float) ((rnd.nextDouble() * 2 - 1) * a));
        return t;
    }

    private void same(String what, Tensor device, Tensor reference) {
        double e = GpuTests.relErr(mem.download(device, arena), reference);
        assertTrue(e <= TOL, what + ": relative error " + e + " (tolerance " + TOL + ")");
    }

    /** sqrt(sum (got - ref)^2 / sum ref^2); absolute where the reference is all zero; NaN fails every comparison. */
}
