package org.xlstm.jvm.train;

/**
 * A trainable model whose parameters, gradients and optimizer state live with its backend (a GPU), not in the
 * host buffers of {@link TrainableModel#parameters()}: the trainer then asks the model itself to zero, clip and
 * update, and to copy its state to those host buffers only when a checkpoint is written (and back after a resume).
 */
public interface ResidentParameters {
    /** Zeroes every gradient. */
    void zeroGrads();

    /**
     * The global L2 norm of the gradients; when {@code maxNorm > 0} they are also scaled as
     * {@link GradientClipping#clipByGlobalNorm} does. A non-finite norm is returned without scaling.
     */
    double clipByGlobalNorm(double maxNorm);

    /** One AdamW update at this learning rate, with {@code opt}'s settings, groups and step count (advanced). */
    void adamwStep(AdamW opt, double lr);

    /** Copies the parameters into {@link TrainableModel#parameters()}' host buffers and the moments into {@code opt}. */
    void syncToHost(AdamW opt);

    /** The reverse: host parameter buffers and {@code opt}'s moments into the backend's memory (after a resume). */
    void syncFromHost(AdamW opt);
}
