package org.xlstm.jvm.backend;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.xlstm.jvm.backend.TestTensors.copy;
import static org.xlstm.jvm.backend.TestTensors.random;
import static org.xlstm.jvm.backend.TestTensors.relErr;

import java.lang.foreign.Arena;
import java.util.SplittableRandom;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.xlstm.jvm.backend.cpu.CpuOps;
import org.xlstm.jvm.config.Activation;
import org.xlstm.jvm.tensor.Tensor;

/** The fast CPU backend against the double-precision reference, op by op, on random (often awkward) shapes. */
class CpuOpsVsReferenceTest {
    private static final double TOL = 2e-6;
    private final Ops ref = new ReferenceOps();
    private final Ops cpu = new CpuOps();
    private final Arena arena = Arena.ofShared();
    private final SplittableRandom rnd = new SplittableRandom(42);

    @AfterEach
    void close() { arena.close(); }

    private void close(String what, Tensor a, Tensor b) {
        double e = relErr(a, b);
        assertTrue(e <= TOL, what + ": relative error " + e);
    }

    @Test
    void linearOnRandomShapesWithAndWithoutBias() {
        int[][] shapes = {{1, 1, 1}, {3, 5, 7}, {4, 16, 48}, {5, 17, 49}, {64, 128, 512}, {70, 300, 33}, {9, 260, 4},
                {129, 64, 97}, {7, 40, 100}, {13, 20, 96}, {1, 128, 256}, {2, 300, 150}};
        for (int[] s : shapes) {
            for (boolean bias : new boolean[] {false, true}) {
                Tensor x = random(arena, rnd, 1, s[0], s[1]);
                Tensor w = random(arena, rnd, 0.2, s[2], s[1]);
                Tensor b = bias ? random(arena, rnd, 1, s[2]) : null;
                Tensor y1 = Tensor.allocate(arena, s[0], s[2]), y2 = Tensor.allocate(arena, s[0], s[2]);
                ref.linear(x, w, b, y1);
                cpu.linear(x, w, b, y2);
                close("linear " + java.util.Arrays.toString(s) + " bias=" + bias, y2, y1);
            }
        }
    }

    @Test
    void matmulPlainLayout() {
        for (int[] s : new int[][] {{1, 1, 1}, {7, 13, 50}, {33, 64, 65}}) {
            Tensor a = random(arena, rnd, 1, s[0], s[1]), b = random(arena, rnd, 1, s[1], s[2]);
            Tensor c1 = Tensor.allocate(arena, s[0], s[2]), c2 = Tensor.allocate(arena, s[0], s[2]);
            ref.matmul(a, b, c1);
            cpu.matmul(a, b, c2);
            close("matmul", c2, c1);
        }
    }

    @Test
    void headwiseLinearBothStrategies() {
        // (rows, heads, out, in): 4x4 blocks use the lane-permutation path, the others the block path
        int[][] shapes = {{6, 16, 4, 4}, {5, 3, 4, 4}, {7, 4, 16, 16}, {3, 2, 32, 32}, {4, 3, 5, 7}, {2, 64, 4, 4}};
        for (int[] s : shapes) {
            for (boolean bias : new boolean[] {false, true}) {
                Tensor x = random(arena, rnd, 1, s[0], s[1] * s[3]);
                Tensor w = random(arena, rnd, 0.3, s[1], s[2], s[3]);
                Tensor b = bias ? random(arena, rnd, 1, s[1] * s[2]) : null;
                Tensor y1 = Tensor.allocate(arena, s[0], s[1] * s[2]), y2 = Tensor.allocate(arena, s[0], s[1] * s[2]);
                ref.linearHeadwise(x, w, b, y1);
                cpu.linearHeadwise(x, w, b, y2);
                close("headwise " + java.util.Arrays.toString(s), y2, y1);
            }
        }
    }

    @Test
    void norms() {
        for (int d : new int[] {1, 7, 16, 64, 100}) {
            Tensor x = random(arena, rnd, 3, 5, d);
            Tensor w = random(arena, rnd, 0.5, d), b = random(arena, rnd, 0.5, d);
            for (boolean offset : new boolean[] {true, false}) {
                Tensor y1 = Tensor.allocate(arena, 5, d), y2 = Tensor.allocate(arena, 5, d);
                ref.layerNorm(x, w, b, 1e-5f, offset, y1);
                cpu.layerNorm(x, w, b, 1e-5f, offset, y2);
                close("layerNorm d=" + d, y2, y1);
                ref.layerNorm(x, null, null, 1e-5f, offset, y1);
                cpu.layerNorm(x, null, null, 1e-5f, offset, y2);
                close("layerNorm no weight d=" + d, y2, y1);
            }
            Tensor y1 = Tensor.allocate(arena, 5, d), y2 = Tensor.allocate(arena, 5, d);
            ref.rmsNorm(x, w, b, 1e-6f, y1);
            cpu.rmsNorm(x, w, b, 1e-6f, y2);
            close("rmsNorm d=" + d, y2, y1);
        }
        for (int[] hd : new int[][] {{4, 16}, {2, 7}, {3, 32}}) {
            Tensor x = random(arena, rnd, 2, 6, hd[0] * hd[1]);
            Tensor w = random(arena, rnd, 0.5, hd[0] * hd[1]), b = random(arena, rnd, 0.5, hd[0] * hd[1]);
            Tensor y1 = Tensor.allocate(arena, 6, hd[0] * hd[1]), y2 = Tensor.allocate(arena, 6, hd[0] * hd[1]);
            ref.headLayerNorm(x, hd[0], w, null, 1e-5f, true, y1);
            cpu.headLayerNorm(x, hd[0], w, null, 1e-5f, true, y2);
            close("headLayerNorm", y2, y1);
            ref.headLayerNorm(x, hd[0], w, b, 1e-6f, false, y1);
            cpu.headLayerNorm(x, hd[0], w, b, 1e-6f, false, y2);
            close("headLayerNorm with bias", y2, y1);
        }
    }

    @Test
    void elementwiseAndActivations() {
        Tensor x = random(arena, rnd, 4, 7, 37), g = random(arena, rnd, 4, 7, 37), w = random(arena, rnd, 1, 37);
        for (Activation act : Activation.values()) {
            Tensor y1 = Tensor.allocate(arena, 7, 37), y2 = Tensor.allocate(arena, 7, 37);
            ref.activation(act, x, y1);
            cpu.activation(act, x, y2);
            close("activation " + act, y2, y1);
            ref.mulActivated(x, act, g, y1);
            cpu.mulActivated(x, act, g, y2);
            close("mulActivated " + act, y2, y1);
        }
        Tensor y1 = Tensor.allocate(arena, 7, 37), y2 = Tensor.allocate(arena, 7, 37);
        ref.add(x, g, y1);
        cpu.add(x, g, y2);
        close("add", y2, y1);
        ref.addScaled(x, w, g, y1);
        cpu.addScaled(x, w, g, y2);
        close("addScaled", y2, y1);
        ref.softCap(x, 3f, y1);
        cpu.softCap(x, 3f, y2);
        close("softCap", y2, y1);
        Tensor big = random(arena, rnd, 2, 300, 301);
        Tensor b1 = Tensor.allocate(arena, 300, 301), b2 = Tensor.allocate(arena, 300, 301);
        ref.activation(Activation.GELU, big, b1);
        cpu.activation(Activation.GELU, big, b2);
        close("gelu, parallel pieces", b2, b1);
    }

    @Test
    void concatAndEmbedding() {
        Tensor a = random(arena, rnd, 1, 3, 5), b = random(arena, rnd, 1, 3, 2);
        Tensor y1 = Tensor.allocate(arena, 3, 7), y2 = Tensor.allocate(arena, 3, 7);
        ref.concatColumns(new Tensor[] {a, b}, y1);
        cpu.concatColumns(new Tensor[] {a, b}, y2);
        assertArrayEquals(y1.toArray(), y2.toArray());
        assertArrayEquals(new float[] {a.at(1, 4), b.at(1, 0)}, new float[] {y1.at(1, 4), y1.at(1, 5)});
        Tensor table = random(arena, rnd, 1, 10, 6);
        Tensor e1 = Tensor.allocate(arena, 4, 6), e2 = Tensor.allocate(arena, 4, 6);
        ref.embedding(new int[] {3, 0, 9, 3}, table, e1);
        cpu.embedding(new int[] {3, 0, 9, 3}, table, e2);
        assertArrayEquals(e1.toArray(), e2.toArray());
        assertArrayEquals(table.slice(9, 10).toArray(), e1.slice(2, 3).toArray());
    }

    @Test
    void causalConvWithAndWithoutWindow() {
        for (int[] s : new int[][] {{2, 9, 20, 4}, {1, 70, 33, 3}, {3, 1, 16, 4}, {2, 2, 8, 1}, {1, 3, 5, 6}}) {
            int bsz = s[0], len = s[1], f = s[2], k = s[3];
            Tensor x = random(arena, rnd, 1, bsz, len, f), w = random(arena, rnd, 0.5, f, k), b = random(arena, rnd, 0.1, f);
            Tensor y1 = Tensor.allocate(arena, bsz, len, f), y2 = Tensor.allocate(arena, bsz, len, f);
            ref.causalConv1d(x, w, b, null, y1);
            cpu.causalConv1d(x, w, b, null, y2);
            close("conv " + java.util.Arrays.toString(s), y2, y1);
            Tensor win1 = random(arena, rnd, 1, bsz, k - 1, f), win2 = copy(arena, win1);
            ref.causalConv1d(x, w, b, win1, y1);
            cpu.causalConv1d(x, w, b, win2, y2);
            close("conv with window " + java.util.Arrays.toString(s), y2, y1);
            if (k > 1) close("window update", win2, win1);
        }
    }

    @Test
    void mlstmCellsAgreeWithReference() {
        // (B, S, NH, DHQK, DHV, chunk)
        int[][] shapes = {{2, 13, 2, 8, 16, 4}, {1, 40, 3, 16, 16, 16}, {2, 7, 1, 5, 9, 64}, {1, 33, 2, 32, 20, 8}};
        for (int[] s : shapes) {
            int b = s[0], len = s[1], nh = s[2], dk = s[3], dv = s[4], chunk = s[5];
            Tensor q = random(arena, rnd, 1, b, len, nh * dk), k = random(arena, rnd, 1, b, len, nh * dk);
            Tensor v = random(arena, rnd, 1, b, len, nh * dv);
            Tensor ig = random(arena, rnd, 2, b, len, nh), fg = random(arena, rnd, 2, b, len, nh);
            Tensor h1 = Tensor.allocate(arena, b, len, nh * dv), h2 = Tensor.allocate(arena, b, len, nh * dv);
            ref.mlstmParallel(q, k, v, ig, fg, 1e-6f, h1);
            cpu.mlstmParallel(q, k, v, ig, fg, 1e-6f, h2);
            close("mlstm parallel " + java.util.Arrays.toString(s), h2, h1);

            // chunkwise from a random non-trivial state, both backends, state carried out
            Tensor c1 = random(arena, rnd, 0.5, b, nh, dk, dv), n1 = random(arena, rnd, 0.5, b, nh, dk),
                    m1 = random(arena, rnd, 1, b, nh);
            Tensor c2 = copy(arena, c1), n2 = copy(arena, n1), m2 = copy(arena, m1);
            Tensor c3 = copy(arena, c1), n3 = copy(arena, n1), m3 = copy(arena, m1);
            ref.mlstmChunkwise(q, k, v, ig, fg, c1, n1, m1, chunk, 1e-6f, h1);
            cpu.mlstmChunkwise(q, k, v, ig, fg, c2, n2, m2, chunk, 1e-6f, h2);
            close("mlstm chunkwise " + java.util.Arrays.toString(s), h2, h1);
            close("mlstm chunkwise C", c2, c1);
            close("mlstm chunkwise n", n2, n1);
            close("mlstm chunkwise m", m2, m1);
            // the recurrent form computes the same function and lands in the same state
            Tensor h3 = Tensor.allocate(arena, b, len, nh * dv);
            cpu.mlstmRecurrent(q, k, v, ig, fg, c3, n3, m3, 1e-6f, h3);
            close("mlstm recurrent vs chunkwise", h3, h1);
            close("mlstm recurrent C", c3, c1);
            Tensor c4 = copy(arena, c3), n4 = copy(arena, n3), m4 = copy(arena, m3);
            Tensor h4 = Tensor.allocate(arena, b, len, nh * dv);
            ref.mlstmRecurrent(q, k, v, ig, fg, c4, n4, m4, 1e-6f, h4);
            cpu.mlstmRecurrent(q, k, v, ig, fg, c3, n3, m3, 1e-6f, h3);
            close("mlstm recurrent cpu vs reference", h3, h4);
        }
    }

    @Test
    void slstmAgreesWithReference() {
        for (int[] s : new int[][] {{2, 11, 2, 16}, {1, 30, 4, 8}, {3, 5, 1, 20}}) {
            int b = s[0], len = s[1], nh = s[2], dh = s[3], d = nh * dh;
            Tensor[] x = new Tensor[4];
            for (int g = 0; g < 4; g++) x[g] = random(arena, rnd, 1, b, len, d);
            Tensor r = random(arena, rnd, 0.3, nh, dh, 4, dh), bias = random(arena, rnd, 1, nh, 4, dh);
            Tensor[] st1 = {Tensor.allocate(arena, b, d), Tensor.allocate(arena, b, d), Tensor.allocate(arena, b, d), Tensor.allocate(arena, b, d)};
            Tensor[] st2 = {Tensor.allocate(arena, b, d), Tensor.allocate(arena, b, d), Tensor.allocate(arena, b, d), Tensor.allocate(arena, b, d)};
            Tensor y1 = Tensor.allocate(arena, b, len, d), y2 = Tensor.allocate(arena, b, len, d);
            ref.slstmRecurrent(x[0], x[1], x[2], x[3], r, bias, st1[0], st1[1], st1[2], st1[3], y1);
            cpu.slstmRecurrent(x[0], x[1], x[2], x[3], r, bias, st2[0], st2[1], st2[2], st2[3], y2);
            close("slstm " + java.util.Arrays.toString(s), y2, y1);
            for (int i = 0; i < 4; i++) close("slstm state " + i, st2[i], st1[i]);
            // continuing from the carried state
            ref.slstmRecurrent(x[0], x[1], x[2], x[3], r, bias, st1[0], st1[1], st1[2], st1[3], y1);
            cpu.slstmRecurrent(x[0], x[1], x[2], x[3], r, bias, st2[0], st2[1], st2[2], st2[3], y2);
            close("slstm continued", y2, y1);
        }
    }
}
