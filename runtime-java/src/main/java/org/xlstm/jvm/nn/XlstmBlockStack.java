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

    public List<BlockState> newStates(int batch) {
        List<BlockState> s = new ArrayList<>();
        for (Block b : blocks) s.add(b.newState(batch));
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
}
