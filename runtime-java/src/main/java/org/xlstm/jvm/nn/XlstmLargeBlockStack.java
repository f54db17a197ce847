package org.xlstm.jvm.nn;

import java.util.ArrayList;
import java.util.List;
import org.xlstm.jvm.backend.Ops;
import org.xlstm.jvm.config.XlstmLargeConfig;
import org.xlstm.jvm.tensor.Tensor;
import org.xlstm.jvm.tensor.Workspace;

/** The xLSTM-7B backbone (official xLSTMLargeBlockStack): mLSTM blocks, then {@code out_norm} (RMSNorm) if enabled. */
public final class XlstmLargeBlockStack {
    private final List<MlstmLargeBlock> blocks;
    private final RmsNorm outNorm;

    private XlstmLargeBlockStack(List<MlstmLargeBlock> blocks, RmsNorm outNorm) {
        this.blocks = List.copyOf(blocks);
        this.outNorm = outNorm;
    }

    public static XlstmLargeBlockStack load(ParamSource p, XlstmLargeConfig c, int chunkSize) {
        List<MlstmLargeBlock> blocks = new ArrayList<>();
        for (int i = 0; i < c.numBlocks(); i++) blocks.add(MlstmLargeBlock.load(p, "backbone.blocks." + i, c, chunkSize));
        RmsNorm out = c.addOutNorm()
                ? RmsNorm.load(p, "backbone.out_norm", c.embeddingDim(), (float) c.normEps(), c.useBias()) : null;
        return new XlstmLargeBlockStack(blocks, out);
    }

    public List<BlockState> newStates(Ops ops, int batch) {
        List<BlockState> s = new ArrayList<>();
        for (MlstmLargeBlock b : blocks) s.add(b.newState(ops, batch));
        return s;
    }

    public Tensor forward(Ops ops, Workspace ws, Tensor x, List<BlockState> states, Mode mode, BlockObserver observer) {
        Tensor cur = blocks(ops, ws, x, states, mode, observer);
        if (outNorm == null) return cur;
        Tensor out = ws.take(x.shape());
        outNorm.forward(ops, cur, out);
        return out;
    }

    /**
     * The blocks, the output norm and the LM head with its soft cap in one go: logits = softCap(lmHead(norm(blocks(x))))
     * (cap ≤ 0: none). The norm, the head and the cap run as {@link Ops#rmsNormLinears}: the plain operations on the
     * CPU, one kernel when the GPU decodes.
     */
    public void forwardLogits(Ops ops, Workspace ws, Tensor x, List<BlockState> states, Mode mode, BlockObserver observer,
                              Linear lmHead, float softCap, Tensor logits) {
        Tensor cur = blocks(ops, ws, x, states, mode, observer);
        if (outNorm != null) {
            outNorm.forwardLinears(ops, cur, ws.take(x.shape()), new Linear[] {lmHead}, new Tensor[] {logits}, 0, softCap);
            return;
        }
        lmHead.forward(ops, cur, logits);
        if (softCap > 0) ops.softCap(logits, softCap, logits);
    }

    private Tensor blocks(Ops ops, Workspace ws, Tensor x, List<BlockState> states, Mode mode, BlockObserver observer) {
        Tensor cur = x;
        for (int i = 0; i < blocks.size(); i++) {
            Tensor next = ws.take(x.shape());
            blocks.get(i).forward(ops, ws, cur, states == null ? null : states.get(i), mode, next);
            if (observer != null) observer.blockOutput(i, next);
            cur = next;
        }
        return cur;
    }

    // ---------------------------------------------------------------- training

    /** Saved by {@link #forwardTrain}. */
    public record Tape(List<BlockTape> blocks, Tensor last, Tensor output) {}

    /** Training forward from the zero state; {@link Tape#output()} is the normalised output. */
    public Tape forwardTrain(Training tr, Tensor x) {
        List<BlockTape> tapes = new ArrayList<>();
        Tensor cur = x;
        for (MlstmLargeBlock block : blocks) {
            Tensor next = tr.ws().take(x.shape());
            tapes.add(block.forwardTrain(tr, cur, next));
            cur = next;
        }
        if (outNorm == null) return new Tape(tapes, cur, cur);
        Tensor out = tr.ws().take(x.shape());
        outNorm.forward(tr.ops(), cur, out);
        return new Tape(tapes, cur, out);
    }

    /** dOutput → dx (written). */
    public void backward(Training tr, Tape t, Tensor dOutput, Tensor dx) {
        Tensor g = dOutput;
        if (outNorm != null) {
            g = tr.ws().take(dOutput.shape());
            outNorm.backward(tr, t.last(), dOutput, g, false);
        }
        for (int i = blocks.size() - 1; i >= 0; i--) {
            Tensor d = i == 0 ? dx : tr.ws().take(dOutput.shape());
            blocks.get(i).backward(tr, t.blocks().get(i), g, d);
            g = d;
        }
        if (blocks.isEmpty()) tr.ops().copy(g, dx);
    }
}
