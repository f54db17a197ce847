package org.xlstm.jvm.data.tasks;

import java.util.SplittableRandom;

/**
 * A generated task whose loss and accuracy are scored only at answer positions. An instance is fully configured
 * (vocabulary, length range, context), so a training split and an evaluation split are two instances.
 */
public interface SyntheticTask {
    /** Official task name, e.g. "parity". */
    String name();

    /** Ids are in [0, vocabSize); 0 is the pad token. */
    int vocabSize();

    /** Length S that every example of this task fits into (batches are padded to it). */
    int sequenceLength();

    /** One example drawn from {@code rng}; the same generator state gives the same example. */
    Example generate(SplittableRandom rng);

    /** Settings for logs, e.g. "parity(vocab=3, lengths=3..40, context=256)". */
    String describe();
}
