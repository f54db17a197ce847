package org.xlstm.jvm.backend;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.xlstm.jvm.backend.FiniteDifferences.dot;
import static org.xlstm.jvm.backend.FiniteDifferences.projection;
import static org.xlstm.jvm.backend.FiniteDifferences.seed;
import static org.xlstm.jvm.backend.TestTensors.random;

import java.lang.foreign.Arena;
import java.util.SplittableRandom;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.xlstm.jvm.config.Activation;
import org.xlstm.jvm.tensor.Tensor;

/** Every backward formula of {@link ReferenceGradOps} against finite differences of {@link ReferenceOps}. */
class ReferenceGradOpsFiniteDifferenceTest {
    private static final double TOL = 1e-3;
    private static final double H = 1e-2;
    private final Ops ops = new ReferenceOps();
    private final GradOps grad = new ReferenceGradOps();
    private final Arena arena = Arena.ofShared();
    private final SplittableRandom rnd = new SplittableRandom(11);

    @AfterEach
    void close() { arena.close(); }

    private Tensor zeros(int... shape) { return Tensor.allocate(arena, shape); }

    private FiniteDifferences fd() { return new FiniteDifferences(rnd.nextLong(), H, 12); }

    @Test
    void linearWithAndWithoutBias() {
        for (boolean bias : new boolean[] {true, false}) {
            Tensor x = random(arena, rnd, 1, 5, 7), w = random(arena, rnd, 0.5, 6, 7), b = bias ? random(arena, rnd, 1, 6) : null;
            Tensor y = zeros(5, 6), dy = zeros(5, 6), dx = zeros(5, 7), dw = zeros(6, 7), db = bias ? zeros(6) : null;
            double[] p = projection(1, y.size());
            seed(p, dy);
            grad.linearBackward(x, w, dy, dx, false, dw, db);
            FiniteDifferences f = fd().wrt("x", x, dx).wrt("w", w, dw);
            if (bias) f.wrt("b", b, db);
            f.check("linear", () -> {
                ops.linear(x, w, b, y);
                return dot(p, y);
            }, TOL);
        }
    }

    @Test
    void parameterGradientsAccumulateAndDxFlagAccumulates() {
        Tensor x = random(arena, rnd, 1, 3, 4), w = random(arena, rnd, 1, 2, 4), dy = random(arena, rnd, 1, 3, 2);
        Tensor dx = zeros(3, 4), dw = zeros(2, 4), db = zeros(2);
        grad.linearBackward(x, w, dy, dx, false, dw, db);
        float[] dx1 = dx.toArray(), dw1 = dw.toArray(), db1 = db.toArray();
        grad.linearBackward(x, w, dy, dx, false, dw, db);
        assertTrue(java.util.Arrays.equals(dx1, dx.toArray()), "dx is overwritten without the flag");
        for (int i = 0; i < dw1.length; i++) assertEquals(2 * dw1[i], dw.get(i), 1e-5, "dw accumulates");
        for (int i = 0; i < db1.length; i++) assertEquals(2 * db1[i], db.get(i), 1e-5, "db accumulates");
        grad.linearBackward(x, w, dy, dx, true, null, null);
        for (int i = 0; i < dx1.length; i++) assertEquals(2 * dx1[i], dx.get(i), 1e-5, "dx accumulates with the flag");
    }

    @Test
    void matmul() {
        Tensor a = random(arena, rnd, 1, 4, 5), b = random(arena, rnd, 1, 5, 3), c = zeros(4, 3), dc = zeros(4, 3);
        Tensor da = zeros(4, 5), db = zeros(5, 3);
        double[] p = projection(2, c.size());
        seed(p, dc);
        grad.matmulBackward(a, b, dc, da, db);
        fd().wrt("a", a, da).wrt("b", b, db).check("matmul", () -> {
            ops.matmul(a, b, c);
            return dot(p, c);
        }, TOL);
    }

    @Test
    void headwiseLinear() {
        for (int[] s : new int[][] {{4, 3, 2, 5}, {3, 4, 4, 4}}) {
            int rows = s[0], heads = s[1], out = s[2], in = s[3];
            Tensor x = random(arena, rnd, 1, rows, heads * in), w = random(arena, rnd, 0.5, heads, out, in), b = random(arena, rnd, 1, heads * out);
            Tensor y = zeros(rows, heads * out), dy = zeros(rows, heads * out), dx = zeros(rows, heads * in),
                    dw = zeros(heads, out, in), db = zeros(heads * out);
            double[] p = projection(3, y.size());
            seed(p, dy);
            grad.linearHeadwiseBackward(x, w, dy, dx, false, dw, db);
            fd().wrt("x", x, dx).wrt("w", w, dw).wrt("b", b, db).check("headwise", () -> {
                ops.linearHeadwise(x, w, b, y);
                return dot(p, y);
            }, TOL);
        }
    }

    @Test
    void embeddingScatterAddsRepeatedTokens() {
        Tensor table = random(arena, rnd, 1, 6, 4), y = zeros(5, 4), dy = zeros(5, 4), dt = zeros(6, 4);
        int[] tokens = {1, 3, 1, 5, 1};
        double[] p = projection(4, y.size());
        seed(p, dy);
        grad.embeddingBackward(tokens, dy, dt);
        new FiniteDifferences(5, H, 24).wrt("table", table, dt).check("embedding", () -> {
            ops.embedding(tokens, table, y);
            return dot(p, y);
        }, TOL);
        assertEquals(0f, dt.at(0, 2), "rows of unused tokens get no gradient");
    }

    @Test
    void layerNormOffsetAndPlainWithBias() {
        for (boolean offset : new boolean[] {true, false}) {
            int d = 9;
            Tensor x = random(arena, rnd, 2, 4, d), w = random(arena, rnd, 0.5, d), b = random(arena, rnd, 1, d);
            Tensor y = zeros(4, d), dy = zeros(4, d), dx = zeros(4, d), dw = zeros(d), db = zeros(d);
            double[] p = projection(6, y.size());
            seed(p, dy);
            grad.layerNormBackward(x, w, 1e-5f, offset, dy, dx, false, dw, db);
            fd().wrt("x", x, dx).wrt("w", w, dw).wrt("b", b, db).check("layerNorm offset=" + offset, () -> {
                ops.layerNorm(x, w, b, 1e-5f, offset, y);
                return dot(p, y);
            }, TOL);
        }
    }

    @Test
    void rmsNorm() {
        int d = 8;
        Tensor x = random(arena, rnd, 1.5, 3, d), w = random(arena, rnd, 1, d), b = random(arena, rnd, 1, d);
        Tensor y = zeros(3, d), dy = zeros(3, d), dx = zeros(3, d), dw = zeros(d), db = zeros(d);
        double[] p = projection(7, y.size());
        seed(p, dy);
        grad.rmsNormBackward(x, w, 1e-6f, dy, dx, false, dw, db);
        fd().wrt("x", x, dx).wrt("w", w, dw).wrt("b", b, db).check("rmsNorm", () -> {
            ops.rmsNorm(x, w, b, 1e-6f, y);
            return dot(p, y);
        }, TOL);
    }

    @Test
    void headLayerNorm() {
        int heads = 3, dh = 5, d = heads * dh;
        for (boolean offset : new boolean[] {true, false}) {
            Tensor x = random(arena, rnd, 1, 2, 3, d), w = random(arena, rnd, 0.5, d), b = random(arena, rnd, 0.5, d);
            Tensor y = zeros(2, 3, d), dy = zeros(2, 3, d), dx = zeros(2, 3, d), dw = zeros(d), db = zeros(d);
            double[] p = projection(8, y.size());
            seed(p, dy);
            grad.headLayerNormBackward(x, heads, w, 1e-5f, offset, dy, dx, dw, db);
            new FiniteDifferences(9, H, 30).wrt("x", x, dx).wrt("w", w, dw).wrt("b", b, db).check("headLayerNorm", () -> {
                ops.headLayerNorm(x, heads, w, b, 1e-5f, offset, y);
                return dot(p, y);
            }, TOL);
        }
    }

    /** Inputs kept away from the kinks of relu and relu² (at 0), where a difference quotient is meaningless. */
    private Tensor awayFromZero(int... shape) {
        Tensor t = random(arena, rnd, 1.5, shape);
        for (long i = 0; i < t.size(); i++) {
            float v = t.get(i);
            if (Math.abs(v) < 0.1f) t.set(i, v < 0 ? v - 0.1f : v + 0.1f);
        }
        return t;
    }

    @Test
    void everyActivationAndGatedProduct() {
        for (Activation act : Activation.values()) {
            Tensor x = awayFromZero(3, 7), y = zeros(3, 7), dy = zeros(3, 7), dx = zeros(3, 7);
            double[] p = projection(10, y.size());
            seed(p, dy);
            grad.activationBackward(act, x, dy, dx);
            new FiniteDifferences(11, 1e-3, 21).wrt("x", x, dx).check(act.name(), () -> {
                ops.activation(act, x, y);
                return dot(p, y);
            }, TOL);

            Tensor u = random(arena, rnd, 1, 3, 7), g = awayFromZero(3, 7), du = zeros(3, 7), dg = zeros(3, 7);
            grad.mulActivatedBackward(u, act, g, dy, du, dg);
            new FiniteDifferences(12, 1e-3, 21).wrt("x", u, du).wrt("g", g, dg).check("mulActivated " + act, () -> {
                ops.mulActivated(u, act, g, y);
                return dot(p, y);
            }, TOL);
        }
    }

    @Test
    void addScaledSoftCapAndConcat() {
        Tensor a = random(arena, rnd, 1, 4, 6), w = random(arena, rnd, 1, 6), b = random(arena, rnd, 1, 4, 6);
        Tensor y = zeros(4, 6), dy = zeros(4, 6), db = zeros(4, 6), dw = zeros(6);
        double[] p = projection(13, y.size());
        seed(p, dy);
        grad.addScaledBackward(w, b, dy, db, false, dw);
        fd().wrt("w", w, dw).wrt("b", b, db).wrt("a", a, dy).check("addScaled", () -> {
            ops.addScaled(a, w, b, y);
            return dot(p, y);
        }, TOL);

        Tensor x = random(arena, rnd, 20, 4, 6), dx = zeros(4, 6);
        grad.softCapBackward(x, 15f, dy, dx);
        fd().wrt("x", x, dx).check("softCap", () -> {
            ops.softCap(x, 15f, y);
            return dot(p, y);
        }, TOL);

        Tensor p1 = random(arena, rnd, 1, 4, 2), p2 = random(arena, rnd, 1, 4, 4), d1 = zeros(4, 2), d2 = zeros(4, 4);
        grad.splitColumns(dy, new Tensor[] {d1, d2}, false);
        fd().wrt("part1", p1, d1).wrt("part2", p2, d2).check("concat", () -> {
            ops.concatColumns(new Tensor[] {p1, p2}, y);
            return dot(p, y);
        }, TOL);
    }

    @Test
    void causalConvolution() {
        for (int k : new int[] {1, 3, 4}) {
            Tensor x = random(arena, rnd, 1, 2, 6, 5), w = random(arena, rnd, 0.7, 5, k), b = random(arena, rnd, 1, 5);
            Tensor y = zeros(2, 6, 5), dy = zeros(2, 6, 5), dx = zeros(2, 6, 5), dw = zeros(5, k), db = zeros(5);
            double[] p = projection(14, y.size());
            seed(p, dy);
            grad.causalConv1dBackward(x, w, dy, dx, dw, db);
            new FiniteDifferences(15, H, 20).wrt("x", x, dx).wrt("w", w, dw).wrt("b", b, db).check("conv k=" + k, () -> {
                ops.causalConv1d(x, w, b, null, y);
                return dot(p, y);
            }, TOL);
        }
    }

    @Test
    void mlstmChunkwiseAcrossChunkSizesAndStabiliserStarts() {
        int b = 2, s = 11, nh = 2, dk = 3, dv = 4;
        // (chunk, m0): one chunk = the official parallel form; several chunks; the xLSTM-7B start m = 0
        Object[][] cases = {{16, Float.NEGATIVE_INFINITY}, {4, Float.NEGATIVE_INFINITY}, {3, 0f}, {1, 0f}};
        for (Object[] c : cases) {
            int chunk = (Integer) c[0];
            float m0 = (Float) c[1];
            Tensor q = random(arena, rnd, 1, b, s, nh * dk), k = random(arena, rnd, 1, b, s, nh * dk), v = random(arena, rnd, 1, b, s, nh * dv);
            Tensor ig = random(arena, rnd, 2, b, s, nh), fg = random(arena, rnd, 2, b, s, nh);
            for (long i = 0; i < fg.size(); i++) fg.set(i, fg.get(i) + 2f);
            // keep the normaliser |Σ q·k·D| away from its kink at 0 (where a difference quotient is meaningless):
            // a shared direction in q and k fixes the sign of q·k, positive in some cases and negative in others
            float sign = chunk % 2 == 0 ? 1f : -1f;
            for (long i = 0; i < q.size(); i++) {
                q.set(i, q.get(i) * 0.5f + sign);
                k.set(i, k.get(i) * 0.5f + 1f);
            }
            Tensor h = zeros(b, s, nh * dv), dh = zeros(b, s, nh * dv);
            Tensor dq = zeros(b, s, nh * dk), dkk = zeros(b, s, nh * dk), dvv = zeros(b, s, nh * dv), di = zeros(b, s, nh), df = zeros(b, s, nh);
            double[] p = projection(16, h.size());
            seed(p, dh);
            grad.mlstmChunkwiseBackward(q, k, v, ig, fg, m0, chunk, 1e-6f, dh, dq, dkk, dvv, di, df);
            new FiniteDifferences(17, H, 16).wrt("q", q, dq).wrt("k", k, dkk).wrt("v", v, dvv).wrt("i", ig, di).wrt("f", fg, df)
                    .check("mLSTM chunk=" + chunk + " m0=" + m0, () -> {
                        Tensor cs = zeros(b, nh, dk, dv), ns = zeros(b, nh, dk), ms = zeros(b, nh);
                        ms.fill(m0);
                        ops.mlstmChunkwise(q, k, v, ig, fg, cs, ns, ms, chunk, 1e-6f, h);
                        return dot(p, h);
                    }, TOL);
        }
    }

    @Test
    void mlstmEpsTermThroughTheStabiliser() {
        // With tiny keys the normaliser is exp(−m) and h depends on m through eps: the row-maximum gradient matters.
        int b = 1, s = 6, nh = 1, dk = 2, dv = 2;
        Tensor q = random(arena, rnd, 1e-3, b, s, dk), k = random(arena, rnd, 1e-3, b, s, dk), v = random(arena, rnd, 1, b, s, dv);
        Tensor ig = random(arena, rnd, 3, b, s, nh), fg = random(arena, rnd, 1, b, s, nh);
        for (long i = 0; i < ig.size(); i++) ig.set(i, ig.get(i) + 14f);
        Tensor h = zeros(b, s, dv), dh = zeros(b, s, dv);
        Tensor dq = zeros(b, s, dk), dkk = zeros(b, s, dk), dvv = zeros(b, s, dv), di = zeros(b, s, nh), df = zeros(b, s, nh);
        double[] p = projection(18, h.size());
        seed(p, dh);
        grad.mlstmChunkwiseBackward(q, k, v, ig, fg, Float.NEGATIVE_INFINITY, 8, 1e-6f, dh, dq, dkk, dvv, di, df);
        new FiniteDifferences(19, 1e-2, 12).wrt("i", ig, di).wrt("f", fg, df).check("mLSTM eps regime", () -> {
            ops.mlstmParallel(q, k, v, ig, fg, 1e-6f, h);
            return dot(p, h);
        }, TOL);
    }

    @Test
    void slstmThroughTime() {
        int b = 2, s = 7, nh = 2, dh = 3, d = nh * dh;
        Tensor xi = random(arena, rnd, 1, b, s, d), xf = random(arena, rnd, 1, b, s, d), xz = random(arena, rnd, 1, b, s, d),
                xo = random(arena, rnd, 1, b, s, d);
        Tensor r = random(arena, rnd, 0.4, nh, dh, 4, dh), bias = random(arena, rnd, 1, nh, 4, dh);
        Tensor y = zeros(b, s, d), dy = zeros(b, s, d);
        Tensor dxi = zeros(b, s, d), dxf = zeros(b, s, d), dxz = zeros(b, s, d), dxo = zeros(b, s, d), dr = zeros(nh, dh, 4, dh), dbias = zeros(nh, 4, dh);
        double[] p = projection(20, y.size());
        seed(p, dy);
        grad.slstmBackward(xi, xf, xz, xo, r, bias, dy, dxi, dxf, dxz, dxo, dr, dbias);
        new FiniteDifferences(21, H, 16).wrt("xi", xi, dxi).wrt("xf", xf, dxf).wrt("xz", xz, dxz).wrt("xo", xo, dxo)
                .wrt("r", r, dr).wrt("bias", bias, dbias).check("sLSTM", () -> {
                    Tensor hs = zeros(b, d), cs = zeros(b, d), ns = zeros(b, d), ms = zeros(b, d);
                    ops.slstmRecurrent(xi, xf, xz, xo, r, bias, hs, cs, ns, ms, y);
                    return dot(p, y);
                }, TOL);
    }

    @Test
    void crossEntropyIgnoresMinusOne() {
        int rows = 5, vocab = 7;
        Tensor logits = random(arena, rnd, 2, rows, vocab), dl = zeros(rows, vocab);
        int[] targets = {3, -1, 0, 6, -1};
        double loss = grad.crossEntropy(logits, targets, dl);
        double manual = 0;
        for (int r : new int[] {0, 2, 3}) {
            double z = 0;
            for (int j = 0; j < vocab; j++) z += Math.exp(logits.at(r, j));
            manual += Math.log(z) - logits.at(r, targets[r]);
        }
        assertEquals(manual / 3, loss, 1e-6);
        for (int j = 0; j < vocab; j++) assertEquals(0f, dl.at(1, j), "ignored rows get no gradient");
        new FiniteDifferences(22, 1e-2, 35).wrt("logits", logits, dl).check("crossEntropy",
                () -> grad.crossEntropy(logits, targets, null), TOL);
        assertTrue(Double.isNaN(grad.crossEntropy(logits, new int[] {-1, -1, -1, -1, -1}, null)), "no counted row: NaN as torch");
        assertThrows(IllegalArgumentException.class, () -> grad.crossEntropy(logits, new int[] {0, 1, 2, 7, 0}, null));
    }
}
