package org.xlstm.jvm.data.tasks;

import java.util.SplittableRandom;

/**
 * Even pairs (official tasks/even_pairs.py): tokens from 1..V−1, answer |last − first| + 1. With the official V = 3
 * the number of "ab" plus "ba" pairs is even exactly when the first and last tokens agree (answer 1), else 2.
 */
public final class EvenPairs extends FormalLanguageTask {
    public static final int OFFICIAL_VOCAB = 3;

    public EvenPairs(int vocabSize, int minLength, int maxLength, int contextLength) {
        // The official answer reads the token two before the end against the first: three positions at least.
        super(vocabSize, minLength, maxLength, contextLength, 3);
        if (vocabSize < 3) throw new IllegalArgumentException("even_pairs: vocab_size must be at least 3, got " + vocabSize);
    }

    public static EvenPairs official() {
        return new EvenPairs(OFFICIAL_VOCAB, OFFICIAL_TRAIN_MIN, OFFICIAL_TRAIN_MAX, OFFICIAL_CONTEXT_LENGTH);
    }

    @Override
    public String name() { return "even_pairs"; }

    @Override
    public EvenPairs withLengths(int min, int max) { return new EvenPairs(vocabSize, min, max, contextLength); }

    @Override
    public Example generate(SplittableRandom rng) { return uniformTokensThenAnswer(rng); }

    @Override
    public int answer(int[] sequence) {
        return Math.abs(sequence[sequence.length - 2] - sequence[0]) + 1;
    }
}
