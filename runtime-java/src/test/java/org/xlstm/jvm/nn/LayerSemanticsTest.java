package org.xlstm.jvm.nn;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.lang.foreign.Arena;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.xlstm.jvm.backend.Ops;
import org.xlstm.jvm.backend.ReferenceOps;
import org.xlstm.jvm.config.Activation;
import org.xlstm.jvm.config.BiasInit;
import org.xlstm.jvm.config.RecurrentWeightInit;
import org.xlstm.jvm.config.SlstmBackend;
import org.xlstm.jvm.tensor.Tensor;
import org.xlstm.jvm.tensor.Workspace;

/** Small hand-checked cases for the official conventions each layer encodes. */
class LayerSemanticsTest {
    private final Arena arena = Arena.ofShared();
    private final Ops ops = new ReferenceOps();
    private final Workspace ws = new Workspace();

    @AfterEach
    void close() {
        ws.close();
        arena.close();
    }

    /** A parameter source serving given values by name. */
    private ParamSource source(Map<String, float[]> values) {
        return new ParamSource() {
            @Override
            public Tensor get(String name, Init init, int... shape) {
                float[] v = values.get(name);
                if (v == null) throw new AssertionError("unexpected parameter " + name);
                return Tensor.of(arena, v, shape);
            }

            @Override
            public void allow(String name) {}

            @Override
            public Arena arena() { return arena; }
        };
    }

    private Tensor t(float[] v, int... shape) { return Tensor.of(arena, v, shape); }

    @Test
    void layerNormScalesByOnePlusWeight() {
        LayerNorm ln = LayerNorm.xlstm(source(Map.of("n.weight", new float[] {0f, 1f})), "n", 2, false);
        Tensor y = Tensor.allocate(arena, 1, 2);
        ln.forward(ops, t(new float[] {1f, 3f}, 1, 2), y);
        // normalised (−1, 1) up to eps; scale (1 + 0, 1 + 1)
        double s = 1 / Math.sqrt(1 + 1e-5);
        assertArrayEquals(new float[] {(float) -s, (float) (2 * s)}, y.toArray(), 1e-6f);
    }

    @Test
    void causalConvIsDepthwiseAndCausalWithTheLastTapOnTheCurrentInput() {
        // one channel, kernel (w0, w1, w2) = (1, 10, 100): y[t] = b + 100·x[t] + 10·x[t−1] + 1·x[t−2]
        CausalConv1d conv = CausalConv1d.load(source(Map.of("c.conv.weight", new float[] {1, 10, 100},
                "c.conv.bias", new float[] {0.5f})), "c", 1, 3);
        Tensor y = Tensor.allocate(arena, 1, 4, 1);
        conv.forward(ops, t(new float[] {1, 0, 0, 2}, 1, 4, 1), null, y);
        assertArrayEquals(new float[] {100.5f, 10.5f, 1.5f, 200.5f}, y.toArray());
    }

    @Test
    void headwiseProjectionMapsEachBlockByItsOwnMatrix() {
        // two blocks of 2: W[0] = [[1,2],[3,4]], W[1] = [[0,1],[1,0]]
        LinearHeadwiseExpand p = LinearHeadwiseExpand.load(source(Map.of("q.weight", new float[] {1, 2, 3, 4, 0, 1, 1, 0})),
                "q", 4, 2, false, Init.zeros());
        Tensor y = Tensor.allocate(arena, 1, 4);
        p.forward(ops, t(new float[] {1, 1, 5, 7}, 1, 4), y);
        assertArrayEquals(new float[] {3, 7, 7, 5}, y.toArray());
    }

    @Test
    void gatedFeedForwardTakesTheGateFromTheFirstHalf() {
        // D = 1, u = 1: proj_up rows (gate, up) = (2, 3), proj_down 1 → y = relu(2x)·3x
        GatedFeedForward ffn = GatedFeedForward.xlstm(source(Map.of("f.proj_up.weight", new float[] {2, 3},
                "f.proj_down.weight", new float[] {1})), "f", 1, 1, false, Activation.RELU, 1);
        Tensor y = Tensor.allocate(arena, 2, 1);
        ffn.forward(ops, ws, t(new float[] {1, -1}, 2, 1), y);
        assertArrayEquals(new float[] {6, 0}, y.toArray());
    }

    /** The same logical recurrent kernel and bias stored in the vanilla and in the cuda layout give the same cell. */
    @Test
    void bothSlstmLayoutsDescribeTheSameCell() {
        int nh = 2, dh = 3, d = nh * dh;
        float[] ext = new float[nh * dh * 4 * dh]; // (NH, DH_in, 4, DH_out)
        float[] biasExt = new float[nh * 4 * dh];  // (NH, 4, DH)
        for (int i = 0; i < ext.length; i++) ext[i] = (float) Math.sin(i * 0.7) * 0.5f;
        for (int i = 0; i < biasExt.length; i++) biasExt[i] = (float) Math.cos(i * 1.3);
        float[] vanillaR = new float[ext.length], vanillaB = new float[biasExt.length];
        for (int h = 0; h < nh; h++)
            for (int k = 0; k < dh; k++)
                for (int g = 0; g < 4; g++)
                    for (int j = 0; j < dh; j++) {
                        vanillaR[((h * 4 + g) * dh + j) * dh + k] = ext[((h * dh + k) * 4 + g) * dh + j];
                        if (k == 0) vanillaB[(g * nh + h) * dh + j] = biasExt[(h * 4 + g) * dh + j];
                    }
        SlstmCell cuda = SlstmCell.load(source(Map.of("s._recurrent_kernel_", ext, "s._bias_", biasExt)), "s", d, nh,
                SlstmBackend.CUDA, BiasInit.ZEROS, RecurrentWeightInit.ZEROS, 0, 1);
        SlstmCell vanilla = SlstmCell.load(source(Map.of("s._recurrent_kernel_", vanillaR, "s._bias_", vanillaB)), "s", d, nh,
                SlstmBackend.VANILLA, BiasInit.ZEROS, RecurrentWeightInit.ZEROS, 0, 1);
        Tensor[] x = new Tensor[4];
        for (int g = 0; g < 4; g++) {
            float[] v = new float[5 * d];
            for (int i = 0; i < v.length; i++) v[i] = (float) Math.sin(i + g);
            x[g] = t(v, 1, 5, d);
        }
        Tensor ya = Tensor.allocate(arena, 1, 5, d), yb = Tensor.allocate(arena, 1, 5, d);
        cuda.forward(ops, ws, x[0], x[1], x[2], x[3], null, ya);
        vanilla.forward(ops, ws, x[0], x[1], x[2], x[3], null, yb);
        assertArrayEquals(ya.toArray(), yb.toArray());
    }

    /** From the zero state the first step sets m = ĩ, so i = 1 and n = 1 whatever the forget gate. */
    @Test
    void slstmFirstStepTakesTheInputGateAsStabiliser() {
        int d = 2;
        Map<String, float[]> p = new HashMap<>();
        p.put("s._recurrent_kernel_", new float[1 * 2 * 4 * 2]);
        p.put("s._bias_", new float[4 * d]);
        SlstmCell cell = SlstmCell.load(source(p), "s", d, 1, SlstmBackend.CUDA, BiasInit.ZEROS, RecurrentWeightInit.ZEROS, 0, 1);
        SlstmState st = cell.newState(ops, 1);
        Tensor xi = t(new float[] {-7f, 3f}, 1, 1, d), xf = t(new float[] {50f, -50f}, 1, 1, d),
                xz = t(new float[] {0.5f, -0.5f}, 1, 1, d), xo = t(new float[] {0f, 0f}, 1, 1, d);
        Tensor y = Tensor.allocate(arena, 1, 1, d);
        cell.forward(ops, ws, xi, xf, xz, xo, st, y);
        assertArrayEquals(new float[] {-7f, 3f}, st.m().toArray());
        assertArrayEquals(new float[] {1f, 1f}, st.n().toArray());
        assertArrayEquals(new float[] {(float) Math.tanh(0.5), (float) Math.tanh(-0.5)}, st.c().toArray(), 1e-7f);
        // h = σ(0)·c/n
        assertEquals(0.5 * Math.tanh(0.5), y.get(0), 1e-7);
    }
}
