package org.xlstm.jvm.backend;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.xlstm.jvm.backend.TestTensors.copy;
import static org.xlstm.jvm.backend.TestTensors.random;

import java.lang.foreign.Arena;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.xlstm.jvm.backend.cpu.CpuOps;
import org.xlstm.jvm.backend.cpu.Parallel;
import org.xlstm.jvm.config.Activation;
import org.xlstm.jvm.tensor.Tensor;

/** The CPU backend gives bit-identical results on one thread and on the whole pool. */
class CpuDeterminismTest {
    private final Ops cpu = new CpuOps();

    @Test
    void parallelAndSequentialRunsAreBitIdentical() {
        assertTrue(Parallel.threads() >= 1);
        try (Arena arena = Arena.ofShared()) {
            SplittableRandom rnd = new SplittableRandom(7);
            int b = 4, s = 96, nh = 4, dh = 16, d = nh * dh;
            Tensor x = random(arena, rnd, 1, b * s, 128), w = random(arena, rnd, 0.1, 300, 128), bias = random(arena, rnd, 1, 300);
            Tensor q = random(arena, rnd, 1, b, s, d), k = random(arena, rnd, 1, b, s, d), v = random(arena, rnd, 1, b, s, d);
            Tensor ig = random(arena, rnd, 1, b, s, nh), fg = random(arena, rnd, 1, b, s, nh);
            Tensor r = random(arena, rnd, 0.2, nh, dh, 4, dh), sb = random(arena, rnd, 1, nh, 4, dh);
            Tensor cw = random(arena, rnd, 0.5, d, 4);

            float[][] par = run(arena, x, w, bias, q, k, v, ig, fg, r, sb, cw, b, s, d, nh, dh);
            float[][][] seq = new float[1][][];
            Parallel.sequentially(() -> seq[0] = run(arena, x, w, bias, q, k, v, ig, fg, r, sb, cw, b, s, d, nh, dh));
            for (int i = 0; i < par.length; i++) assertArrayEquals(seq[0][i], par[i], "output " + i + " differs bitwise");
        }
    }

    /**
     * The same call gives the same bits before and after the JIT compiles the kernels: a fresh JVM runs them
     * interpreted, later C2-compiled with intrinsics, and nothing may depend on which (see VectorMath, Simd.sum).
     */
    @Test
    void resultsDoNotChangeAsTheJitWarmsUp() {
        try (Arena arena = Arena.ofShared()) {
            SplittableRandom rnd = new SplittableRandom(11);
            int b = 1, s = 20, nh = 2, dh = 16, d = nh * dh;
            Tensor x = random(arena, rnd, 1, s, d), w = random(arena, rnd, 0.2, 50, d), w4 = random(arena, rnd, 0.2, 3, d);
            Tensor q = random(arena, rnd, 1, b, s, d), k = random(arena, rnd, 1, b, s, d), v = random(arena, rnd, 1, b, s, d);
            Tensor ig = random(arena, rnd, 1, b, s, nh), fg = random(arena, rnd, 1, b, s, nh);
            Tensor r = random(arena, rnd, 0.2, nh, dh, 4, dh), sb = random(arena, rnd, 1, nh, 4, dh), lw = random(arena, rnd, 1, d);
            float[][] first = null;
            for (int iter = 0; iter < 3000; iter++) {
                Tensor y = Tensor.allocate(arena, s, 50), y4 = Tensor.allocate(arena, s, 3), ln = Tensor.allocate(arena, s, d);
                cpu.linear(x, w, null, y);
                cpu.linear(x, w4, null, y4);
                cpu.layerNorm(x, lw, null, 1e-5f, true, ln);
                Tensor acts = Tensor.allocate(arena, Activation.values().length, s, d);
                for (Activation a : Activation.values())
                    cpu.activation(a, x, acts.slice(a.ordinal(), a.ordinal() + 1).view(s, d));
                Tensor h = Tensor.allocate(arena, b, s, d), c = Tensor.allocate(arena, b, nh, dh, dh),
                        n = Tensor.allocate(arena, b, nh, dh), m = Tensor.allocate(arena, b, nh);
                cpu.mlstmChunkwise(q, k, v, ig, fg, c, n, m, 8, 1e-6f, h);
                Tensor hr = Tensor.allocate(arena, b, s, d);
                cpu.mlstmRecurrent(q, k, v, ig, fg, c, n, m, 1e-6f, hr);
                Tensor hs = Tensor.allocate(arena, b, d), cs = Tensor.allocate(arena, b, d), ns = Tensor.allocate(arena, b, d),
                        ms = Tensor.allocate(arena, b, d), ys = Tensor.allocate(arena, b, s, d);
                cpu.slstmRecurrent(q, k, v, q, r, sb, hs, cs, ns, ms, ys);
                float[][] now = {y.toArray(), y4.toArray(), ln.toArray(), acts.toArray(), h.toArray(), hr.toArray(), ys.toArray()};
                if (first == null) first = now;
                else for (int i = 0; i < now.length; i++)
                    assertArrayEquals(first[i], now[i], "output " + i + " changed at iteration " + iter);
            }
        }
    }

    private float[][] run(Arena arena, Tensor x, Tensor w, Tensor bias, Tensor q, Tensor k, Tensor v, Tensor ig,
                          Tensor fg, Tensor r, Tensor sb, Tensor cw, int b, int s, int d, int nh, int dh) {
        Tensor y = Tensor.allocate(arena, b * s, 300);
        cpu.linear(x, w, bias, y);
        Tensor g = Tensor.allocate(arena, b * s, 300);
        cpu.activation(Activation.GELU, y, g);
        Tensor h = Tensor.allocate(arena, b, s, d);
        Tensor c = Tensor.allocate(arena, b, nh, dh, dh), n = Tensor.allocate(arena, b, nh, dh), m = Tensor.allocate(arena, b, nh);
        cpu.mlstmChunkwise(q, k, v, ig, fg, c, n, m, 32, 1e-6f, h);
        Tensor hs = Tensor.allocate(arena, b, d), cs = Tensor.allocate(arena, b, d), ns = Tensor.allocate(arena, b, d), ms = Tensor.allocate(arena, b, d);
        Tensor ys = Tensor.allocate(arena, b, s, d);
        cpu.slstmRecurrent(q, k, v, copy(arena, q), r, sb, hs, cs, ns, ms, ys);
        Tensor yc = Tensor.allocate(arena, b, s, d);
        cpu.causalConv1d(q, cw, null, null, yc);
        Tensor ln = Tensor.allocate(arena, b * s, 300);
        cpu.layerNorm(y, null, null, 1e-5f, true, ln);
        return new float[][] {y.toArray(), g.toArray(), h.toArray(), c.toArray(), ys.toArray(), yc.toArray(), ln.toArray()};
    }
}
