package org.xlstm.jvm.train;

import java.util.List;
import java.util.Map;
import org.xlstm.jvm.config.ModelConfig;
import org.xlstm.jvm.data.Batch;

/**
 * What the trainer needs from a model: its parameters, a training step, and a forward pass for evaluation.
 * The real xLSTM model implements this over its tensors; tests use small models.
 */
public interface TrainableModel extends StepFunction {
    /**
     * Every trainable parameter once, under its official name, in state-dict order. The list and its buffers stay
     * the same for the whole run (the optimizer updates the values in place).
     */
    List<Parameter> parameters();

    /** Forward pass without gradients: adds the logits of {@code batch} to {@code metrics}. */
    void evaluate(Batch batch, TaskMetrics metrics);

    /** The model's configuration (written as config.json; decides decay on the embedding), or null. */
    default ModelConfig config() { return null; }

    /** Extra state-dict names of shared parameters, alias → parameter name (a tied {@code lm_head.weight}). */
    default Map<String, String> aliases() { return Map.of(); }

    /** The model's own random state (e.g. dropout), saved in trainer.json; empty when it has none. */
    default long[] rngState() { return new long[0]; }

    /** Restores what {@link #rngState()} returned. */
    default void restoreRngState(long[] state) {
        if (state.length != 0) throw new IllegalArgumentException("this model keeps no random state, the checkpoint has " + state.length + " numbers");
    }
}
