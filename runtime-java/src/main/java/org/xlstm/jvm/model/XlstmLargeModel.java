package org.xlstm.jvm.model;

import java.lang.foreign.Arena;
import java.util.Map;
import org.xlstm.jvm.backend.Ops;
import org.xlstm.jvm.config.XlstmLargeConfig;
import org.xlstm.jvm.nn.BlockObserver;
import org.xlstm.jvm.nn.Embedding;
import org.xlstm.jvm.nn.Gradients;
import org.xlstm.jvm.nn.Init;
import org.xlstm.jvm.nn.Linear;
import org.xlstm.jvm.nn.Mode;
import org.xlstm.jvm.nn.ParamSource;
import org.xlstm.jvm.nn.RecordingParams;
import org.xlstm.jvm.nn.Training;
import org.xlstm.jvm.nn.XlstmLargeBlockStack;
import org.xlstm.jvm.tensor.Tensor;
import org.xlstm.jvm.tensor.Workspace;

/**
 * The xLSTM-7B architecture (official xLSTMLarge): embedding → mLSTM blocks → out_norm → lm_head, logits
 * soft-capped at output_logit_soft_cap.
 */
public final class XlstmLargeModel implements TrainableLanguageModel {
    private final XlstmLargeConfig config;
    private final Ops ops;
    private final Arena arena;
    private final Workspace ws;
    private final Embedding embedding;
    private final XlstmLargeBlockStack backbone;
    private final Linear lmHead;
    private final TrainingSupport training;
    private final int chunkSize;
    private int[] flat;
    private Tensor lastLogits;

    private XlstmLargeModel(XlstmLargeConfig config, Ops ops, Arena arena, Embedding embedding,
                            XlstmLargeBlockStack backbone, Linear lmHead, Map<String, Tensor> parameters, int chunkSize) {
        this.chunkSize = chunkSize;
        this.config = config;
        this.ops = ops;
        this.ws = ops.newWorkspace();
        this.arena = arena;
        this.embedding = embedding;
        this.backbone = backbone;
        this.lmHead = lmHead;
        this.training = new TrainingSupport(parameters).on(ops);
    }

    public static XlstmLargeModel build(XlstmLargeConfig c, ParamSource source, Ops ops, Arena arena, int chunkSize) {
        RecordingParams params = new RecordingParams(source);
        int d = c.embeddingDim(), v = c.vocabSize();
        Embedding emb = new Embedding(params.get("embedding.weight", Init.normal(1.0), v, d));
        XlstmLargeBlockStack backbone = XlstmLargeBlockStack.load(params, c, chunkSize);
        Linear head = new Linear(params.get("lm_head.weight", Init.torchDefault(d), v, d), null);
        return new XlstmLargeModel(c, ops, arena, emb, backbone, head, params.parameters(), chunkSize);
    }

    @Override
    public XlstmLargeConfig config() { return config; }

    @Override
    public Ops ops() { return ops; }

    @Override
    public int vocabSize() { return config.vocabSize(); }

    @Override
    public ModelState newState(int batch) { return new ModelState(batch, backbone.newStates(ops, batch)); }

    @Override
    public Tensor forward(int[][] tokens, ModelState state, Mode mode, BlockObserver observer) {
        return TokenBatch.dispatch(ops, this, tokens, state, mode, observer, this::forwardNow);
    }

    private Tensor forwardNow(int[][] tokens, ModelState state, Mode mode, BlockObserver observer) {
        training.beforeForward();
        ws.reset();
        flat = TokenBatch.flatten(tokens, flat);
        int b = tokens.length, s = tokens[0].length;
        Tensor x = ws.take(b, s, config.embeddingDim());
        embedding.forward(ops, flat, x);
        Tensor logits = ws.take(b, s, config.vocabSize());
        backbone.forwardLogits(ops, ws, x, state == null ? null : state.blocks(), mode, observer, lmHead,
                (float) config.outputLogitSoftCap(), logits);
        return logits;
    }

    // ---------------------------------------------------------------- training

    @Override
    public Map<String, Tensor> parameters() { return training.parameters(); }

    @Override
    public Gradients gradients() { return training.gradients(); }

    @Override
    public void parametersChanged() { training.parametersChanged(); }

    @Override
    public double lossAndGradients(int[] inputs, int[] targets, int batch, int seqLen, long dropoutSeed, int meanOver) {
        TrainingSupport.check(inputs, targets, batch, seqLen, config.vocabSize());
        training.beforeForward();
        ws.reset();
        Training tr = training.training(ops, ws, 0f);
        tr.newStep(dropoutSeed);
        int d = config.embeddingDim(), v = config.vocabSize();
        Tensor x = ws.take(batch, seqLen, d);
        embedding.forward(ops, inputs, x);
        XlstmLargeBlockStack.Tape st = backbone.forwardTrain(tr, x);
        Tensor raw = ws.take(batch, seqLen, v), logits = raw, dLogits = ws.take(batch, seqLen, v);
        lmHead.forward(ops, st.output(), raw);
        float cap = (float) config.outputLogitSoftCap();
        double loss;
        if (cap > 0) {
            logits = ws.take(batch, seqLen, v);
            loss = tr.grad().crossEntropySoftCapped(ops, raw, cap, targets, logits, dLogits, meanOver);
        } else {
            loss = tr.grad().crossEntropy(logits, targets, dLogits, meanOver);
        }
        lastLogits = logits;
        Tensor dh = ws.take(batch, seqLen, d);
        lmHead.backward(tr, st.output(), dLogits, dh, false);
        Tensor dx = ws.take(batch, seqLen, d);
        backbone.backward(tr, st, dh, dx);
        embedding.backward(tr, inputs, dx);
        training.afterBackward();
        return loss;
    }

    @Override
    public XlstmLargeModel replica() {
        Arena own = Arena.ofShared();
        return build(config, new ReplayParams(parameters(), own), ops, own, chunkSize);
    }

    @Override
    public Tensor lastLogits() { return lastLogits; }

    @Override
    public double loss(int[] inputs, int[] targets, int batch, int seqLen) {
        TrainingSupport.check(inputs, targets, batch, seqLen, config.vocabSize());
        Tensor logits = forward(TrainingSupport.rows(inputs, batch, seqLen), Mode.CHUNKWISE);
        return training.training(ops, ws, 0f).grad().crossEntropy(logits, targets, null);
    }

    @Override
    public void close() {
        training.close();
        ws.close();
        arena.close();
    }
}
