package org.xlstm.jvm.backend.cuda;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

import java.lang.foreign.Arena;
import java.util.SplittableRandom;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.xlstm.jvm.config.Activation;
import org.xlstm.jvm.cuda.CudaContext;
import org.xlstm.jvm.tensor.Tensor;

/**
 * The fused decoding operations (kernels/src/decode.cu) equal, bit for bit, the operations they fuse run one by one
 * on the same backend (Ops' default compositions): one decode step then computes exactly what it computed before.
 */
class CudaDecodeFusionTest {
    private static CudaContext ctx;

    @BeforeAll
    static void open() {
        ctx = GpuTests.openOrSkip();
    }

    @AfterAll
    static void closeAll() {
        if (ctx != null) ctx.close();
    }

    @Test
    void fusedOperationsEqualTheirCompositions() {
        try (DeviceTensors mem = new DeviceTensors(ctx); CudaOps gpu = new CudaOps(mem, CudaOps.Precision.BF16);
             Arena a = Arena.ofShared()) {
            SplittableRandom r = new SplittableRandom(3);
            for (int rows : new int[] {1, 5, 16}) {
                for (boolean bias : new boolean[] {false, true}) {
                    String tag = " rows=" + rows + " bias=" + bias;
                    int d = 768, hidden = 2048, heads = 4;
                    int[] outs = {384, 384, 768, 768, 4, 4};
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
                    for (int j = 0; j < 6; j++)
                        assertArrayEquals(mem.download(plain[j], a).toArray(), mem.download(fused[j], a).toArray(),
                                "rmsNormLinears output " + j + tag);

                    Tensor wg = GpuTests.gaussian(a, r, 0.05, 0, hidden, d), wu = GpuTests.gaussian(a, r, 0.05, 0, hidden, d);
                    Tensor bg = bias ? GpuTests.gaussian(a, r, 1, 0, hidden) : null, bu = bias ? GpuTests.gaussian(a, r, 1, 0, hidden) : null;
                    Tensor g = mem.allocate(rows, hidden), u = mem.allocate(rows, hidden), uf = mem.allocate(rows, hidden);
                    gpu.rmsNormGatedLinear(x, nw, nb, 1e-6f, normed, wg, bg, wu, bu, Activation.SWISH, g, uf);
                    gpu.rmsNorm(x, nw, nb, 1e-6f, normed);
                    gpu.linears(normed, new Tensor[] {wg, wu}, new Tensor[] {bg, bu}, new Tensor[] {g, u});
                    gpu.mulActivated(u, Activation.SWISH, g, u);
                    assertArrayEquals(mem.download(u, a).toArray(), mem.download(uf, a).toArray(), "rmsNormGatedLinear" + tag);

                    Tensor wd = GpuTests.gaussian(a, r, 0.05, 0, d, hidden), bd = bias ? GpuTests.gaussian(a, r, 1, 0, d) : null;
                    Tensor res = mem.upload(GpuTests.gaussian(a, r, 1, 0, rows, d)), product = mem.allocate(rows, d), want = mem.allocate(rows, d);
                    gpu.linear(u, wd, bd, product);
                    gpu.add(product, res, want);
                    gpu.linearAdd(u, wd, bd, res, product, res);   // over the residual, as the blocks do
                    assertArrayEquals(mem.download(want, a).toArray(), mem.download(res, a).toArray(), "linearAdd" + tag);

                    Tensor h = mem.upload(GpuTests.gaussian(a, r, 3, 0, rows, d)), og = mem.upload(GpuTests.gaussian(a, r, 1, 0, rows, d));
                    Tensor hw = GpuTests.gaussian(a, r, 1, 0, d), hb = bias ? GpuTests.gaussian(a, r, 1, 0, d) : null;
                    Tensor hn = mem.allocate(rows, d), hf = mem.allocate(rows, d);
                    gpu.headLayerNorm(h, heads, hw, hb, 1e-6f, false, hn);
                    gpu.mulActivated(hn, Activation.SIGMOID, og, hn);
                    gpu.headNormGated(h, heads, hw, hb, 1e-6f, false, og, Activation.SIGMOID, hf);
                    assertArrayEquals(mem.download(hn, a).toArray(), mem.download(hf, a).toArray(), "headNormGated" + tag);

                    Tensor wo = GpuTests.gaussian(a, r, 0.05, 0, d, d), bo = bias ? GpuTests.gaussian(a, r, 1, 0, d) : null;
                    Tensor res2 = mem.upload(GpuTests.gaussian(a, r, 1, 0, rows, d)), want2 = mem.allocate(rows, d);
                    gpu.linear(hn, wo, bo, product);
                    gpu.add(product, res2, want2);
                    gpu.headNormGatedLinearAdd(h, heads, hw, hb, 1e-6f, false, og, Activation.SIGMOID, hf, wo, bo, res2,
                            product, res2);
                    assertArrayEquals(mem.download(want2, a).toArray(), mem.download(res2, a).toArray(),
                            "headNormGatedLinearAdd" + tag);
                }
            }
        }
    }
}
