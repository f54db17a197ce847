package org.xlstm.jvm.backend.cuda;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.xlstm.jvm.config.Activation;
import org.xlstm.jvm.tensor.Tensor;

/**
 * The fused decoding operations (kernels/src/decode.cu) equal, bit for bit, the operations they fuse run one by one
 * on the same backend (Ops' default compositions): one decode step then computes exactly what it computed before.
 */
class CudaDecodeFusionTest extends GpuContextTest {
    @Test
    void fusedOperationsEqualTheirCompositions() {
        try (DeviceTensors mem = new DeviceTensors(ctx); CudaOps gpu = new CudaOps(mem, CudaOps.Precision.BF16);
             Arena a = Arena.ofShared()) {
            SplittableRandom r = new SplittableRandom(3);
            List<String> failures = new ArrayList<>();
            for (int rows : new int[] {1, 5, 16})
                for (boolean bias : new boolean[] {false, true}) {
                    // xLSTM-7B's widths (16 rows of 768: the 48 KB edge of the staged rows), then a width that is no
                    // multiple of 256, odd output counts and heads of 125 channels (16-byte vectors across heads)
                    check(gpu, mem, a, r, rows, bias, 768, 2048, 4, new int[] {384, 384, 768, 768, 4, 4}, failures);
                    // the 7B architecture's real feed-forward width (round_up(768 · 2.667, 64)): 9 vectors per lane
                    check(gpu, mem, a, r, rows, bias, 768, 2112, 4, new int[] {384, 384, 768, 768, 4, 4}, failures);
                    check(gpu, mem, a, r, rows, bias, 1000, 40, 8, new int[] {37, 5, 11, 3, 8, 8}, failures);
                }
            // xLSTM-7B's own width (4,096, 8 heads of 512): weights past the first pass, at 1 and 3 rows (48 KB)
            for (int rows : new int[] {1, 3})
                check(gpu, mem, a, r, rows, true, 4096, 64, 8, new int[] {256, 256, 512, 512, 8, 8}, failures);
            // an LM head at batch 1 (the wide kernel: one resident grid walking 20,011 rows), capped and not
            for (float cap : new float[] {30f, 0f}) wideHead(gpu, mem, a, r, 768, 20_011, cap, failures);
            wideHead(gpu, mem, a, r, 1024, 16_384, 15f, failures);
            assertTrue(failures.isEmpty(), () -> failures.size() + " fused results differ from their compositions:\n"
                    + String.join("\n", failures));
        }
    }

    private static void check(CudaOps gpu, DeviceTensors mem, Arena a, SplittableRandom r, int rows, boolean bias, int d,
                              int hidden, int heads, int[] outs, List<String> failures) {
        String tag = " rows=" + rows + " bias=" + bias + " d=" + d;
        Tensor x = mem.upload(GpuTests.gaussian(a, r, 2, 0, rows, d));
        Tensor nw = GpuTests.gaussian(a, r, 1, 0, d), nb = bias ? GpuTests.gaussian(a, r, 1, 0, d) : null;
        Tensor[] w = new Tensor[6], b = new Tensor[6], fused = new Tensor[6], plain = new Tensor[6];
        for (int j = 0; j < 6; j++) {
            w[j] = GpuTests.gaussian(a, r, 0.05, 0, outs[j], d);
            b[j] = bias ? GpuTests.gaussian(a, r, 1, 0, outs[j]) : null;
            fused[j] = mem.allocate(rows, outs[j]);
            plain[j] = mem.allocate(rows, outs[j]);
        }
        Tensor normed = mem.allocate(rows, d);
        gpu.rmsNormLinears(x, nw, nb, 1e-6f, normed, w, b, fused, 4, 15f);
        gpu.rmsNorm(x, nw, nb, 1e-6f, normed);
        gpu.linears(normed, w, b, plain);
        for (int j = 4; j < 6; j++) gpu.softCap(plain[j], 15f, plain[j]);
        for (int j = 0; j < 6; j++) same(mem, a, plain[j], fused[j], "rmsNormLinears output " + j + tag, failures);

        Tensor wg = GpuTests.gaussian(a, r, 0.05, 0, hidden, d), wu = GpuTests.gaussian(a, r, 0.05, 0, hidden, d);
        Tensor bg = bias ? GpuTests.gaussian(a, r, 1, 0, hidden) : null, bu = bias ? GpuTests.gaussian(a, r, 1, 0, hidden) : null;
        Tensor g = mem.allocate(rows, hidden), u = mem.allocate(rows, hidden), uf = mem.allocate(rows, hidden);
        gpu.rmsNormGatedLinear(x, nw, nb, 1e-6f, normed, wg, bg, wu, bu, Activation.SWISH, g, uf);
        gpu.rmsNorm(x, nw, nb, 1e-6f, normed);
        gpu.linears(normed, new Tensor[] {wg, wu}, new Tensor[] {bg, bu}, new Tensor[] {g, u});
        gpu.mulActivated(u, Activation.SWISH, g, u);
        same(mem, a, u, uf, "rmsNormGatedLinear" + tag, failures);

        Tensor wd = GpuTests.gaussian(a, r, 0.05, 0, d, hidden), bd = bias ? GpuTests.gaussian(a, r, 1, 0, d) : null;
        Tensor res = mem.upload(GpuTests.gaussian(a, r, 1, 0, rows, d)), product = mem.allocate(rows, d), want = mem.allocate(rows, d);
        gpu.linear(u, wd, bd, product);
        gpu.add(product, res, want);
        gpu.linearAdd(u, wd, bd, res, product, res);   // over the residual, as the blocks do
        same(mem, a, want, res, "linearAdd" + tag, failures);

        Tensor h = mem.upload(GpuTests.gaussian(a, r, 3, 0, rows, d)), og = mem.upload(GpuTests.gaussian(a, r, 1, 0, rows, d));
        Tensor hw = GpuTests.gaussian(a, r, 1, 0, d), hb = bias ? GpuTests.gaussian(a, r, 1, 0, d) : null;
        Tensor hn = mem.allocate(rows, d), hf = mem.allocate(rows, d);
        gpu.headLayerNorm(h, heads, hw, hb, 1e-6f, bias, hn);   // the offset form (1 + w) where there is a bias
        gpu.mulActivated(hn, Activation.SIGMOID, og, hn);
        gpu.headNormGated(h, heads, hw, hb, 1e-6f, bias, og, Activation.SIGMOID, hf);
        same(mem, a, hn, hf, "headNormGated" + tag, failures);

        Tensor wo = GpuTests.gaussian(a, r, 0.05, 0, d, d), bo = bias ? GpuTests.gaussian(a, r, 1, 0, d) : null;
        Tensor res2 = mem.upload(GpuTests.gaussian(a, r, 1, 0, rows, d)), want2 = mem.allocate(rows, d);
        gpu.linear(hn, wo, bo, product);
        gpu.add(product, res2, want2);
        gpu.headNormGatedLinearAdd(h, heads, hw, hb, 1e-6f, bias, og, Activation.SIGMOID, hf, wo, bo, res2, product, res2);
        same(mem, a, want2, res2, "headNormGatedLinearAdd" + tag, failures);
    }

    private static void wideHead(CudaOps gpu, DeviceTensors mem, Arena a, SplittableRandom r, int d, int vocab, float cap,
                                 List<String> failures) {
        String tag = " d=" + d + " vocab=" + vocab + " cap=" + cap;
        Tensor x = mem.upload(GpuTests.gaussian(a, r, 2, 0, 1, d)), nw = GpuTests.gaussian(a, r, 1, 0, d);
        Tensor w = GpuTests.gaussian(a, r, 0.05, 0, vocab, d);
        Tensor fused = mem.allocate(1, vocab), plain = mem.allocate(1, vocab), normed = mem.allocate(1, d);
        gpu.rmsNormLinears(x, nw, null, 1e-6f, normed, new Tensor[] {w}, null, new Tensor[] {fused}, 0, cap);
        gpu.rmsNorm(x, nw, null, 1e-6f, normed);
        gpu.linears(normed, new Tensor[] {w}, new Tensor[] {null}, new Tensor[] {plain});
        if (cap > 0) gpu.softCap(plain, cap, plain);
        same(mem, a, plain, fused, "rmsNormLinears, one wide product" + tag, failures);
    }

    /** Records a failure unless got equals want bit for bit, with how many elements differ and by how much. */
    private static void same(DeviceTensors mem, Arena a, Tensor want, Tensor got, String what, List<String> failures) {
        float[] w = mem.download(want, a).toArray(), g = mem.download(got, a).toArray();
        int differ = 0, first = -1;
        double maxRel = 0;
        for (int i = 0; i < w.length; i++) {
            if (Float.floatToRawIntBits(w[i]) == Float.floatToRawIntBits(g[i])) continue;
            differ++;
            if (first < 0) first = i;
            maxRel = Math.max(maxRel, Math.abs((double) g[i] - w[i]) / Math.max(Math.abs((double) w[i]), 1e-30));
        }
        if (differ > 0)
            failures.add(String.format(Locale.ROOT, "%s: %d of %d elements differ (first [%d]: %s vs %s), max relative "
                    + "difference %.3e, normwise %.3e", what, differ, w.length, first, g[first], w[first], maxRel,
                    GpuTests.relErr(mem.download(got, a), mem.download(want, a))));
    }
}
