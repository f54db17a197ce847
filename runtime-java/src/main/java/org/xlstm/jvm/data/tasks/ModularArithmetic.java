package org.xlstm.jvm.data.tasks;

import java.util.SplittableRandom;

/**
 * Modular arithmetic without brackets (official tasks/modular_arithmetic.py): numbers 0..V−6 (tokens 5..V−1)
 * alternating with operators + − * (tokens 1, 2, 3), then "=" (token 4) and the answer: the expression's value with
 * * binding tighter than + and −, taken mod (V − 5) (non-negative), as token value + 5. Lengths are odd, drawn as
 * officially: 2·U[lo, hi] − 1 with hi = ⌊(max+1)/2⌋ and lo = min(⌊(min+1)/2⌋, hi).
 * (So an even minimum is undershot by one: the official 40–256 split draws 39..255.)
 * Official default V = 10 (numbers 0..4, mod 5).
 *
 * <p>We evaluate with exact modular arithmetic; the official code multiplies in int64 and would wrap on products of
 * more than ~60 factors ≥ 2 in a row, which its length ranges make vanishingly rare.
 */
public final class ModularArithmetic extends FormalLanguageTask {
    public static final int OFFICIAL_VOCAB = 10;
    static final int PLUS = 1, MINUS = 2, TIMES = 3, EQUALS = 4, FIRST_NUMBER = 5;

    public ModularArithmetic(int vocabSize, int minLength, int maxLength, int contextLength) {
        super(vocabSize, minLength, maxLength, contextLength, 3);
        if (vocabSize < 7)
            throw new IllegalArgumentException("modular_arithmetic: vocab_size must be at least 7 (pad, + - * =, two numbers), got " + vocabSize);
    }

    public static ModularArithmetic official() {
        return new ModularArithmetic(OFFICIAL_VOCAB, OFFICIAL_TRAIN_MIN, OFFICIAL_TRAIN_MAX, OFFICIAL_CONTEXT_LENGTH);
    }

    /** The modulus, also the count of number tokens. */
    public int modulus() { return vocabSize - FIRST_NUMBER; }

    @Override
    public String name() { return "modular_arithmetic"; }

    @Override
    public ModularArithmetic withLengths(int min, int max) { return new ModularArithmetic(vocabSize, min, max, contextLength); }

    @Override
    protected int drawLength(SplittableRandom rng) {
        int hi = (maxLength + 1) / 2;
        int lo = Math.min((minLength + 1) / 2, hi);
        return 2 * rng.nextInt(lo, hi + 1) - 1;
    }

    @Override
    public Example generate(SplittableRandom rng) {
        int size = drawLength(rng);
        int[] seq = new int[size];
        // Positions 0..size-3 hold number op number ... number; size-2 is "=", size-1 the answer.
        for (int t = 0; t < size - 2; t++)
            seq[t] = t % 2 == 0 ? FIRST_NUMBER + rng.nextInt(modulus()) : PLUS + rng.nextInt(3);
        seq[size - 2] = EQUALS;
        seq[size - 1] = answer(seq);
        return answerAtEnd(seq);
    }

    @Override
    public int answer(int[] sequence) {
        return FIRST_NUMBER + evaluate(sequence, sequence.length - 2, modulus());
    }

    /** Value mod m of the expression in seq[0, end): sum of signed products, * before + and −. */
    static int evaluate(int[] seq, int end, int m) {
        long total = 0;
        long term = seq[0] - FIRST_NUMBER;
        int sign = 1;
        for (int t = 1; t < end; t += 2) {
            int op = seq[t];
            long number = seq[t + 1] - FIRST_NUMBER;
            if (op == TIMES) {
                term = Math.floorMod(term * number, (long) m);
            } else {
                total = Math.floorMod(total + sign * term, (long) m);
                sign = op == MINUS ? -1 : 1;
                term = number;
            }
        }
        return (int) Math.floorMod(total + sign * term, (long) m);
    }
}
