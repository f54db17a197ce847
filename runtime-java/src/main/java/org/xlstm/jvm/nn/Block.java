package org.xlstm.jvm.nn;

import org.xlstm.jvm.backend.Ops;
import org.xlstm.jvm.tensor.Tensor;
import org.xlstm.jvm.tensor.Workspace;

/** One residual block of a stack. */
public interface Block {
    /** A zero state for {@code batch} rows. */
    BlockState newState(org.xlstm.jvm.backend.Ops ops, int batch);

    /**
     * x {@code [B, S, D]} → out {@code [B, S, D]} (out must not alias x). With a state, the block continues from it
     * and leaves its final state there; without, it starts from zeros and keeps nothing.
     */
    void forward(Ops ops, Workspace ws, Tensor x, BlockState state, Mode mode, Tensor out);
}
