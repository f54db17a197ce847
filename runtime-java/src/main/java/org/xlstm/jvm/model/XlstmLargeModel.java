package org.xlstm.jvm.model;

import java.lang.foreign.Arena;
import org.xlstm.jvm.backend.Ops;
import org.xlstm.jvm.config.XlstmLargeConfig;
import org.xlstm.jvm.nn.BlockObserver;
import org.xlstm.jvm.nn.Embedding;
import org.xlstm.jvm.nn.Init;
import org.xlstm.jvm.nn.Linear;
import org.xlstm.jvm.nn.Mode;
import org.xlstm.jvm.nn.ParamSource;
import org.xlstm.jvm.nn.XlstmLargeBlockStack;
import org.xlstm.jvm.tensor.Tensor;
import org.xlstm.jvm.tensor.Workspace;

/**
 * The xLSTM-7B architecture (official xLSTMLarge): embedding → mLSTM blocks → out_norm → lm_head, logits
 * soft-capped at output_logit_soft_cap.
 */
public final class XlstmLargeModel implements LanguageModel {
    private final XlstmLargeConfig config;
    private final Ops ops;
    private final Arena arena;
    private final Workspace ws = new Workspace();
    private final Embedding embedding;
    private final XlstmLargeBlockStack backbone;
    private final Linear lmHead;
    private int[] flat;

    private XlstmLargeModel(XlstmLargeConfig config, Ops ops, Arena arena, Embedding embedding,
                            XlstmLargeBlockStack backbone, Linear lmHead) {
        this.config = config;
        this.ops = ops;
        this.arena = arena;
        this.embedding = embedding;
        this.backbone = backbone;
        this.lmHead = lmHead;
    }

    public static XlstmLargeModel build(XlstmLargeConfig c, ParamSource params, Ops ops, Arena arena, int chunkSize) {
        int d = c.embeddingDim(), v = c.vocabSize();
        Embedding emb = new Embedding(params.get("embedding.weight", Init.normal(1.0), v, d));
        XlstmLargeBlockStack backbone = XlstmLargeBlockStack.load(params, c, chunkSize);
        Linear head = new Linear(params.get("lm_head.weight", Init.torchDefault(d), v, d), null);
        return new XlstmLargeModel(c, ops, arena, emb, backbone, head);
    }

    @Override
    public XlstmLargeConfig config() { return config; }

    @Override
    public Ops ops() { return ops; }

    @Override
    public int vocabSize() { return config.vocabSize(); }

    @Override
    public ModelState newState(int batch) { return new ModelState(batch, backbone.newStates(batch)); }

    @Override
    public Tensor forward(int[][] tokens, ModelState state, Mode mode, BlockObserver observer) {
        if (state != null && state.batch() != tokens.length)
            throw new IllegalArgumentException("state is for batch " + state.batch() + ", tokens have " + tokens.length + " rows");
        ws.reset();
        flat = TokenBatch.flatten(tokens, flat);
        int b = tokens.length, s = tokens[0].length;
        Tensor x = ws.take(b, s, config.embeddingDim());
        embedding.forward(ops, flat, x);
        Tensor h = backbone.forward(ops, ws, x, state == null ? null : state.blocks(), mode, observer);
        Tensor logits = ws.take(b, s, config.vocabSize());
        lmHead.forward(ops, h, logits);
        if (config.outputLogitSoftCap() > 0) ops.softCap(logits, (float) config.outputLogitSoftCap(), logits);
        return logits;
    }

    @Override
    public void close() {
        ws.close();
        arena.close();
    }
}
