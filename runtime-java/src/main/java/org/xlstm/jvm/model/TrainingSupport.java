package org.xlstm.jvm.model;

import java.util.Map;
import org.xlstm.jvm.backend.GradOps;
import org.xlstm.jvm.backend.Ops;
import org.xlstm.jvm.nn.Gradients;
import org.xlstm.jvm.nn.Training;
import org.xlstm.jvm.tensor.Tensor;
import org.xlstm.jvm.tensor.Workspace;

/** The bookkeeping a trainable model shares: parameters, gradients, the training context, staleness of caches. */
final class TrainingSupport implements AutoCloseable {
    private final Map<String, Tensor> parameters;
    private Gradients gradients;
    private Training training;
    /** Set when gradients were handed out: an optimizer may have changed the parameters in place since. */
    private boolean mayHaveChanged;

    TrainingSupport(Map<String, Tensor> parameters) { this.parameters = parameters; }

    Map<String, Tensor> parameters() { return parameters; }

    private Ops ops;

    /** The backend whose memory holds the gradient buffers (set by the model before any training use). */
    TrainingSupport on(Ops ops) {
        this.ops = ops;
        return this;
    }

    Gradients gradients() {
        if (gradients == null) gradients = new Gradients(parameters, ops);
        return gradients;
    }

    Training training(Ops ops, Workspace ws, float dropout) {
        if (training == null) training = new Training(ops, GradOps.forOps(ops), ws, gradients(), dropout, 0L);
        return training;
    }

    void parametersChanged() {
        for (Tensor p : parameters.values()) p.markModified();
        mayHaveChanged = false;
    }

    /** Before any forward: parameters may have been updated since gradients were last computed. */
    void beforeForward() {
        if (mayHaveChanged) parametersChanged();
    }

    /** After a backward: whoever got the gradients may now update the parameters. */
    void afterBackward() { mayHaveChanged = true; }

    static void check(int[] inputs, int[] targets, int batch, int seqLen, int vocab) {
        if (batch <= 0 || seqLen <= 0) throw new IllegalArgumentException("batch shape must be positive; got [" + batch + ", " + seqLen + "]");
        if (inputs.length != batch * seqLen || targets.length != batch * seqLen)
            throw new IllegalArgumentException("batch [" + batch + ", " + seqLen + "] needs " + batch * seqLen
                    + " inputs and targets; got " + inputs.length + " and " + targets.length);
        for (int i = 0; i < inputs.length; i++)
            if (inputs[i] < 0 || inputs[i] >= vocab)
                throw new IllegalArgumentException("input id " + inputs[i] + " at [" + i / seqLen + ", " + i % seqLen
                        + "] is outside the vocabulary [0, " + vocab + ")");
    }

    static int[][] rows(int[] flat, int batch, int seqLen) {
        int[][] rows = new int[batch][];
        for (int b = 0; b < batch; b++) rows[b] = java.util.Arrays.copyOfRange(flat, b * seqLen, (b + 1) * seqLen);
        return rows;
    }

    @Override
    public void close() {
        if (gradients != null) gradients.close();
    }
}
