package org.xlstm.jvm.generate;

import java.util.Arrays;
import java.util.SplittableRandom;

/**
 * Picks the next token from one row of logits under {@link GenerationOptions}. One sampler per sequence: it owns
 * its RNG (seeded), so results do not depend on other sequences or threads. Works in double precision on a copy;
 * the caller's logits are not modified.
 */
public final class Sampler {
    private final GenerationOptions options;
    private final SplittableRandom rng;
    private double[] work = new double[0];
    private long[] order = new long[0];

    public Sampler(GenerationOptions options) {
        this.options = options;
        this.rng = new SplittableRandom(options.seed());
    }

    /**
     * The next token given {@code logits[offset, offset + vocab)} and the tokens seen so far (prompt and output,
     * for the repetition penalty; may be null).
     */
    public int next(float[] logits, int offset, int vocab, int[] history, int historyLength) {
        if (work.length < vocab) work = new double[vocab];
        double[] x = work;
        for (int i = 0; i < vocab; i++) x[i] = logits[offset + i];
        if (options.repetitionPenalty() != 1f && history != null) {
            float p = options.repetitionPenalty();
            boolean[] seen = new boolean[vocab];
            for (int i = 0; i < historyLength; i++) {
                int t = history[i];
                if (t >= 0 && t < vocab && !seen[t]) {
                    seen[t] = true;
                    x[t] = x[t] < 0 ? x[t] * p : x[t] / p;
                }
            }
        }
        if (options.greedy()) return argmax(x, vocab);
        for (int i = 0; i < vocab; i++) x[i] /= options.temperature();
        if (options.topK() == 0 && options.topP() >= 1f) return drawFromAll(x, vocab);
        // Candidate ids by logit, descending, ties by id: one primitive sort of (rank key, id) pairs.
        if (order.length < vocab) order = new long[vocab];
        for (int i = 0; i < vocab; i++) {
            int bits = Float.floatToIntBits((float) x[i]);
            int ascending = bits ^ ((bits >> 31) & 0x7fffffff);
            order[i] = ((long) ~ascending << 32) | i;
        }
        Arrays.sort(order, 0, vocab);
        int kept = options.topK() > 0 ? Math.min(vocab, options.topK()) : vocab;
        double max = x[id(0)];
        double sum = 0;
        double[] probs = new double[kept];
        for (int i = 0; i < kept; i++) {
            probs[i] = Math.exp(x[id(i)] - max);
            sum += probs[i];
        }
        for (int i = 0; i < kept; i++) probs[i] /= sum;
        if (options.topP() < 1f) {
            double cum = 0;
            int keep = kept;
            for (int i = 0; i < kept; i++) {
                cum += probs[i];
                if (cum >= options.topP()) { keep = i + 1; break; }
            }
            kept = Math.max(1, keep);
        }
        double total = 0;
        for (int i = 0; i < kept; i++) total += probs[i];
        double u = rng.nextDouble() * total;
        double cum = 0;
        for (int i = 0; i < kept; i++) {
            cum += probs[i];
            if (u < cum) return id(i);
        }
        return id(kept - 1);
    }

    private int id(int rank) { return (int) order[rank]; }

    /** Sampling from the whole softmax needs no sort. */
    private int drawFromAll(double[] x, int vocab) {
        double max = x[argmax(x, vocab)];
        double sum = 0;
        for (int i = 0; i < vocab; i++) sum += Math.exp(x[i] - max);
        double u = rng.nextDouble() * sum, cum = 0;
        for (int i = 0; i < vocab; i++) {
            cum += Math.exp(x[i] - max);
            if (u < cum) return i;
        }
        return argmax(x, vocab);
    }

    /** First index of the maximum (as torch.argmax). */
    public static int argmax(double[] x, int n) {
        int best = 0;
        for (int i = 1; i < n; i++) if (x[i] > x[best]) best = i;
        return best;
    }

    /** First index of the maximum of {@code logits[offset, offset + n)}. */
    public static int argmax(float[] logits, int offset, int n) {
        int best = 0;
        for (int i = 1; i < n; i++) if (logits[offset + i] > logits[offset + best]) best = i;
        return best;
    }
}
