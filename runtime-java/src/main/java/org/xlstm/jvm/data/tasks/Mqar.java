package org.xlstm.jvm.data.tasks;

import java.util.SplittableRandom;
import org.xlstm.jvm.data.Batch;

/**
 * Multi-query associative recall, as in Zoology (Arora, Eyuboglu et al. 2023, {@code multiquery_ar}): the sequence
 * opens with {@code numKvPairs} key-value pairs (keys distinct from 1..V/2−1, values distinct from V/2..V−1), then a
 * query region where every key appears once more; at a key's query position the target is its value. Query offsets
 * are drawn without replacement with weights ∝ (gap+1)^(a−1), a = {@code powerA} (Zoology's power law: most queries
 * come soon after the pairs). Positions between queries hold random tokens when {@code randomNonQueries}, else 0.
 * Only query positions are scored. Length S = {@code sequenceLength} exactly (Zoology's input_seq_len).
 *
 * <p>Zoology's defaults are V = 8192, S = 64, 8 pairs, a = 0.01; CPU runs want smaller vocabularies, hence every size
 * is a parameter.
 */
public final class Mqar implements SyntheticTask {
    private final int vocabSize;
    private final int sequenceLength;
    private final int numKvPairs;
    private final double powerA;
    private final boolean randomNonQueries;
    private final double[] gapWeights;

    public Mqar(int vocabSize, int sequenceLength, int numKvPairs, double powerA, boolean randomNonQueries) {
        if (numKvPairs < 1) throw new IllegalArgumentException("mqar: num_kv_pairs must be at least 1, got " + numKvPairs);
        if (sequenceLength % 2 != 0) throw new IllegalArgumentException("mqar: sequence length must be even, got " + sequenceLength);
        if (4 * numKvPairs > sequenceLength)
            throw new IllegalArgumentException("mqar: " + numKvPairs + " key-value pairs need a sequence length of at least "
                    + 4 * numKvPairs + " (pairs plus queries), got " + sequenceLength);
        if (vocabSize / 2 - 1 < numKvPairs)
            throw new IllegalArgumentException("mqar: vocab_size " + vocabSize + " has only " + (vocabSize / 2 - 1)
                    + " key tokens (1..V/2-1) for " + numKvPairs + " distinct keys; need vocab_size >= " + 2 * (numKvPairs + 1));
        if (!(powerA > 0)) throw new IllegalArgumentException("mqar: power_a must be positive, got " + powerA);
        this.vocabSize = vocabSize;
        this.sequenceLength = sequenceLength;
        this.numKvPairs = numKvPairs;
        this.powerA = powerA;
        this.randomNonQueries = randomNonQueries;
        int space = (sequenceLength - 2 * numKvPairs) / 2;
        gapWeights = new double[space];
        for (int i = 0; i < space; i++) gapWeights[i] = Math.pow(i + 1, powerA - 1);
    }

    /** Zoology-style settings with the default power law and random filler. */
    public Mqar(int vocabSize, int sequenceLength, int numKvPairs) {
        this(vocabSize, sequenceLength, numKvPairs, 0.01, true);
    }

    public int numKvPairs() { return numKvPairs; }

    @Override
    public String name() { return "mqar"; }

    @Override
    public int vocabSize() { return vocabSize; }

    @Override
    public int sequenceLength() { return sequenceLength; }

    @Override
    public Example generate(SplittableRandom rng) {
        int half = vocabSize / 2;
        int[] keys = distinct(rng, 1, half, numKvPairs);
        int[] values = distinct(rng, half, vocabSize, numKvPairs);
        int[] gaps = powerLawGaps(rng);
        int context = 2 * numKvPairs;
        int[] inputs = new int[sequenceLength];
        int[] targets = new int[sequenceLength];
        java.util.Arrays.fill(targets, Batch.IGNORE);
        for (int j = 0; j < numKvPairs; j++) {
            inputs[2 * j] = keys[j];
            inputs[2 * j + 1] = values[j];
        }
        boolean[] query = new boolean[sequenceLength];
        for (int j = 0; j < numKvPairs; j++) {
            int at = context + 2 * gaps[j];
            inputs[at] = keys[j];
            targets[at] = values[j];
            query[at] = true;
        }
        if (randomNonQueries)
            for (int t = context; t < sequenceLength; t++) if (!query[t]) inputs[t] = rng.nextInt(vocabSize);
        return new Example(inputs, targets);
    }

    /** {@code count} distinct ints from [from, to) in random order. */
    private static int[] distinct(SplittableRandom rng, int from, int to, int count) {
        int range = to - from;
        int[] out = new int[count];
        if (4L * count <= range) {
            // Few picks from a large range: rejection is cheaper than materialising the range.
            for (int i = 0; i < count; i++) {
                int v;
                boolean dup;
                do {
                    v = from + rng.nextInt(range);
                    dup = false;
                    for (int k = 0; k < i; k++) if (out[k] == v) { dup = true; break; }
                } while (dup);
                out[i] = v;
            }
        } else {
            int[] pool = new int[range];
            for (int i = 0; i < range; i++) pool[i] = from + i;
            for (int i = 0; i < count; i++) {
                int j = i + rng.nextInt(range - i);
                int tmp = pool[i]; pool[i] = pool[j]; pool[j] = tmp;
                out[i] = pool[i];
            }
        }
        return out;
    }

    /** numKvPairs distinct gaps in [0, space), drawn one by one with the power-law weights of those left. */
    private int[] powerLawGaps(SplittableRandom rng) {
        double[] w = gapWeights.clone();
        int[] gaps = new int[numKvPairs];
        for (int j = 0; j < numKvPairs; j++) {
            double total = 0;
            for (double x : w) total += x;  // summed afresh each pick: no drift from subtracting
            double u = rng.nextDouble() * total;
            int pick = -1;
            for (int i = 0; i < w.length; i++) {
                if (w[i] == 0) continue;
                pick = i;
                u -= w[i];
                if (u < 0) break;
            }
            gaps[j] = pick;
            w[pick] = 0;
        }
        return gaps;
    }

    @Override
    public String describe() {
        return "mqar(vocab=" + vocabSize + ", length=" + sequenceLength + ", kv_pairs=" + numKvPairs + ", power_a=" + powerA
                + (randomNonQueries ? "" : ", random_non_queries=false") + ")";
    }

    @Override
    public String toString() { return describe(); }
}
