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

    public List<BlockState> newStates(int batch) {
        List<BlockState> s = new ArrayList<>();
        for (MlstmLargeBlock b : blocks) s.add(b.newState(batch));
        return s;
    }

    public Tensor forward(Ops ops, Workspace ws, Tensor x, List<BlockState> states, Mode mode, BlockObserver observer) {
        Tensor cur = x;
        for (int i = 0; i < blocks.size(); i++) {
            Tensor next = ws.take(x.shape());
            blocks.get(i).forward(ops, ws, cur, states == null ? null : states.get(i), mode, next);
            if (observer != null) observer.blockOutput(i, next);
            cur = next;
        }
        if (outNorm == null) return cur;
        Tensor out = ws.take(x.shape());
        outNorm.forward(ops, cur, out);
        return out;
    }
}
