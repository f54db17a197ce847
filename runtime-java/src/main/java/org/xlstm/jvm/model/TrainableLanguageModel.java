package org.xlstm.jvm.model;

import java.util.Map;
import org.xlstm.jvm.nn.Gradients;
import org.xlstm.jvm.tensor.Tensor;

/**
 * A language model with a backward pass: its parameters under their official names, gradient buffers, and a
 * training step (forward from the zero state, mean cross-entropy, backward).
 */
public interface TrainableLanguageModel extends LanguageModel {
    /** The trainable parameters, each once (a tied lm_head is the embedding), official names, official order. */
    Map<String, Tensor> parameters();

    /** One gradient buffer per parameter, same names and shapes (allocated on first use, zero then). */
    Gradients gradients();

    /**
     * Forward from the zero state, mean cross-entropy against {@code targets} (-1 = not scored, as torch's
     * {@code cross_entropy(ignore_index=-1)}), backward: returns the loss and adds its gradient to
     * {@link #gradients()} (zero them first). Dropout, if the model has any, draws its masks from {@code dropoutSeed}.
     *
     * @param inputs  token ids, row-major {@code [batch, seqLen]}
     * @param targets next-token ids, same layout
     */
    default double lossAndGradients(int[] inputs, int[] targets, int batch, int seqLen, long dropoutSeed) {
        return lossAndGradients(inputs, targets, batch, seqLen, dropoutSeed, 0);
    }

    /**
     * As above, with the cross-entropy summed over the scored positions and divided by {@code meanOver} (when
     * positive) instead of their number: this batch as one micro-batch of a larger batch with that many scored
     * positions, so that the micro-batches' losses and gradients add up to the whole batch's.
     */
    double lossAndGradients(int[] inputs, int[] targets, int batch, int seqLen, long dropoutSeed, int meanOver);

    /**
     * Another instance over the same parameter tensors, with its own workspace and gradient buffers: micro-batches
     * of one step run on replicas side by side. Closing it leaves the shared parameters alone.
     */
    TrainableLanguageModel replica();

    /** The logits of the last {@link #lossAndGradients} call {@code [batch·seqLen, V]}, valid until the next call. */
    Tensor lastLogits();

    /** The mean cross-entropy of a batch without gradients (inference forward, no dropout). */
    double loss(int[] inputs, int[] targets, int batch, int seqLen);

    /**
     * Declares the parameters changed in place (optimizer step, loaded values): derived forms (packed matrices,
     * re-laid-out copies) are rebuilt. Done automatically before the next forward after any gradient computation.
     */
    void parametersChanged();
}
