package org.xlstm.jvm.data.tasks;

import java.util.SplittableRandom;

/**
 * The formal-language tasks of the xLSTM paper (official experiments/data/formal_language): a sequence of random
 * tokens followed by one answer token, the sequence length (answer included) drawn uniformly from
 * [minLength, maxLength], the whole padded to {@code contextLength} and shifted by one, so S = contextLength − 1.
 * Official settings: train on lengths 3–40, evaluate on 40–256, context 256.
 */
public abstract class FormalLanguageTask implements SyntheticTask {
    public static final int OFFICIAL_CONTEXT_LENGTH = 256;
    public static final int OFFICIAL_TRAIN_MIN = 3;
    public static final int OFFICIAL_TRAIN_MAX = 40;
    public static final int OFFICIAL_EVAL_MIN = 40;
    public static final int OFFICIAL_EVAL_MAX = 256;

    protected final int vocabSize;
    protected final int minLength;
    protected final int maxLength;
    protected final int contextLength;

    protected FormalLanguageTask(int vocabSize, int minLength, int maxLength, int contextLength, int smallestLength) {
        this.vocabSize = vocabSize;
        this.minLength = minLength;
        this.maxLength = maxLength;
        this.contextLength = contextLength;
        if (minLength < smallestLength)
            throw new IllegalArgumentException(name() + ": min_sequence_length " + minLength + " is below " + smallestLength
                    + ", the shortest sequence this task can form");
        if (maxLength < minLength)
            throw new IllegalArgumentException(name() + ": max_sequence_length " + maxLength + " < min_sequence_length " + minLength);
        if (maxLength > contextLength)
            throw new IllegalArgumentException(name() + ": max_sequence_length " + maxLength + " exceeds context_length " + contextLength);
    }

    /** The same task with another length range (e.g. the evaluation split), same vocabulary and context. */
    public abstract FormalLanguageTask withLengths(int minLength, int maxLength);

    /** The official evaluation split of this task: lengths 40–256 at context 256 (clipped to this context). */
    public FormalLanguageTask officialEvaluation() {
        return withLengths(Math.min(OFFICIAL_EVAL_MIN, contextLength), Math.min(OFFICIAL_EVAL_MAX, contextLength));
    }

    @Override
    public int vocabSize() { return vocabSize; }

    public int minLength() { return minLength; }

    public int maxLength() { return maxLength; }

    public int contextLength() { return contextLength; }

    @Override
    public int sequenceLength() { return contextLength - 1; }

    /**
     * The answer token for {@code sequence}, whose last position is the answer slot (its value is not read): the
     * task's rule, exposed so that it can be checked against sequences the official generator produced.
     */
    public abstract int answer(int[] sequence);

    /** Uniform in [minLength, maxLength], as the official rng.integers(min, max + 1). */
    protected int drawLength(SplittableRandom rng) {
        return rng.nextInt(minLength, maxLength + 1);
    }

    /** A sequence whose last position is the answer, masked and shifted the official way. */
    /**
     * The shape parity and even pairs share: a drawn length, tokens uniform over 1..V−1, then {@link #answer} as the
     * last token.
     */
    protected Example uniformTokensThenAnswer(SplittableRandom rng) {
        int size = drawLength(rng);
        int[] seq = new int[size];
        for (int t = 0; t < size - 1; t++) seq[t] = rng.nextInt(1, vocabSize);
        seq[size - 1] = answer(seq);
        return answerAtEnd(seq);
    }

    protected static Example answerAtEnd(int[] sequence) {
        boolean[] answer = new boolean[sequence.length];
        answer[sequence.length - 1] = true;
        return Example.maskedAndShifted(sequence, answer);
    }

    @Override
    public String describe() {
        return name() + "(vocab=" + vocabSize + ", lengths=" + minLength + ".." + maxLength + ", context=" + contextLength + ")";
    }

    @Override
    public String toString() { return describe(); }
}
