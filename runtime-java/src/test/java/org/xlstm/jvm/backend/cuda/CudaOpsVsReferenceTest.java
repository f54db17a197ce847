package org.xlstm.jvm.backend.cuda;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.lang.foreign.Arena;
import java.util.Arrays;
import java.util.SplittableRandom;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.xlstm.jvm.backend.Ops;
import org.xlstm.jvm.backend.ReferenceOps;
import org.xlstm.jvm.config.Activation;
import org.xlstm.jvm.cuda.CudaContext;
import org.xlstm.jvm.tensor.Tensor;

/**
 * The CUDA backend against the double-precision reference, op by op, on random shapes (fp32 everywhere).
 * Skipped, with the reason, where there is no GPU.
 */
class CudaOpsVsReferenceTest {
    private static final double TOL = 1e-5;
    private static CudaContext ctx;
    private final Ops ref = new ReferenceOps();
    private final Arena arena = Arena.ofShared();
    private final SplittableRandom rnd = new SplittableRandom(7);
    private DeviceTensors mem;
    private CudaOps gpu;

    @BeforeAll
    static void open() {
        assumeTrue(CudaContext.isAvailable(), () -> "GPU tests skipped: " + CudaContext.unavailableReason());
        ctx = CudaContext.open(0);
    }

    @AfterAll
    static void closeAll() {
        if (ctx != null) ctx.close();
    }

    @AfterEach
    void close() {
        if (gpu != null) gpu.close();
        if (mem != null) mem.close();
        arena.close();
    }

    private CudaOps gpu() {
        if (gpu == null) {
            mem = new DeviceTensors(ctx);
            gpu = new CudaOps(mem, false);
        }
        return gpu;
    }

    private Tensor random(double scale, int... shape) {
        Tensor t = Tensor.allocate(arena, shape);
        for (long i = 0; i < t.size(); i++) t.set(i, (float) (rnd.nextGaussian() * scale));
        return t;
    }

    private Tensor host(int... shape) { return Tensor.allocate(arena, shape); }

    private Tensor dev(Tensor host) { gpu(); return mem.upload(host); }

    private Tensor devOut(int... shape) { gpu(); return mem.allocate(shape); }

    private void same(String what, Tensor device, Tensor reference) {
        gpu.synchronize();
        Tensor got = mem.download(device, arena);
        double num = 0, den = 0;
        for (long i = 0; i < reference.size(); i++) {
            double d = (double) got.get(i) - reference.get(i);
            num += d * d;
            den += (double) reference.get(i) * reference.get(i);
        }
        double e = den == 0 ? Math.sqrt(num) : Math.sqrt(num / den);
        assertTrue(e <= TOL && !Double.isNaN(e), what + ": relative error " + e);
    }

    @Test
    void linearMatmulHeadwise() {
        for (int[] s : new int[][] {{1, 1, 1}, {5, 17, 49}, {64, 128, 512}, {70, 300, 33}}) {
            for (boolean bias : new boolean[] {false, true}) {
                Tensor x = random(1, s[0], s[1]), w = random(0.2, s[2], s[1]), b = bias ? random(1, s[2]) : null;
                Tensor y = host(s[0], s[2]), dy = devOut(s[0], s[2]);
                ref.linear(x, w, b, y);
                gpu().linear(dev(x), w, b, dy);   // weight and bias as host parameters: cached upload
                same("linear " + Arrays.toString(s), dy, y);
            }
            Tensor a = random(1, s[0], s[1]), bm = random(1, s[1], s[2]);
            Tensor c = host(s[0], s[2]), dc = devOut(s[0], s[2]);
            ref.matmul(a, bm, c);
            gpu().matmul(dev(a), dev(bm), dc);
            same("matmul " + Arrays.toString(s), dc, c);
        }
        for (int[] s : new int[][] {{6, 16, 4, 4}, {4, 3, 5, 7}, {7, 4, 16, 16}}) {
            Tensor x = random(1, s[0], s[1] * s[3]), w = random(0.3, s[1], s[2], s[3]), b = random(1, s[1] * s[2]);
            Tensor y = host(s[0], s[1] * s[2]), dy = devOut(s[0], s[1] * s[2]);
            ref.linearHeadwise(x, w, b, y);
            gpu().linearHeadwise(dev(x), w, b, dy);
            same("headwise " + Arrays.toString(s), dy, y);
        }
    }

    @Test
    void bf16ProductsStayWithinBf16Rounding() {
        try (DeviceTensors m2 = new DeviceTensors(ctx); CudaOps bf = new CudaOps(m2, CudaOps.Precision.BF16)) {
            Tensor x = random(1, 37, 256), w = random(0.1, 130, 256), b = random(1, 130);
            Tensor y = host(37, 130), dy = m2.allocate(37, 130);
            ref.linear(x, w, b, y);
            bf.linear(m2.upload(x), w, b, dy);
            bf.synchronize();
            double e = GpuTests.relErr(m2.download(dy, arena), y);
            assertTrue(e > 1e-5 && e < 1e-2, "bf16 linear error " + e + " (expected bf16-sized, not exact)");
            Tensor hx = random(1, 9, 4 * 16), hw = random(0.3, 4, 16, 16), hy = host(9, 64), dhy = m2.allocate(9, 64);
            ref.linearHeadwise(hx, hw, null, hy);
            bf.linearHeadwise(m2.upload(hx), hw, null, dhy);
            bf.synchronize();
            double eh = GpuTests.relErr(m2.download(dhy, arena), hy);
            assertTrue(eh < 1e-2, "bf16 headwise error " + eh);
        }
    }

    @Test
    void bf16DecodeProductsForFewRows() {
        // rows <= 16 take the matrix-vector kernel (bf16 weights, fp32 x), more rows cuBLAS; odd out sizes
        try (DeviceTensors m2 = new DeviceTensors(ctx); CudaOps bf = new CudaOps(m2, CudaOps.Precision.BF16)) {
            for (int[] s : new int[][] {{1, 8, 1}, {1, 768, 50}, {3, 264, 97}, {16, 512, 130}, {17, 512, 130}}) {
                Tensor x = random(1, s[0], s[1]), w = random(0.1, s[2], s[1]), b = random(1, s[2]);
                Tensor y = host(s[0], s[2]), dy = m2.allocate(s[0], s[2]);
                ref.linear(x, w, b, y);
                bf.linear(m2.upload(x), w, b, dy);
                bf.synchronize();
                double e = GpuTests.relErr(m2.download(dy, arena), y);
                assertTrue(e < 1e-2, "bf16 linear " + java.util.Arrays.toString(s) + ": relative error " + e);
            }
        }
    }

    @Test
    void bf16GroupedProjectionsForDecoding() {
        try (DeviceTensors m2 = new DeviceTensors(ctx); CudaOps bf = new CudaOps(m2, CudaOps.Precision.BF16)) {
            for (int rows : new int[] {1, 3, 16, 20}) {
                int[] outs = {384, 384, 768, 768, 4, 4};
                for (int count : new int[] {2, 6}) {
                    Tensor x = random(1, rows, 768);
                    Tensor[] w = new Tensor[count], b = new Tensor[count], y = new Tensor[count], dy = new Tensor[count];
                    for (int j = 0; j < count; j++) {
                        w[j] = random(0.05, outs[j], 768);
                        b[j] = j % 2 == 0 ? random(1, outs[j]) : null;
                        y[j] = host(rows, outs[j]);
                        dy[j] = m2.allocate(rows, outs[j]);
                        ref.linear(x, w[j], b[j], y[j]);
                    }
                    bf.linears(m2.upload(x), w, b, dy);
                    bf.synchronize();
                    for (int j = 0; j < count; j++) {
                        double e = GpuTests.relErr(m2.download(dy[j], arena), y[j]);
                        assertTrue(e < 1e-2, "grouped bf16 projection " + j + " of " + count + ", rows " + rows + ": relative error " + e);
                    }
                }
            }
        }
    }

    @Test
    void embeddingNormsElementwise() {
        Tensor table = random(1, 50, 24);
        int[] tokens = {3, 0, 49, 7, 7, 12};
        Tensor e = host(6, 24), de = devOut(6, 24);
        ref.embedding(tokens, table, e);
        gpu().embedding(tokens, table, de);
        same("embedding", de, e);
        for (int d : new int[] {7, 64, 300}) {
            Tensor x = random(3, 5, d), w = random(0.3, d), b = random(1, d);
            Tensor y = host(5, d), dy = devOut(5, d);
            for (boolean offset : new boolean[] {true, false}) {
                ref.layerNorm(x, w, b, 1e-5f, offset, y);
                gpu().layerNorm(dev(x), w, b, 1e-5f, offset, dy);
                same("layerNorm d=" + d, dy, y);
            }
            ref.rmsNorm(x, w, b, 1e-6f, y);
            gpu().rmsNorm(dev(x), w, b, 1e-6f, dy);
            same("rmsNorm d=" + d, dy, y);
        }
        Tensor x = random(2, 6, 4 * 16), w = random(0.2, 4 * 16), y = host(6, 64), dy = devOut(6, 64);
        Tensor hb = random(0.5, 4 * 16);
        ref.headLayerNorm(x, 4, w, hb, 1e-5f, true, y);
        gpu().headLayerNorm(dev(x), 4, w, hb, 1e-5f, true, dy);
        same("headLayerNorm", dy, y);
        Tensor a = random(2, 9, 33), g = random(2, 9, 33), out = host(9, 33), dout = devOut(9, 33);
        for (Activation act : Activation.values()) {
            ref.activation(act, a, out);
            gpu().activation(act, dev(a), dout);
            same("activation " + act, dout, out);
            ref.mulActivated(a, act, g, out);
            gpu().mulActivated(dev(a), act, dev(g), dout);
            same("mulActivated " + act, dout, out);
        }
        Tensor sw = random(1, 33);
        ref.addScaled(a, sw, g, out);
        gpu().addScaled(dev(a), sw, dev(g), dout);
        same("addScaled", dout, out);
        ref.add(a, g, out);
        gpu().add(dev(a), dev(g), dout);
        same("add", dout, out);
        ref.softCap(a, 1.5f, out);
        gpu().softCap(dev(a), 1.5f, dout);
        same("softCap", dout, out);
        Tensor p1 = random(1, 9, 5), p2 = random(1, 9, 11), cat = host(9, 16), dcat = devOut(9, 16);
        ref.concatColumns(new Tensor[] {p1, p2}, cat);
        gpu().concatColumns(new Tensor[] {dev(p1), dev(p2)}, dcat);
        same("concat", dcat, cat);
    }

    @Test
    void causalConvWithAndWithoutWindow() {
        for (int[] s : new int[][] {{2, 9, 8, 4}, {1, 3, 5, 4}, {3, 17, 12, 1}, {2, 6, 64, 3}}) {
            int b = s[0], len = s[1], f = s[2], k = s[3];
            Tensor x = random(1, b, len, f), w = random(0.5, f, k), bias = random(1, f);
            Tensor y = host(b, len, f), dy = devOut(b, len, f);
            ref.causalConv1d(x, w, bias, null, y);
            gpu().causalConv1d(dev(x), w, bias, null, dy);
            same("conv " + Arrays.toString(s), dy, y);
            if (k > 1) {
                Tensor win = random(1, b, k - 1, f), dwin = dev(win);
                ref.causalConv1d(x, w, bias, win, y);
                gpu().causalConv1d(dev(x), w, bias, dwin, dy);
                same("conv with window " + Arrays.toString(s), dy, y);
                same("window update", dwin, win);
            }
        }
    }

    @Test
    void mlstmCells() {
        // (B, S, NH, DHQK, DHV, chunk)
        for (int[] s : new int[][] {{2, 13, 2, 8, 16, 4}, {1, 40, 3, 16, 16, 16}, {2, 7, 1, 5, 9, 64}, {1, 70, 2, 64, 64, 64},
                {1, 33, 2, 128, 256, 64}}) {
            int b = s[0], len = s[1], nh = s[2], dk = s[3], dv = s[4], chunk = s[5];
            Tensor q = random(1, b, len, nh * dk), k = random(1, b, len, nh * dk), v = random(1, b, len, nh * dv);
            Tensor ig = random(2, b, len, nh), fg = random(2, b, len, nh);
            Tensor h = host(b, len, nh * dv), dh = devOut(b, len, nh * dv);
            ref.mlstmParallel(q, k, v, ig, fg, 1e-6f, h);
            gpu().mlstmParallel(dev(q), dev(k), dev(v), dev(ig), dev(fg), 1e-6f, dh);
            same("mlstm parallel " + Arrays.toString(s), dh, h);

            Tensor c = random(0.5, b, nh, dk, dv), n = random(0.5, b, nh, dk), m = random(1, b, nh);
            Tensor dc = dev(c), dn = dev(n), dm = dev(m), dc2 = dev(c), dn2 = dev(n), dm2 = dev(m);
            ref.mlstmChunkwise(q, k, v, ig, fg, c, n, m, chunk, 1e-6f, h);
            gpu().mlstmChunkwise(dev(q), dev(k), dev(v), dev(ig), dev(fg), dc, dn, dm, chunk, 1e-6f, dh);
            same("mlstm chunkwise " + Arrays.toString(s), dh, h);
            same("mlstm chunkwise C", dc, c);
            same("mlstm chunkwise n", dn, n);
            same("mlstm chunkwise m", dm, m);
            Tensor dh2 = devOut(b, len, nh * dv);
            gpu().mlstmRecurrent(dev(q), dev(k), dev(v), dev(ig), dev(fg), dc2, dn2, dm2, 1e-6f, dh2);
            same("mlstm recurrent " + Arrays.toString(s), dh2, h);
            same("mlstm recurrent C", dc2, c);
        }
    }

    @Test
    void slstmRecurrence() {
        for (int[] s : new int[][] {{2, 11, 2, 16}, {1, 30, 4, 8}, {3, 5, 1, 20}, {2, 9, 4, 192}}) {
            int b = s[0], len = s[1], nh = s[2], dhd = s[3], d = nh * dhd;
            Tensor[] x = new Tensor[4], dx = new Tensor[4];
            for (int g = 0; g < 4; g++) { x[g] = random(1, b, len, d); dx[g] = dev(x[g]); }
            Tensor r = random(0.3, nh, dhd, 4, dhd), bias = random(1, nh, 4, dhd);
            Tensor[] st = {host(b, d), host(b, d), host(b, d), host(b, d)};
            Tensor[] dst = {devOut(b, d), devOut(b, d), devOut(b, d), devOut(b, d)};
            for (Tensor t : dst) gpu().fill(t, 0f);
            Tensor y = host(b, len, d), dy = devOut(b, len, d);
            for (int rep = 0; rep < 2; rep++) {   // from zero, then continuing from the carried state
                ref.slstmRecurrent(x[0], x[1], x[2], x[3], r, bias, st[0], st[1], st[2], st[3], y);
                gpu().slstmRecurrent(dx[0], dx[1], dx[2], dx[3], r, bias, dst[0], dst[1], dst[2], dst[3], dy);
                same("slstm " + Arrays.toString(s) + " pass " + rep, dy, y);
                for (int i = 0; i < 4; i++) same("slstm state " + i, dst[i], st[i]);
            }
        }
    }
}
