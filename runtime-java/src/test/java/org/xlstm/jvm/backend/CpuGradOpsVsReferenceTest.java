package org.xlstm.jvm.backend;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.xlstm.jvm.backend.TestTensors.copy;
import static org.xlstm.jvm.backend.TestTensors.random;
import static org.xlstm.jvm.backend.TestTensors.relErr;

import java.lang.foreign.Arena;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.function.Supplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.xlstm.jvm.backend.cpu.CpuGradOps;
import org.xlstm.jvm.backend.cpu.Parallel;
import org.xlstm.jvm.config.Activation;
import org.xlstm.jvm.tensor.Tensor;

/**
 * The fast CPU backward against the double-precision reference on random, often awkward shapes (sizes that are
 * not multiples of the vector width, one row, one head), and bit-identical on one thread and on the pool.
 * Parameter-gradient outputs start non-zero, so accumulation is checked too.
 */
class CpuGradOpsVsReferenceTest {
    private static final double TOL = 1e-5;
    private final GradOps ref = new ReferenceGradOps();
    private final GradOps cpu = new CpuGradOps();
    private final Arena arena = Arena.ofShared();
    private final SplittableRandom rnd = new SplittableRandom(5);

    @AfterEach
    void close() { arena.close(); }

    private Tensor rand(double scale, int... shape) { return random(arena, rnd, scale, shape); }

    /** Runs {@code body} with each backend on fresh copies of the outputs (seeded with the same values). */
    private void compare(String what, double tol, Tensor[] outputs, BodyRunner body) {
        Tensor[] a = copies(outputs), b = copies(outputs);
        body.run(ref, a);
        body.run(cpu, b);
        for (int i = 0; i < outputs.length; i++) {
            if (outputs[i] == null) continue;
            double e = relErr(b[i], a[i]);
            assertTrue(e <= tol, what + ": output " + i + " relative error " + e);
        }
        // determinism: one thread gives the same bits as the pool
        Tensor[] c = copies(outputs);
        Parallel.sequentially(() -> body.run(cpu, c));
        for (int i = 0; i < outputs.length; i++)
            if (outputs[i] != null) assertArrayEquals(b[i].toArray(), c[i].toArray(), what + ": output " + i + " differs on one thread");
    }

    private Tensor[] copies(Tensor[] ts) {
        Tensor[] out = new Tensor[ts.length];
        for (int i = 0; i < ts.length; i++) out[i] = ts[i] == null ? null : copy(arena, ts[i]);
        return out;
    }

    @FunctionalInterface
    interface BodyRunner {
        void run(GradOps g, Tensor[] out);
    }

    @Test
    void linearAndMatmul() {
        int[][] shapes = {{1, 1, 1}, {3, 5, 7}, {17, 33, 49}, {64, 128, 96}, {300, 64, 20}, {129, 97, 130}};
        for (int[] s : shapes) {
            Tensor x = rand(1, s[0], s[1]), w = rand(0.3, s[2], s[1]), dy = rand(1, s[0], s[2]);
            for (boolean acc : new boolean[] {false, true})
                compare("linear " + Arrays.toString(s) + " acc=" + acc, TOL,
                        new Tensor[] {rand(1, s[0], s[1]), rand(1, s[2], s[1]), rand(1, s[2])},
                        (g, o) -> g.linearBackward(x, w, dy, o[0], acc, o[1], o[2]));
            Tensor b = rand(1, s[1], s[2]);
            compare("matmul " + Arrays.toString(s), TOL, new Tensor[] {rand(1, s[0], s[1]), rand(1, s[1], s[2])},
                    (g, o) -> g.matmulBackward(x, b, dy, o[0], o[1]));
        }
    }

    @Test
    void headwiseBothStrategies() {
        int[][] shapes = {{6, 16, 4, 4}, {5, 3, 4, 4}, {300, 64, 4, 4}, {7, 4, 16, 16}, {300, 4, 32, 32}, {4, 3, 5, 7}, {2, 8, 2, 2}};
        for (int[] s : shapes) {
            Tensor x = rand(1, s[0], s[1] * s[3]), w = rand(0.3, s[1], s[2], s[3]), dy = rand(1, s[0], s[1] * s[2]);
            for (boolean acc : new boolean[] {false, true})
                compare("headwise " + Arrays.toString(s), TOL,
                        new Tensor[] {rand(1, s[0], s[1] * s[3]), rand(1, s[1], s[2], s[3]), rand(1, s[1] * s[2])},
                        (g, o) -> g.linearHeadwiseBackward(x, w, dy, o[0], acc, o[1], o[2]));
        }
    }

    @Test
    void embedding() {
        Tensor dy = rand(1, 300, 37);
        int[] tokens = new int[300];
        for (int i = 0; i < tokens.length; i++) tokens[i] = rnd.nextInt(11);
        compare("embedding", TOL, new Tensor[] {rand(1, 11, 37)}, (g, o) -> g.embeddingBackward(tokens, dy, o[0]));
    }

    @Test
    void norms() {
        for (int d : new int[] {1, 7, 16, 64, 100, 256}) {
            for (int rows : new int[] {1, 5, 300}) {
                Tensor x = rand(2, rows, d), w = rand(0.5, d), dy = rand(1, rows, d);
                for (boolean offset : new boolean[] {true, false})
                    compare("layerNorm d=" + d + " rows=" + rows, TOL, new Tensor[] {rand(1, rows, d), rand(1, d), rand(1, d)},
                            (g, o) -> g.layerNormBackward(x, w, 1e-5f, offset, dy, o[0], offset, o[1], o[2]));
                compare("rmsNorm d=" + d, TOL, new Tensor[] {rand(1, rows, d), rand(1, d), rand(1, d)},
                        (g, o) -> g.rmsNormBackward(x, w, 1e-6f, dy, o[0], true, o[1], o[2]));
            }
        }
        for (int[] hd : new int[][] {{4, 16}, {3, 5}, {2, 64}}) {
            int d = hd[0] * hd[1];
            Tensor x = rand(1, 70, d), w = rand(0.5, d), dy = rand(1, 70, d);
            compare("headLayerNorm " + Arrays.toString(hd), TOL, new Tensor[] {rand(1, 70, d), rand(1, d), rand(1, d)},
                    (g, o) -> g.headLayerNormBackward(x, hd[0], w, 1e-5f, true, dy, o[0], o[1], o[2]));
        }
    }

    @Test
    void elementwise() {
        for (int n : new int[] {1, 15, 16, 17, 1000, 40000}) {
            Tensor x = rand(2, n), g = rand(2, n), dy = rand(1, n), w = rand(1, 1);
            for (Activation act : Activation.values()) {
                compare("activation " + act + " n=" + n, TOL, new Tensor[] {rand(1, n)}, (gr, o) -> gr.activationBackward(act, x, dy, o[0]));
                compare("mulActivated " + act + " n=" + n, TOL, new Tensor[] {rand(1, n), rand(1, n)},
                        (gr, o) -> gr.mulActivatedBackward(x, act, g, dy, o[0], o[1]));
            }
            compare("softCap n=" + n, TOL, new Tensor[] {rand(1, n)}, (gr, o) -> gr.softCapBackward(x.view(1, n), 15f, dy, o[0]));
        }
        for (int[] rc : new int[][] {{1, 1}, {5, 17}, {300, 64}}) {
            Tensor w = rand(1, rc[1]), b = rand(1, rc[0], rc[1]), dy = rand(1, rc[0], rc[1]);
            for (boolean acc : new boolean[] {false, true})
                compare("addScaled " + Arrays.toString(rc), TOL, new Tensor[] {rand(1, rc[0], rc[1]), rand(1, rc[1])},
                        (gr, o) -> gr.addScaledBackward(w, b, dy, o[0], acc, o[1]));
            Tensor whole = rand(1, rc[0], 3 * rc[1] + 2);
            for (boolean acc : new boolean[] {false, true})
                compare("split " + Arrays.toString(rc), TOL,
                        new Tensor[] {rand(1, rc[0], rc[1]), rand(1, rc[0], 2), rand(1, rc[0], 2 * rc[1])},
                        (gr, o) -> gr.splitColumns(whole, new Tensor[] {o[0], o[1], o[2]}, acc));
        }
    }

    @Test
    void convolution() {
        for (int[] s : new int[][] {{1, 1, 1, 1}, {2, 9, 5, 3}, {3, 70, 40, 4}, {2, 33, 128, 4}}) {
            Tensor x = rand(1, s[0], s[1], s[2]), w = rand(0.5, s[2], s[3]), dy = rand(1, s[0], s[1], s[2]);
            compare("conv " + Arrays.toString(s), TOL, new Tensor[] {rand(1, s[0], s[1], s[2]), rand(1, s[2], s[3]), rand(1, s[2])},
                    (g, o) -> g.causalConv1dBackward(x, w, dy, o[0], o[1], o[2]));
        }
    }

    @Test
    void mlstmChunkwise() {
        // (B, S, NH, DHQK, DHV, chunk, m0)
        Object[][] cases = {
                {1, 3, 1, 2, 1, 2, Float.NEGATIVE_INFINITY}, // (with one key dimension q cancels out of h: its gradient is pure eps)
                {2, 13, 2, 5, 7, 64, Float.NEGATIVE_INFINITY},
                {2, 40, 2, 16, 16, 16, Float.NEGATIVE_INFINITY},
                {1, 70, 3, 8, 20, 17, 0f},
                {2, 48, 2, 32, 64, 16, 0f},
                {1, 33, 1, 64, 64, 64, Float.NEGATIVE_INFINITY}};
        for (Object[] c : cases) {
            int b = (Integer) c[0], s = (Integer) c[1], nh = (Integer) c[2], dk = (Integer) c[3], dv = (Integer) c[4], chunk = (Integer) c[5];
            float m0 = (Float) c[6];
            Tensor q = rand(1, b, s, nh * dk), k = rand(1, b, s, nh * dk), v = rand(1, b, s, nh * dv);
            Tensor ig = rand(2, b, s, nh), fg = rand(2, b, s, nh), dh = rand(1, b, s, nh * dv);
            for (long i = 0; i < q.size(); i++) q.set(i, q.get(i) + 0.5f); // keep normalisers away from 0
            for (long i = 0; i < k.size(); i++) k.set(i, k.get(i) + 0.5f);
            for (long i = 0; i < fg.size(); i++) fg.set(i, fg.get(i) + 3f);
            compare("mLSTM " + Arrays.toString(c), 2e-5,
                    new Tensor[] {rand(1, b, s, nh * dk), rand(1, b, s, nh * dk), rand(1, b, s, nh * dv), rand(1, b, s, nh), rand(1, b, s, nh)},
                    (g, o) -> g.mlstmChunkwiseBackward(q, k, v, ig, fg, m0, chunk, 1e-6f, dh, o[0], o[1], o[2], o[3], o[4]));
        }
    }

    @Test
    void slstm() {
        for (int[] c : new int[][] {{1, 1, 1, 1}, {2, 9, 2, 3}, {3, 30, 4, 16}, {2, 40, 2, 32}, {1, 20, 1, 20}}) {
            int b = c[0], s = c[1], nh = c[2], dh = c[3], d = nh * dh;
            Tensor xi = rand(1, b, s, d), xf = rand(1, b, s, d), xz = rand(1, b, s, d), xo = rand(1, b, s, d), dy = rand(1, b, s, d);
            Tensor r = rand(0.3, nh, dh, 4, dh), bias = rand(1, nh, 4, dh);
            compare("sLSTM " + Arrays.toString(c), 2e-5,
                    new Tensor[] {rand(1, b, s, d), rand(1, b, s, d), rand(1, b, s, d), rand(1, b, s, d), rand(1, nh, dh, 4, dh), rand(1, nh, 4, dh)},
                    (g, o) -> g.slstmBackward(xi, xf, xz, xo, r, bias, dy, o[0], o[1], o[2], o[3], o[4], o[5]));
        }
    }

    @Test
    void crossEntropy() {
        for (int[] s : new int[][] {{1, 1}, {5, 7}, {300, 64}, {40, 257}}) {
            Tensor logits = rand(3, s[0], s[1]);
            int[] targets = new int[s[0]];
            for (int i = 0; i < targets.length; i++) targets[i] = i % 3 == 1 ? -1 : rnd.nextInt(s[1]);
            double[] loss = new double[3];
            compare("crossEntropy " + Arrays.toString(s), TOL, new Tensor[] {rand(1, s[0], s[1])},
                    (g, o) -> loss[g == ref ? 0 : 1] = g.crossEntropy(logits, targets, o[0]));
            if (!Double.isNaN(loss[0])) assertTrue(Math.abs(loss[0] - loss[1]) <= 1e-6 * Math.abs(loss[0]), loss[0] + " vs " + loss[1]);
        }
    }
}
