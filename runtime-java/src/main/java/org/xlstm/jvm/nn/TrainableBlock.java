package org.xlstm.jvm.nn;

import org.xlstm.jvm.tensor.Tensor;

/**
 * A block with an explicit training forward and backward (llm.c style): the forward runs from the zero state and
 * saves what the backward needs; the backward turns the gradient of the block's output into the gradient of its
 * input and adds its parameters' gradients to {@link Training#grads()}.
 */
public interface TrainableBlock extends Block {
    /** x {@code [B, S, D]} → out {@code [B, S, D]} (out must not alias x), with dropout as {@code tr} says. */
    BlockTape forwardTrain(Training tr, Tensor x, Tensor out);

    /** dOut → dx (overwritten; must not alias dOut). */
    void backward(Training tr, BlockTape tape, Tensor dOut, Tensor dx);
}
