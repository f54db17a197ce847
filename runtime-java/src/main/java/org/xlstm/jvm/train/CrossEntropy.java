package org.xlstm.jvm.train;

import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;
import org.xlstm.jvm.data.Batch;

/**
 * Mean cross-entropy over the scored positions of a batch, as torch's
 * {@code cross_entropy(logits.view(-1, V), targets.view(-1), ignore_index=-1)}, and its gradient with respect to the
 * logits: (softmax − onehot) / count on scored rows, 0 on ignored rows. Logits are float32 [B·S, V] row-major in
 * native order; sums run in double.
 */
public final class CrossEntropy {
    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    private static final ByteOrder NATIVE = ByteOrder.nativeOrder();

    private CrossEntropy() {}

    public static double loss(float[] logits, Batch batch) {
        return lossAndGradient(MemorySegment.ofArray(logits), batch, null);
    }

    /** Tensor form: logits [B, S, V]; {@code dLogits} of the same shape, or null. */
    public static double lossAndGradient(org.xlstm.jvm.tensor.Tensor logits, Batch batch, org.xlstm.jvm.tensor.Tensor dLogits) {
        return lossAndGradient(logits.segment().asSlice(0, logits.size() * 4), batch,
                dLogits == null ? null : dLogits.segment().asSlice(0, dLogits.size() * 4));
    }

    public static double loss(MemorySegment logits, Batch batch) {
        return lossAndGradient(logits, batch, null);
    }

    /**
     * @param dLogits where the gradient of the mean loss goes (same layout as the logits), or null
     * @return the mean loss; NaN when no position is scored (as torch)
     */
    public static double lossAndGradient(MemorySegment logits, Batch batch, MemorySegment dLogits) {
        int rows = batch.batchSize() * batch.seqLen();
        int vocab = vocabOf(logits, batch);
        if (dLogits != null && dLogits.byteSize() != logits.byteSize())
            throw new IllegalArgumentException("gradient buffer holds " + dLogits.byteSize() / 4 + " floats, logits " + logits.byteSize() / 4);
        int count = batch.scoredPositions();
        double total = 0;
        for (int r = 0; r < rows; r++) {
            int target = batch.targets()[r];
            long base = (long) r * vocab;
            if (target == Batch.IGNORE) {
                if (dLogits != null) dLogits.asSlice(base * 4, (long) vocab * 4).fill((byte) 0);
                continue;
            }
            checkTarget(target, vocab, r, batch.seqLen());
            double logZ = logSumExp(logits, base, vocab);
            total += logZ - logits.getAtIndex(Parameter.F32, base + target);
            if (dLogits != null) {
                double inv = 1.0 / count;
                for (int j = 0; j < vocab; j++) {
                    double p = Math.exp(logits.getAtIndex(Parameter.F32, base + j) - logZ);
                    dLogits.setAtIndex(Parameter.F32, base + j, (float) ((p - (j == target ? 1 : 0)) * inv));
                }
            }
        }
        return count == 0 ? Double.NaN : total / count;
    }

    static int vocabOf(MemorySegment logits, Batch batch) {
        long rows = (long) batch.batchSize() * batch.seqLen();
        long floats = logits.byteSize() / 4;
        if (floats % rows != 0 || floats == 0)
            throw new IllegalArgumentException("logits hold " + floats + " floats, not a multiple of the batch's "
                    + batch.batchSize() + "×" + batch.seqLen() + " positions");
        return (int) (floats / rows);
    }

    /** log Σ exp(x) of one row (max-shifted). */
    static double logSumExp(MemorySegment x, long base, int n) {
        float max = rowMax(x, base, n);
        return max + Math.log(sumExp(x, base, n, max));
    }

    static void checkTarget(int target, int vocab, int row, int seqLen) {
        if (target >= vocab)
            throw new IllegalArgumentException("target id " + target + " at [" + row / seqLen + ", " + row % seqLen
                    + "] is outside the model's vocabulary of " + vocab);
    }

    static float rowMax(MemorySegment x, long base, int n) {
        float max = Float.NEGATIVE_INFINITY;
        int j = 0;
        if (n >= S.length()) {
            FloatVector m = FloatVector.broadcast(S, Float.NEGATIVE_INFINITY);
            for (int upper = S.loopBound(n); j < upper; j += S.length())
                m = m.max(FloatVector.fromMemorySegment(S, x, (base + j) * 4, NATIVE));
            max = m.reduceLanes(VectorOperators.MAX);
        }
        for (; j < n; j++) max = Math.max(max, x.getAtIndex(Parameter.F32, base + j));
        return max;
    }

    /**
     * Σ exp(x − max) in double with Math.exp. Not the Vector API's EXP: its lanes are computed by different code
     * before and after the JIT compiles the loop, so the same logits gave losses differing in the last bits within
     * one run, which breaks bit-identical reruns and resumes.
     */
    private static double sumExp(MemorySegment x, long base, int n, float max) {
        double sum = 0;
        for (int j = 0; j < n; j++) sum += Math.exp((double) x.getAtIndex(Parameter.F32, base + j) - max);
        return sum;
    }
}
