package org.xlstm.jvm.train;

import org.xlstm.jvm.data.Batch;

/** One forward and backward pass: what the trainer calls once per step. */
@FunctionalInterface
public interface StepFunction {
    /**
     * Computes the mean cross-entropy of {@code batch} over its scored positions (targets ≠ −1, as
     * {@link CrossEntropy}) and writes d loss / d parameter into every parameter's gradient buffer. The trainer zeroes
     * the gradients before the call, so an implementation may accumulate into them.
     *
     * @return the loss (the trainer stops on a non-finite one)
     */
    float lossAndGradients(Batch batch);

    /**
     * As {@link #lossAndGradients(Batch)}, also adding the batch's logits to {@code trainMetrics} (training accuracy,
     * as the official loop's train_metrics.update(outputs, labels)). Override when the logits are at hand; by default
     * no training accuracy is reported.
     */
    default float lossAndGradients(Batch batch, TaskMetrics trainMetrics) {
        return lossAndGradients(batch);
    }
}
