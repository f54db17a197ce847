package org.xlstm.jvm.model;

import java.lang.foreign.Arena;
import java.util.Map;
import org.xlstm.jvm.backend.Ops;
import org.xlstm.jvm.config.XlstmConfig;
import org.xlstm.jvm.nn.BlockObserver;
import org.xlstm.jvm.nn.Embedding;
import org.xlstm.jvm.nn.Gradients;
import org.xlstm.jvm.nn.Init;
import org.xlstm.jvm.nn.Linear;
import org.xlstm.jvm.nn.Mode;
import org.xlstm.jvm.nn.ParamSource;
import org.xlstm.jvm.nn.RecordingParams;
import org.xlstm.jvm.nn.Training;
import org.xlstm.jvm.nn.XlstmBlockStack;
import org.xlstm.jvm.tensor.Tensor;
import org.xlstm.jvm.tensor.Workspace;

/**
 * The xLSTM language model (official xLSTMLMModel): token_embedding → blocks → post_blocks_norm → lm_head, the
 * head sharing the embedding matrix when tie_weights (both names may then appear in a checkpoint).
 */
public final class XlstmLmModel implements TrainableLanguageModel {
    /** Chunk length of the chunkwise mLSTM form unless told otherwise. */
    public static final int DEFAULT_CHUNK = 64;

    private final XlstmConfig config;
    private final Ops ops;
    private final Arena arena;
    private final Workspace ws;
    private final Embedding embedding;
    private final XlstmBlockStack stack;
    private final Linear lmHead;
    private final TrainingSupport training;
    private final int chunkSize;
    private int[] flat;
    private Tensor lastLogits;

    private XlstmLmModel(XlstmConfig config, Ops ops, Arena arena, Embedding embedding, XlstmBlockStack stack, Linear lmHead,
                         Map<String, Tensor> parameters, int chunkSize) {
        this.chunkSize = chunkSize;
        this.config = config;
        this.ops = ops;
        this.ws = ops.newWorkspace();
        this.arena = arena;
        this.embedding = embedding;
        this.stack = stack;
        this.lmHead = lmHead;
        this.training = new TrainingSupport(parameters).on(ops);
    }

    /** Builds the model from {@code params}; the arena holds the parameters and is closed with the model. */
    public static XlstmLmModel build(XlstmConfig c, ParamSource source, Ops ops, Arena arena, int chunkSize) {
        RecordingParams params = new RecordingParams(source);
        int d = c.embeddingDim(), v = c.vocabSize();
        Embedding emb = new Embedding(params.get("token_embedding.weight", Init.smallInit(d), v, d));
        XlstmBlockStack stack = XlstmBlockStack.load(params, c, chunkSize);
        Linear head;
        if (c.tieWeights()) {
            params.allow("lm_head.weight");
            head = new Linear(emb.table(), null);
        } else {
            head = new Linear(params.get("lm_head.weight", Init.smallInit(d), v, d), null);
        }
        return new XlstmLmModel(c, ops, arena, emb, stack, head, params.parameters(), chunkSize);
    }

    @Override
    public XlstmConfig config() { return config; }

    @Override
    public Ops ops() { return ops; }

    @Override
    public int vocabSize() { return config.vocabSize(); }

    @Override
    public ModelState newState(int batch) { return new ModelState(batch, stack.newStates(ops, batch)); }

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
        Tensor h = stack.forward(ops, ws, x, state == null ? null : state.blocks(), mode, observer);
        Tensor logits = ws.take(b, s, config.vocabSize());
        lmHead.forward(ops, h, logits);
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
        Training tr = training.training(ops, ws, (float) config.dropout());
        tr.newStep(dropoutSeed);
        int d = config.embeddingDim(), v = config.vocabSize();
        Tensor x = ws.take(batch, seqLen, d);
        embedding.forward(ops, inputs, x);
        float embDrop = config.addEmbeddingDropout() ? tr.dropout() : 0f;
        long embSeed = tr.dropoutForward(x, embDrop);
        XlstmBlockStack.Tape st = stack.forwardTrain(tr, x);
        Tensor logits = ws.take(batch, seqLen, v), dLogits = ws.take(batch, seqLen, v);
        lmHead.forward(ops, st.output(), logits);
        lastLogits = logits;
        double loss = tr.grad().crossEntropy(logits, targets, dLogits, meanOver);
        Tensor dh = ws.take(batch, seqLen, d);
        lmHead.backward(tr, st.output(), dLogits, dh, false);
        Tensor dx = ws.take(batch, seqLen, d);
        stack.backward(tr, st, dh, dx);
        tr.dropoutBackward(dx, embDrop, embSeed);
        embedding.backward(tr, inputs, dx);
        training.afterBackward();
        return loss;
    }

    @Override
    public XlstmLmModel replica() {
        Arena own = Arena.ofShared();
        return build(config, new ReplayParams(parameters(), own), ops, own, chunkSize);
    }

    @Override
    public Tensor lastLogits() { return lastLogits; }

    @Override
    public double loss(int[] inputs, int[] targets, int batch, int seqLen) {
        TrainingSupport.check(inputs, targets, batch, seqLen, config.vocabSize());
        Tensor logits = forward(TrainingSupport.rows(inputs, batch, seqLen), Mode.PARALLEL);
        return training.training(ops, ws, (float) config.dropout()).grad().crossEntropy(logits, targets, null);
    }

    @Override
    public void close() {
        training.close();
        ws.close();
        arena.close();
    }
}
