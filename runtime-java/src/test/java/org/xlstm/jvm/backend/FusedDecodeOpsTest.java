package org.xlstm.jvm.backend;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.xlstm.jvm.backend.TestTensors.copy;
import static org.xlstm.jvm.backend.TestTensors.random;

import java.lang.foreign.Arena;
import java.util.SplittableRandom;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.xlstm.jvm.backend.cpu.CpuOps;
import org.xlstm.jvm.config.Activation;
import org.xlstm.jvm.tensor.Tensor;

/**
 * The fused decoding operations of {@link Ops} (rmsNormLinears, rmsNormGatedLinear, linearAdd, headNormGated,
 * headNormGatedLinearAdd) on the CPU and reference backends equal, bit for bit, the plain operations they stand for
 * run one by one: fusing a decode step (as the CUDA backend does) must not change what the CPU computes.
 */
class FusedDecodeOpsTest {
    private final Arena arena = Arena.ofShared();
    private final SplittableRandom rnd = new SplittableRandom(5);

    @AfterEach
    void close() { arena.close(); }

    private static void same(String what, Tensor want, Tensor got) {
        assertArrayEquals(want.toArray(), got.toArray(), what);
    }

    @Test
    void fusedOperationsEqualTheirCompositionsOnTheCpuBackends() {
        for (Ops ops : new Ops[] {new CpuOps(), new ReferenceOps()})
            for (int rows : new int[] {1, 3})
                for (boolean bias : new boolean[] {false, true})
                    check(ops, rows, bias, ops.getClass().getSimpleName() + " rows=" + rows + " bias=" + bias);
    }

    private void check(Ops ops, int rows, boolean bias, String tag) {
        int d = 24, hidden = 40, heads = 4;
        int[] outs = {12, 12, 24, 24, 4, 4};
        Tensor x = random(arena, rnd, 2, rows, d), nw = random(arena, rnd, 1, d), nb = bias ? random(arena, rnd, 1, d) : null;
        Tensor[] w = new Tensor[6], b = new Tensor[6], fused = new Tensor[6], plain = new Tensor[6];
        for (int j = 0; j < 6; j++) {
            w[j] = random(arena, rnd, 0.3, outs[j], d);
            b[j] = bias ? random(arena, rnd, 1, outs[j]) : null;
            fused[j] = Tensor.allocate(arena, rows, outs[j]);
            plain[j] = Tensor.allocate(arena, rows, outs[j]);
        }
        Tensor normed = Tensor.allocate(arena, rows, d), normed2 = Tensor.allocate(arena, rows, d);
        ops.rmsNormLinears(x, nw, nb, 1e-6f, normed2, w, b, fused, 4, 1.5f);   // a small cap: it bends the values
        ops.rmsNorm(x, nw, nb, 1e-6f, normed);
        for (int j = 0; j < 6; j++) ops.linear(normed, w[j], b[j], plain[j]);
        for (int j = 4; j < 6; j++) ops.softCap(plain[j], 1.5f, plain[j]);
        for (int j = 0; j < 6; j++) same("rmsNormLinears output " + j + " " + tag, plain[j], fused[j]);

        Tensor wg = random(arena, rnd, 0.3, hidden, d), wu = random(arena, rnd, 0.3, hidden, d);
        Tensor bg = bias ? random(arena, rnd, 1, hidden) : null, bu = bias ? random(arena, rnd, 1, hidden) : null;
        Tensor g = Tensor.allocate(arena, rows, hidden), u = Tensor.allocate(arena, rows, hidden);
        Tensor g2 = Tensor.allocate(arena, rows, hidden), u2 = Tensor.allocate(arena, rows, hidden);
        ops.rmsNormGatedLinear(x, nw, nb, 1e-6f, normed2, wg, bg, wu, bu, Activation.SWISH, g2, u2);
        ops.rmsNorm(x, nw, nb, 1e-6f, normed);
        ops.linear(normed, wg, bg, g);
        ops.linear(normed, wu, bu, u);
        ops.mulActivated(u, Activation.SWISH, g, u);
        same("rmsNormGatedLinear " + tag, u, u2);

        Tensor wd = random(arena, rnd, 0.3, d, hidden), bd = bias ? random(arena, rnd, 1, d) : null;
        Tensor res = random(arena, rnd, 1, rows, d), res2 = copy(arena, res);
        Tensor product = Tensor.allocate(arena, rows, d), want = Tensor.allocate(arena, rows, d);
        ops.linear(u, wd, bd, product);
        ops.add(product, res, want);
        ops.linearAdd(u, wd, bd, res2, Tensor.allocate(arena, rows, d), res2);   // over the residual, as blocks do
        same("linearAdd " + tag, want, res2);

        Tensor h = random(arena, rnd, 3, rows, d), og = random(arena, rnd, 1, rows, d);
        Tensor hw = random(arena, rnd, 1, d), hb = bias ? random(arena, rnd, 1, d) : null;
        Tensor hn = Tensor.allocate(arena, rows, d), hf = Tensor.allocate(arena, rows, d);
        ops.headLayerNorm(h, heads, hw, hb, 1e-6f, bias, hn);
        ops.mulActivated(hn, Activation.SIGMOID, og, hn);
        ops.headNormGated(h, heads, hw, hb, 1e-6f, bias, og, Activation.SIGMOID, hf);
        same("headNormGated " + tag, hn, hf);

        Tensor wo = random(arena, rnd, 0.3, d, d), bo = bias ? random(arena, rnd, 1, d) : null;
        Tensor r1 = random(arena, rnd, 1, rows, d), r2 = copy(arena, r1), want2 = Tensor.allocate(arena, rows, d);
        ops.linear(hn, wo, bo, product);
        ops.add(product, r1, want2);
        ops.headNormGatedLinearAdd(h, heads, hw, hb, 1e-6f, bias, og, Activation.SIGMOID, Tensor.allocate(arena, rows, d),
                wo, bo, r2, Tensor.allocate(arena, rows, d), r2);
        same("headNormGatedLinearAdd " + tag, want2, r2);
    }
}
