package org.xlstm.jvm.model;

import java.lang.foreign.Arena;
import java.util.Map;
import org.xlstm.jvm.backend.GradOps;
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
public final class XlstmLmModel implements LanguageModel {
    /** Chunk length of the chunkwise mLSTM form unless told otherwise. */
    public static final int DEFAULT_CHUNK = 64;

    private final XlstmConfig config;
    private final Ops ops;
    private final Arena arena;
    private final Workspace ws = new Workspace();
    private final Embedding embedding;
    private final XlstmBlockStack stack;
    private final Linear lmHead;
    private final Map<String, Tensor> parameters;
    private int[] flat;
    private Gradients gradients;
    private Training training;
    /** Set when gradients were handed out: an optimizer may have changed the parameters in place since. */
    private boolean parametersMayHaveChanged;

    private XlstmLmModel(XlstmConfig config, Ops ops, Arena arena, Embedding embedding, XlstmBlockStack stack, Linear lmHead,
                         Map<String, Tensor> parameters) {
        this.config = config;
        this.ops = ops;
        this.arena = arena;
        this.embedding = embedding;
        this.stack = stack;
        this.lmHead = lmHead;
        this.parameters = parameters;
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
        return new XlstmLmModel(c, ops, arena, emb, stack, head, params.parameters());
    }

    @Override
    public XlstmConfig config() { return config; }

    @Override
    public Ops ops() { return ops; }

    @Override
    public int vocabSize() { return config.vocabSize(); }

    @Override
    public ModelState newState(int batch) { return new ModelState(batch, stack.newStates(batch)); }

    @Override
    public Tensor forward(int[][] tokens, ModelState state, Mode mode, BlockObserver observer) {
        if (state != null && state.batch() != tokens.length)
            throw new IllegalArgumentException("state is for batch " + state.batch() + ", tokens have " + tokens.length + " rows");
        refreshIfTrained();
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

    /** The trainable parameters under their official names, each once (a tied lm_head is the embedding), in official order. */
    public Map<String, Tensor> parameters() { return parameters; }

    /** The gradient buffers, one per parameter (allocated on first use, zero then). */
    public Gradients gradients() {
        if (gradients == null) gradients = new Gradients(parameters);
        return gradients;
    }

    /**
     * Declares that the parameters were changed in place (an optimizer step, a load): layers drop what they derived
     * from the old values. Done automatically before the next forward after any gradient computation.
     */
    public void parametersChanged() {
        for (Tensor p : parameters.values()) p.markModified();
        parametersMayHaveChanged = false;
    }

    private void refreshIfTrained() {
        if (parametersMayHaveChanged) parametersChanged();
    }

    /**
     * One training forward and backward on a batch from the zero state: returns the mean cross-entropy of the
     * logits against {@code targets} (-1 = not scored; as torch's {@code cross_entropy(ignore_index=-1)}) and adds
     * its gradient to {@link #gradients()} (zero them first; adding is what gradient accumulation over
     * micro-batches needs). Dropout, when the config has any, draws its masks from {@code dropoutSeed}.
     *
     * @param inputs  token ids, row-major {@code [batch, seqLen]}
     * @param targets next-token ids, same layout
     */
    public double lossAndGradients(int[] inputs, int[] targets, int batch, int seqLen, long dropoutSeed) {
        check(inputs, targets, batch, seqLen);
        refreshIfTrained();
        ws.reset();
        Training tr = training();
        tr.newStep(dropoutSeed);
        int d = config.embeddingDim(), v = config.vocabSize();
        Tensor x = ws.take(batch, seqLen, d);
        embedding.forward(ops, inputs, x);
        float embDrop = config.addEmbeddingDropout() ? tr.dropout() : 0f;
        long embSeed = tr.dropoutForward(x, embDrop);
        XlstmBlockStack.Tape st = stack.forwardTrain(tr, x);
        Tensor logits = ws.take(batch, seqLen, v);
        lmHead.forward(ops, st.output(), logits);
        double loss = tr.grad().crossEntropy(logits, targets, logits); // logits now hold their gradient
        Tensor dh = ws.take(batch, seqLen, d);
        lmHead.backward(tr, st.output(), logits, dh, false);
        Tensor dx = ws.take(batch, seqLen, d);
        stack.backward(tr, st, dh, dx);
        tr.dropoutBackward(dx, embDrop, embSeed);
        embedding.backward(tr, inputs, dx);
        parametersMayHaveChanged = true;
        return loss;
    }

    /** The mean cross-entropy of a batch without gradients (the inference forward; no dropout). */
    public double loss(int[] inputs, int[] targets, int batch, int seqLen) {
        check(inputs, targets, batch, seqLen);
        int[][] rows = new int[batch][];
        for (int b = 0; b < batch; b++) rows[b] = java.util.Arrays.copyOfRange(inputs, b * seqLen, (b + 1) * seqLen);
        Tensor logits = forward(rows, Mode.PARALLEL);
        return training().grad().crossEntropy(logits, targets, null);
    }

    private Training training() {
        if (training == null)
            training = new Training(ops, GradOps.forOps(ops), ws, gradients(), (float) config.dropout(), 0L);
        return training;
    }

    private void check(int[] inputs, int[] targets, int batch, int seqLen) {
        if (batch <= 0 || seqLen <= 0) throw new IllegalArgumentException("batch shape must be positive; got [" + batch + ", " + seqLen + "]");
        if (inputs.length != batch * seqLen || targets.length != batch * seqLen)
            throw new IllegalArgumentException("batch [" + batch + ", " + seqLen + "] needs " + batch * seqLen
                    + " inputs and targets; got " + inputs.length + " and " + targets.length);
        int vocab = config.vocabSize();
        for (int i = 0; i < inputs.length; i++)
            if (inputs[i] < 0 || inputs[i] >= vocab)
                throw new IllegalArgumentException("input id " + inputs[i] + " at [" + i / seqLen + ", " + i % seqLen
                        + "] is outside the vocabulary [0, " + vocab + ")");
    }

    @Override
    public void close() {
        if (gradients != null) gradients.close();
        ws.close();
        arena.close();
    }
}
