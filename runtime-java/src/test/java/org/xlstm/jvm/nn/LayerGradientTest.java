package org.xlstm.jvm.nn;

import static org.xlstm.jvm.backend.FiniteDifferences.dot;
import static org.xlstm.jvm.backend.FiniteDifferences.projection;
import static org.xlstm.jvm.backend.FiniteDifferences.seed;

import java.lang.foreign.Arena;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.function.Function;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.xlstm.jvm.backend.FiniteDifferences;
import org.xlstm.jvm.backend.ReferenceGradOps;
import org.xlstm.jvm.backend.ReferenceOps;
import org.xlstm.jvm.config.Activation;
import org.xlstm.jvm.config.BiasInit;
import org.xlstm.jvm.config.FeedForwardConfig;
import org.xlstm.jvm.config.MlstmLayerConfig;
import org.xlstm.jvm.config.RecurrentWeightInit;
import org.xlstm.jvm.config.SlstmBackend;
import org.xlstm.jvm.config.SlstmLayerConfig;
import org.xlstm.jvm.config.WeightMode;
import org.xlstm.jvm.config.XlstmLargeConfig;
import org.xlstm.jvm.config.XlstmLargeConfigBuilder;
import org.xlstm.jvm.model.InitParams;
import org.xlstm.jvm.tensor.Tensor;
import org.xlstm.jvm.tensor.Workspace;

/**
 * Every layer's backward against finite differences of its training forward, on small random shapes, with the
 * reference backends: the gradient with respect to the input and to every parameter (a random sample of elements
 * of each), parameters drawn by the official initialisers and then perturbed so that no weight is at a special
 * value (the zero-initialised gate and recurrent weights especially). See {@link FiniteDifferences} for why the
 * float32 forward still gives meaningful quotients.
 */
class LayerGradientTest {
    private static final double TOL = 2e-3;
    private final Arena arena = Arena.ofShared();
    private final Workspace ws = new Workspace();
    private final SplittableRandom rnd = new SplittableRandom(3);

    @AfterEach
    void close() {
        ws.close();
        arena.close();
    }

    /** Parameters requested by {@code build} are recorded, perturbed, and get gradient buffers. */
    private <L> Built<L> build(Function<ParamSource, L> build) {
        RecordingParams rec = new RecordingParams(new InitParams(arena, rnd.nextLong()));
        L layer = build.apply(rec);
        for (Tensor t : rec.parameters().values()) {
            for (long i = 0; i < t.size(); i++) t.set(i, t.get(i) + (float) (0.3 * rnd.nextGaussian()));
            t.markModified();
        }
        Gradients g = new Gradients(rec.parameters());
        return new Built<>(layer, rec.parameters(), g,
                new Training(new ReferenceOps(), new ReferenceGradOps(), ws, g, 0f, 0L));
    }

    private record Built<L>(L layer, Map<String, Tensor> params, Gradients grads, Training tr) {}

    private Tensor random(double scale, int... shape) {
        Tensor t = Tensor.allocate(arena, shape);
        for (long i = 0; i < t.size(); i++) t.set(i, (float) (scale * rnd.nextGaussian()));
        return t;
    }

    private Tensor stable(Tensor t) {
        Tensor c = Tensor.allocate(arena, t.shape());
        c.copyFrom(t);
        return c;
    }

    interface Forward {
        /** Runs the training forward of x into y and returns the tape (or null). */
        Object run(Tensor x, Tensor y);
    }

    interface Backward {
        void run(Object tape, Tensor x, Tensor dy, Tensor dx);
    }

    /**
     * Analytic gradients from {@code backward}, then finite differences of the projected output of {@code forward}
     * with respect to x and every parameter.
     */
    private void check(String what, Built<?> b, Tensor x, int[] outShape, Forward forward, Backward backward) {
        check(what, b, x, outShape, forward, backward, H);
    }

    private void check(String what, Built<?> b, Tensor x, int[] outShape, Forward forward, Backward backward, double h) {
        double[] p = projection(rnd.nextLong(), Tensor.allocate(arena, outShape).size());
        b.grads().zero();
        ws.reset();
        Tensor y = ws.take(outShape), dy = ws.take(outShape), dx = ws.take(x.shape());
        Object tape = forward.run(x, y);
        seed(p, dy);
        backward.run(tape, x, dy, dx);
        Tensor dxs = stable(dx);
        FiniteDifferences fd = new FiniteDifferences(rnd.nextLong(), h, 6).wrt("x", x, dxs);
        for (var e : b.params().entrySet()) fd.wrt(e.getKey(), e.getValue(), b.grads().get(e.getKey()));
        fd.check(what, () -> {
            ws.reset();
            Tensor yy = ws.take(outShape);
            forward.run(x, yy);
            return dot(p, yy);
        }, TOL);
    }

    private static final int B = 2, S = 7, D = 8;
    private static final double H = 1e-2;

    @Test
    void components() {
        Built<Linear> lin = build(p -> Linear.load(p, "lin", 5, 7, true, Init.smallInit(7)));
        check("Linear", lin, random(1, 3, 7), new int[] {3, 5},
                (x, y) -> { lin.layer().forward(lin.tr().ops(), x, y); return null; },
                (t, x, dy, dx) -> lin.layer().backward(lin.tr(), x, dy, dx, false));

        Built<LinearHeadwiseExpand> hw = build(p -> LinearHeadwiseExpand.load(p, "hw", 12, 3, true, Init.smallInit(12)));
        check("LinearHeadwiseExpand", hw, random(1, 4, 12), new int[] {4, 12},
                (x, y) -> { hw.layer().forward(hw.tr().ops(), x, y); return null; },
                (t, x, dy, dx) -> hw.layer().backward(hw.tr(), x, dy, dx, false));

        Built<LayerNorm> ln = build(p -> LayerNorm.xlstm(p, "ln", D, true));
        check("LayerNorm", ln, random(2, 3, D), new int[] {3, D},
                (x, y) -> { ln.layer().forward(ln.tr().ops(), x, y); return null; },
                (t, x, dy, dx) -> ln.layer().backward(ln.tr(), x, dy, dx, false));

        Built<RmsNorm> rms = build(p -> RmsNorm.load(p, "rms", D, 1e-6f, true));
        check("RmsNorm", rms, random(2, 3, D), new int[] {3, D},
                (x, y) -> { rms.layer().forward(rms.tr().ops(), x, y); return null; },
                (t, x, dy, dx) -> rms.layer().backward(rms.tr(), x, dy, dx, false));

        Built<MultiHeadLayerNorm> mh = build(p -> MultiHeadLayerNorm.xlstm(p, "mh", 2, D));
        check("MultiHeadLayerNorm", mh, random(1, 3, D), new int[] {3, D},
                (x, y) -> { mh.layer().forward(mh.tr().ops(), x, y); return null; },
                (t, x, dy, dx) -> mh.layer().backward(mh.tr(), x, dy, dx));

        Built<CausalConv1d> conv = build(p -> CausalConv1d.load(p, "conv", D, 4));
        check("CausalConv1d", conv, random(1, B, S, D), new int[] {B, S, D},
                (x, y) -> { conv.layer().forward(conv.tr().ops(), x, null, y); return null; },
                (t, x, dy, dx) -> conv.layer().backward(conv.tr(), x, dy, dx));
    }

    @Test
    void embeddingScatterAdd() {
        Built<Embedding> emb = build(p -> new Embedding(p.get("emb", Init.normal(1), 5, D)));
        int[] tokens = {1, 4, 1, 0, 3, 1};
        Tensor table = emb.params().get("emb");
        double[] p = projection(9, (long) tokens.length * D);
        emb.grads().zero();
        ws.reset();
        Tensor dy = ws.take(tokens.length, D);
        seed(p, dy);
        emb.layer().backward(emb.tr(), tokens, dy);
        new FiniteDifferences(5, 1e-2, 40).wrt("table", table, emb.grads().get("emb")).check("Embedding", () -> {
            ws.reset();
            Tensor y = ws.take(tokens.length, D);
            emb.layer().forward(emb.tr().ops(), tokens, y);
            return dot(p, y);
        }, TOL);
    }

    @Test
    void gatedFeedForwardWithEveryActivation() {
        for (Activation act : Activation.values()) {
            Built<GatedFeedForward> ff = build(p -> GatedFeedForward.xlstm(p, "ffn", D, 12, true, act, 2));
            check("GatedFeedForward " + act, ff, random(1, B, S, D), new int[] {B, S, D},
                    (x, y) -> ff.layer().forwardTrain(ff.tr(), x, y, 0f),
                    (t, x, dy, dx) -> ff.layer().backward(ff.tr(), (GatedFeedForward.Tape) t, dy, dx, false));
        }
    }

    @Test
    void mlstmCellLayerAndBlock() {
        // S = 7 over chunks of 4: the chunkwise backward across a chunk boundary
        Built<MlstmCell> cell = build(p -> MlstmCell.load(p, "cell", 16, 2, 4));
        Tensor q = random(1, B, S, 16), k = random(1, B, S, 16), v = random(1, B, S, 16);
        // x packs q, k, v side by side so one input tensor carries all three gradients
        check("MlstmCell", cell, random(1, B, S, 48), new int[] {B, S, 16}, (x, y) -> {
            split(x, q, k, v);
            return cell.layer().forwardTrain(cell.tr(), q, k, v, y);
        }, (t, x, dy, dx) -> {
            Tensor dq = ws.take(B, S, 16), dk = ws.take(B, S, 16), dv = ws.take(B, S, 16);
            cell.layer().backward(cell.tr(), (MlstmCell.Tape) t, dy, dq, dk, dv);
            cell.tr().ops().concatColumns(new Tensor[] {dq, dk, dv}, dx);
        });

        Built<MlstmLayer> layer = build(p -> MlstmLayer.load(p, "layer", D, 16, 2, 3, 4, true, 2, 4));
        check("MlstmLayer", layer, random(1, B, S, D), new int[] {B, S, D},
                (x, y) -> layer.layer().forwardTrain(layer.tr(), x, y, 0f),
                (t, x, dy, dx) -> layer.layer().backward(layer.tr(), (MlstmLayer.Tape) t, dy, dx));

        MlstmLayerConfig mc = new MlstmLayerConfig(2, 2.0, 4, 4, true, 8, Map.of());
        Built<MlstmBlock> block = build(p -> MlstmBlock.load(p, "block", D, mc, false, 2, 4));
        checkBlock("MlstmBlock", block);
    }

    private void split(Tensor x, Tensor q, Tensor k, Tensor v) {
        new ReferenceGradOps().splitColumns(x, new Tensor[] {q, k, v}, false);
    }

    private void checkBlock(String what, Built<? extends TrainableBlock> b) {
        check(what, b, random(1, B, S, D), new int[] {B, S, D},
                (x, y) -> b.layer().forwardTrain(b.tr(), x, y),
                (t, x, dy, dx) -> b.layer().backward(b.tr(), (BlockTape) t, dy, dx));
    }

    @Test
    void slstmCellBothLayoutsLayerAndBlock() {
        for (SlstmBackend layout : SlstmBackend.values()) {
            SlstmLayerConfig sc = new SlstmLayerConfig(2, 3, layout, BiasInit.POWERLAW_BLOCKDEPENDENT,
                    RecurrentWeightInit.STANDARD, true, Map.of());
            Built<SlstmLayer> layer = build(p -> SlstmLayer.load(p, "layer", D, sc, 1, 2));
            check("SlstmLayer " + layout, layer, random(1, B, S, D), new int[] {B, S, D},
                    (x, y) -> layer.layer().forwardTrain(layer.tr(), x, y, 0f),
                    (t, x, dy, dx) -> layer.layer().backward(layer.tr(), (SlstmLayer.Tape) t, dy, dx));
        }
        SlstmLayerConfig noConv = new SlstmLayerConfig(2, 0, SlstmBackend.VANILLA, BiasInit.SMALL_INIT,
                RecurrentWeightInit.STANDARD, false, Map.of());
        Built<SlstmLayer> plain = build(p -> SlstmLayer.load(p, "plain", D, noConv, 0, 1));
        check("SlstmLayer without conv", plain, random(1, B, S, D), new int[] {B, S, D},
                (x, y) -> plain.layer().forwardTrain(plain.tr(), x, y, 0f),
                (t, x, dy, dx) -> plain.layer().backward(plain.tr(), (SlstmLayer.Tape) t, dy, dx));

        SlstmLayerConfig sc = new SlstmLayerConfig(2, 4, SlstmBackend.CUDA, BiasInit.POWERLAW_BLOCKDEPENDENT,
                RecurrentWeightInit.STANDARD, true, Map.of());
        Built<SlstmBlock> withFfn = build(p -> SlstmBlock.load(p, "b", D, sc, FeedForwardConfig.DEFAULTS.withProjFactor(1.5)
                .withRoundProjUpToMultipleOf(4), 0, 2));
        checkBlock("SlstmBlock with FFN", withFfn);
        Built<SlstmBlock> noFfn = build(p -> SlstmBlock.load(p, "b", D, sc, null, 1, 2));
        checkBlock("SlstmBlock without FFN", noFfn);
    }

    @Test
    void xlstm7bLayerAndBlock() {
        for (WeightMode mode : WeightMode.values()) {
            XlstmLargeConfig c = new XlstmLargeConfigBuilder().embeddingDim(D).numHeads(2).numBlocks(2).vocabSize(11)
                    .ffnRoundUpToMultipleOf(4).chunkSize(4).weightMode(mode).useBias(mode == WeightMode.FUSED)
                    .gateSoftCap(3.0).build();
            Built<MlstmLargeLayer> layer = sharpen(build(p -> MlstmLargeLayer.load(p, "layer", c, 4)));
            // small steps: the gated, soft-capped, normalised cell curves sharply at this scale
            check("MlstmLargeLayer " + mode, layer, random(1, B, S, D), new int[] {B, S, D},
                    (x, y) -> layer.layer().forwardTrain(layer.tr(), x, y),
                    (t, x, dy, dx) -> layer.layer().backward(layer.tr(), (MlstmLargeLayer.Tape) t, dy, dx), 1e-3);
            Built<MlstmLargeBlock> block = sharpen(build(p -> MlstmLargeBlock.load(p, "block", c, 4)));
            check("MlstmLargeBlock " + mode, block, random(1, B, S, D), new int[] {B, S, D},
                    (x, y) -> block.layer().forwardTrain(block.tr(), x, y),
                    (t, x, dy, dx) -> block.layer().backward(block.tr(), (BlockTape) t, dy, dx), 1e-3);
        }
    }

    /**
     * Larger query and key weights: the normaliser max(|q·n|, exp(−m)) then sits clearly on its |q·n| side instead of
     * near its kink (m starts at 0 in xLSTM-7B, so exp(−m) is about 1), where difference quotients are meaningless.
     */
    private static <L> Built<L> sharpen(Built<L> b) {
        b.params().forEach((name, t) -> {
            if (name.endsWith(".q.weight") || name.endsWith(".k.weight") || name.endsWith(".qkv_opreact.weight")) {
                for (long i = 0; i < t.size(); i++) t.set(i, 3f * t.get(i));
                t.markModified();
            }
        });
        return b;
    }

    @Test
    void dropoutMasksMatchBetweenForwardAndBackward() {
        MlstmLayerConfig mc = new MlstmLayerConfig(2, 2.0, 4, 4, true, 8, Map.of());
        Built<MlstmBlock> block = build(p -> MlstmBlock.load(p, "block", D, mc, false, 2, 4));
        Training tr = new Training(new ReferenceOps(), new ReferenceGradOps(), ws, block.grads(), 0.3f, 0L);
        Built<MlstmBlock> dropped = new Built<>(block.layer(), block.params(), block.grads(), tr);
        check("MlstmBlock with dropout 0.3", dropped, random(1, B, S, D), new int[] {B, S, D}, (x, y) -> {
            tr.newStep(77);
            return block.layer().forwardTrain(tr, x, y);
        }, (t, x, dy, dx) -> block.layer().backward(tr, (BlockTape) t, dy, dx));
    }
}
