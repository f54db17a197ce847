package org.xlstm.jvm.nn;

import java.util.ArrayList;
import java.util.List;
import org.xlstm.jvm.backend.Ops;
import org.xlstm.jvm.config.BlockKind;
import org.xlstm.jvm.config.XlstmConfig;
import org.xlstm.jvm.tensor.Tensor;
import org.xlstm.jvm.tensor.Workspace;

/** The block stack (official xLSTMBlockStack): the blocks in the config's block map, then the post-blocks norm. */
public final class XlstmBlockStack {
    private final List<Block> blocks;
    private final LayerNorm postNorm; // null when disabled

    private XlstmBlockStack(List<Block> blocks, LayerNorm postNorm) {
        this.blocks = List.copyOf(blocks);
        this.postNorm = postNorm;
    }

    public static XlstmBlockStack load(ParamSource p, XlstmConfig c, int chunkSize) {
        String prefix = "xlstm_block_stack.";
        List<Block> blocks = new ArrayList<>();
        List<BlockKind> map = c.blockMap();
        for (int i = 0; i < map.size(); i++) {
            String bp = prefix + "blocks." + i;
            if (map.get(i) == BlockKind.MLSTM)
                blocks.add(MlstmBlock.load(p, bp, c.embeddingDim(), c.mlstmBlock().mlstm(), c.bias(), c.numBlocks(), chunkSize));
            else
                blocks.add(SlstmBlock.load(p, bp, c.embeddingDim(), c.slstmBlock().slstm(), c.slstmBlock().feedforward(),
                        i, c.numBlocks()));
        }
        LayerNorm post = c.addPostBlocksNorm() ? LayerNorm.xlstm(p, prefix + "post_blocks_norm", c.embeddingDim(), false) : null;
        return new XlstmBlockStack(blocks, post);
    }

    public List<Block> blocks() { return blocks; }

    public List<BlockState> newStates(Ops ops, int batch) {
        List<BlockState> s = new ArrayList<>();
        for (Block b : blocks) s.add(b.newState(ops, batch));
        return s;
    }

    /** x {@code [B, S, D]} → normalised output {@code [B, S, D]} (a workspace tensor). */
    public Tensor forward(Ops ops, Workspace ws, Tensor x, List<BlockState> states, Mode mode, BlockObserver observer) {
        Tensor cur = x;
        for (int i = 0; i < blocks.size(); i++) {
            Tensor next = ws.take(x.shape());
            blocks.get(i).forward(ops, ws, cur, states == null ? null : states.get(i), mode, next);
            if (observer != null) observer.blockOutput(i, next);
            cur = next;
        }
        if (postNorm == null) return cur;
        Tensor out = ws.take(x.shape());
        postNorm.forward(ops, cur, out);
        return out;
    }

    // ---------------------------------------------------------------- training

    /** Saved by {@link #forwardTrain}: each block's input and tape, the last block's output, the final output. */
    public record Tape(List<Tensor> inputs, List<BlockTape> blocks, Tensor last, Tensor output) {}

    /** Training forward from the zero state; {@link Tape#output()} is the normalised output (a workspace tensor). */
    public Tape forwardTrain(Training tr, Tensor x) {
        List<Tensor> inputs = new ArrayList<>();
        List<BlockTape> tapes = new ArrayList<>();
        Tensor cur = x;
        for (Block block : blocks) {
            if (!(block instanceof TrainableBlock tb))
                throw new UnsupportedOperationException(block.getClass().getSimpleName() + " has no backward pass");
            Tensor next = tr.ws().take(x.shape());
            inputs.add(cur);
            tapes.add(tb.forwardTrain(tr, cur, next));
            cur = next;
        }
        if (postNorm == null) return new Tape(inputs, tapes, cur, cur);
        Tensor out = tr.ws().take(x.shape());
        postNorm.forward(tr.ops(), cur, out);
        return new Tape(inputs, tapes, cur, out);
    }

    /** dOutput → dx (written). */
    public void backward(Training tr, Tape t, Tensor dOutput, Tensor dx) {
        Tensor g = dOutput;
        if (postNorm != null) {
            g = tr.ws().take(dOutput.shape());
            postNorm.backward(tr, t.last(), dOutput, g, false);
        }
        for (int i = blocks.size() - 1; i >= 0; i--) {
            Tensor d = i == 0 ? dx : tr.ws().take(dOutput.shape());
            ((TrainableBlock) blocks.get(i)).backward(tr, t.blocks().get(i), g, d);
            g = d;
        }
        if (blocks.isEmpty()) tr.ops().copy(g, dx);
    }
}
