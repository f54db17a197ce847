package org.xlstm.jvm.data;

/**
 * An endless, random-access stream of batches. Batch {@code i} is a pure function of the source's settings (seed
 * included) and {@code i}: resuming a run at step k only needs k, and two runs with one seed see the same data.
 */
public interface BatchSource {
    /** The batch with this index (0, 1, 2, ...). Same index, same batch. */
    Batch batch(long index);

    int batchSize();

    /** S of every batch (an upper bound when batches are trimmed to their longest example). */
    int seqLen();

    /** Ids are in [0, vocabSize). */
    int vocabSize();

    /** A short description for logs and trainer.json, e.g. "parity(vocab=3, lengths=3..40)". */
    String describe();
}
