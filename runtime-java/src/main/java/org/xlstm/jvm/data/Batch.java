package org.xlstm.jvm.data;

import java.util.Arrays;

/**
 * One training or evaluation batch of token ids, row-major [B, S]: {@code inputs[b·S + t]} is fed at position t of
 * sequence b and {@code targets[b·S + t]} is what the model should predict there, or {@link #IGNORE} where no
 * prediction is scored (padding, and every non-answer position of the synthetic tasks). This is the official
 * {@code cross_entropy(..., ignore_index=-1)} convention.
 */
public record Batch(int[] inputs, int[] targets, int batchSize, int seqLen) {
    /** Target value of positions that are not scored. */
    public static final int IGNORE = -1;
    /** Input token of padding and of masked answer positions (the official pad_idx). */
    public static final int PAD = 0;

    public Batch {
        if (batchSize <= 0 || seqLen <= 0)
            throw new IllegalArgumentException("batch shape must be positive, got [" + batchSize + ", " + seqLen + "]");
        long n = (long) batchSize * seqLen;
        if (inputs.length != n || targets.length != n)
            throw new IllegalArgumentException("batch [" + batchSize + ", " + seqLen + "] needs " + n
                    + " inputs and targets, got " + inputs.length + " and " + targets.length);
        for (int i = 0; i < n; i++) {
            if (inputs[i] < 0)
                throw new IllegalArgumentException("negative input id " + inputs[i] + " at " + where(i, seqLen));
            if (targets[i] < IGNORE)
                throw new IllegalArgumentException("target id " + targets[i] + " at " + where(i, seqLen)
                        + " is below the ignore index " + IGNORE);
        }
    }

    /** The inputs as B rows of S ids (the form the model's forward pass takes). */
    public int[][] inputRows() {
        int[][] rows = new int[batchSize][];
        for (int b = 0; b < batchSize; b++) rows[b] = java.util.Arrays.copyOfRange(inputs, b * seqLen, (b + 1) * seqLen);
        return rows;
    }

    /** Number of positions whose target is scored. */
    public int scoredPositions() {
        int n = 0;
        for (int t : targets) if (t != IGNORE) n++;
        return n;
    }

    /** Number of tokens fed (B·S), the unit of tokens/s. */
    public long tokens() { return (long) batchSize * seqLen; }

    /** Largest id in inputs and targets; a model's vocabulary must exceed it. */
    public int maxTokenId() {
        int m = -1;
        for (int v : inputs) m = Math.max(m, v);
        for (int v : targets) m = Math.max(m, v);
        return m;
    }

    private static String where(int flat, int seqLen) {
        return "[" + flat / seqLen + ", " + flat % seqLen + "]";
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Batch b && b.batchSize == batchSize && b.seqLen == seqLen
                && Arrays.equals(b.inputs, inputs) && Arrays.equals(b.targets, targets);
    }

    @Override
    public int hashCode() { return 31 * Arrays.hashCode(inputs) + Arrays.hashCode(targets); }

    @Override
    public String toString() { return "Batch[" + batchSize + ", " + seqLen + "]"; }
}
