package org.xlstm.jvm.nn;

import org.xlstm.jvm.backend.Ops;
import org.xlstm.jvm.tensor.Tensor;

/** Token embedding table (V, D). */
public final class Embedding {
    private final Tensor table;

    public Embedding(Tensor table) { this.table = table; }

    public Tensor table() { return table; }

    public int vocabSize() { return table.dim(0); }

    public int dim() { return table.dim(1); }

    /** tokens (B·S ids, row-major) → y {@code [B, S, D]}. */
    public void forward(Ops ops, int[] tokens, Tensor y) { ops.embedding(tokens, table, y); }

    /** Backward: each row of dy is added to its token's row of the table gradient. */
    public void backward(Training tr, int[] tokens, Tensor dy) { tr.grad().embeddingBackward(tokens, dy, tr.grads().of(table)); }
}
