package org.xlstm.jvm.model;

import java.util.ArrayList;
import java.util.List;
import org.xlstm.jvm.nn.BlockState;

/** The recurrent memory of a whole model for a batch: one state per block. Copy it to branch a generation. */
public final class ModelState {
    private final int batch;
    private final List<BlockState> blocks;

    public ModelState(int batch, List<BlockState> blocks) {
        this.batch = batch;
        this.blocks = List.copyOf(blocks);
    }

    public int batch() { return batch; }

    public List<BlockState> blocks() { return blocks; }

    public ModelState copy() {
        List<BlockState> c = new ArrayList<>();
        for (BlockState b : blocks) c.add(b.copy());
        return new ModelState(batch, c);
    }
}
