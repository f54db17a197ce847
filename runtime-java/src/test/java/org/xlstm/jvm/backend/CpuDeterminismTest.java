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
