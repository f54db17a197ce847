package org.xlstm.jvm.data.tasks;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import org.xlstm.jvm.data.Batch;
import org.xlstm.jvm.data.BatchSource;
import org.xlstm.jvm.data.Seeds;

/**
 * Batches of a {@link SyntheticTask}, generated on the fly. Example {@code n} of the stream comes from its own
 * generator seeded by (seed, n), as the official online generator seeds example n with base_seed + n; batch i holds
 * examples i·B .. i·B+B−1. Examples are padded (input {@link Batch#PAD}, target {@link Batch#IGNORE}) to the task's
 * sequence length, as officially, or with {@code trimToLongest} to the longest example of the batch, which gives the
 * same loss for a causal model (trailing padding is never scored and cannot influence earlier positions) at a
 * fraction of the cost on short training lengths.
 */
public final class TaskDataset implements BatchSource {
    private final SyntheticTask task;
    private final int batchSize;
    private final long seed;
    private final boolean trimToLongest;

    public TaskDataset(SyntheticTask task, int batchSize, long seed, boolean trimToLongest) {
        if (batchSize <= 0) throw new IllegalArgumentException("batch size must be positive, got " + batchSize);
        this.task = task;
        this.batchSize = batchSize;
        this.seed = seed;
        this.trimToLongest = trimToLongest;
    }

    public TaskDataset(SyntheticTask task, int batchSize, long seed) {
        this(task, batchSize, seed, false);
    }

    public SyntheticTask task() { return task; }

    public long seed() { return seed; }

    /** Example n of this stream. */
    public Example example(long n) {
        return task.generate(new SplittableRandom(Seeds.derive(seed, n)));
    }

    @Override
    public Batch batch(long index) {
        if (index < 0) throw new IllegalArgumentException("batch index must be non-negative, got " + index);
        Example[] examples = new Example[batchSize];
        int longest = 1;
        for (int b = 0; b < batchSize; b++) {
            examples[b] = example(index * batchSize + b);
            longest = Math.max(longest, examples[b].length());
        }
        int s = trimToLongest ? longest : task.sequenceLength();
        int[] inputs = new int[batchSize * s];
        int[] targets = new int[batchSize * s];
        Arrays.fill(targets, Batch.IGNORE);
        for (int b = 0; b < batchSize; b++) {
            Example e = examples[b];
            if (e.length() > s)
                throw new IllegalStateException(task.name() + " produced an example of length " + e.length()
                        + " beyond its sequence length " + s);
            System.arraycopy(e.inputs(), 0, inputs, b * s, e.length());
            System.arraycopy(e.targets(), 0, targets, b * s, e.length());
        }
        return new Batch(inputs, targets, batchSize, s);
    }

    /** The first {@code count} batches: a fixed evaluation set. */
    public List<Batch> batches(int count) {
        List<Batch> out = new ArrayList<>(count);
        for (int i = 0; i < count; i++) out.add(batch(i));
        return out;
    }

    @Override
    public int batchSize() { return batchSize; }

    @Override
    public int seqLen() { return task.sequenceLength(); }

    @Override
    public int vocabSize() { return task.vocabSize(); }

    @Override
    public String describe() {
        return task.describe() + ", batch=" + batchSize + ", seed=" + seed + (trimToLongest ? ", trimmed" : "");
    }
}
