package org.xlstm.jvm.data.tasks;

import java.util.SplittableRandom;

/**
 * Cycle navigation (official tasks/cycle_navigation.py): each token is a move on a cycle of
 * V − 2 − 2·maxStep positions: token 1 stays, tokens 2..maxStep+1 step forward by token−1, the tokens above step
 * back by token−maxStep−1. The answer is the final position (start 0) as token position + 2·maxStep + 2.
 * Official default V = 10, maxStep = 1 (moves 0, +1, −1 on a cycle of 6).
 */
public final class CycleNavigation extends FormalLanguageTask {
    public static final int OFFICIAL_VOCAB = 10;
    public static final int OFFICIAL_MAX_STEP = 1;

    private final int maxStep;

    public CycleNavigation(int vocabSize, int maxStepSize, int minLength, int maxLength, int contextLength) {
        super(vocabSize, minLength, maxLength, contextLength, 2);
        // As officially, the step size is capped at half the vocabulary.
        this.maxStep = Math.min(vocabSize / 2, maxStepSize);
        if (maxStep < 1) throw new IllegalArgumentException("cycle_navigation: max_step_size must be at least 1, got " + maxStepSize);
        if (cycleSize() < 2)
            throw new IllegalArgumentException("cycle_navigation: vocab_size " + vocabSize + " leaves a cycle of " + cycleSize()
                    + " positions with max_step_size " + maxStep + "; need vocab_size >= " + (2 * maxStep + 4));
    }

    public static CycleNavigation official() {
        return new CycleNavigation(OFFICIAL_VOCAB, OFFICIAL_MAX_STEP, OFFICIAL_TRAIN_MIN, OFFICIAL_TRAIN_MAX, OFFICIAL_CONTEXT_LENGTH);
    }

    public int maxStep() { return maxStep; }

    public int cycleSize() { return vocabSize - 2 - 2 * maxStep; }

    @Override
    public String name() { return "cycle_navigation"; }

    @Override
    public CycleNavigation withLengths(int min, int max) { return new CycleNavigation(vocabSize, maxStep, min, max, contextLength); }

    @Override
    public Example generate(SplittableRandom rng) {
        int size = drawLength(rng);
        int[] seq = new int[size];
        for (int t = 0; t < size - 1; t++) seq[t] = rng.nextInt(1, 2 * maxStep + 2);
        seq[size - 1] = answer(seq);
        return answerAtEnd(seq);
    }

    @Override
    public int answer(int[] sequence) {
        long position = 0;
        for (int t = 0; t < sequence.length - 1; t++) {
            int token = sequence[t];
            position += token <= maxStep + 1 ? token - 1 : maxStep + 1 - token;
        }
        return (int) Math.floorMod(position, (long) cycleSize()) + 2 * maxStep + 2;
    }

    @Override
    public String describe() {
        return name() + "(vocab=" + vocabSize + ", max_step=" + maxStep + ", lengths=" + minLength + ".." + maxLength
                + ", context=" + contextLength + ")";
    }
}
