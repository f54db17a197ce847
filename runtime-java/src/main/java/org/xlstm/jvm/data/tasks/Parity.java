package org.xlstm.jvm.data.tasks;

import java.util.SplittableRandom;

/**
 * Parity (official tasks/parity.py): tokens drawn from 1..V−1, then the answer
 * (Σ tokens − count) mod (V−1) + 1; with the official V = 3 the tokens are 1 and 2 and the answer says whether the
 * number of 2s is even (1) or odd (2).
 */
public final class Parity extends FormalLanguageTask {
    public static final int OFFICIAL_VOCAB = 3;

    public Parity(int vocabSize, int minLength, int maxLength, int contextLength) {
        super(vocabSize, minLength, maxLength, contextLength, 2);
        if (vocabSize < 3) throw new IllegalArgumentException("parity: vocab_size must be at least 3 (pad + two symbols), got " + vocabSize);
    }

    /** Official training split: vocab 3, lengths 3–40, context 256. */
    public static Parity official() {
        return new Parity(OFFICIAL_VOCAB, OFFICIAL_TRAIN_MIN, OFFICIAL_TRAIN_MAX, OFFICIAL_CONTEXT_LENGTH);
    }

    @Override
    public String name() { return "parity"; }

    @Override
    public Parity withLengths(int min, int max) { return new Parity(vocabSize, min, max, contextLength); }

    @Override
    public Example generate(SplittableRandom rng) { return uniformTokensThenAnswer(rng); }

    @Override
    public int answer(int[] sequence) {
        int n = sequence.length - 1;
        long sum = 0;
        for (int t = 0; t < n; t++) sum += sequence[t];
        return (int) Math.floorMod(sum - n, (long) (vocabSize - 1)) + 1;
    }
}
