package org.xlstm.jvm.train;

import java.lang.foreign.MemorySegment;
import org.xlstm.jvm.data.Batch;

/**
 * Loss and accuracy over the scored positions of any number of batches, accumulated as the official torchmetrics
 * collection does (micro average: correct scored positions / scored positions, ignore index −1).
 * <ul>
 *   <li>{@code loss}: mean cross-entropy per scored position over everything seen (the official validation prints
 *       the mean of per-batch means; the same number when every batch scores as many positions, as the formal
 *       languages with their one answer per sequence do);</li>
 *   <li>{@code accuracy}: argmax (first maximum, as torch) equals the target — the official metric, which the
 *       official code calls SequenceAccuracy although it is per token;</li>
 *   <li>{@code sequenceAccuracy}: sequences whose every scored position is right, over sequences with at least one
 *       scored position (ours; equal to accuracy for the one-answer formal languages, stricter for MQAR).</li>
 * </ul>
 */
public final class TaskMetrics {
    private double lossSum;
    private long scored, correct, sequences, sequencesCorrect;

    /** The running sums, for a checkpoint. */
    public record State(double lossSum, long scored, long correct, long sequences, long sequencesCorrect) {}

    public State state() { return new State(lossSum, scored, correct, sequences, sequencesCorrect); }

    public void restore(State s) {
        lossSum = s.lossSum();
        scored = s.scored();
        correct = s.correct();
        sequences = s.sequences();
        sequencesCorrect = s.sequencesCorrect();
    }

    public record Result(double loss, double accuracy, double sequenceAccuracy, long scoredPositions, long sequences) {}

    public void update(float[] logits, Batch batch) {
        update(MemorySegment.ofArray(logits), batch);
    }

    /** Adds a batch: logits [B, S, V] (or [B·S, V]) as the model's forward pass returns them. */
    public void update(org.xlstm.jvm.tensor.Tensor logits, Batch batch) {
        update(logits.segment().asSlice(0, logits.size() * 4), batch);
    }

    /** Adds a batch: logits float32 [B·S, V] row-major, native order (a tensor's segment or a heap array). */
    public void update(MemorySegment logits, Batch batch) {
        int vocab = CrossEntropy.vocabOf(logits, batch);
        int s = batch.seqLen();
        for (int b = 0; b < batch.batchSize(); b++) {
            boolean any = false, allRight = true;
            for (int t = 0; t < s; t++) {
                int r = b * s + t;
                int target = batch.targets()[r];
                if (target == Batch.IGNORE) continue;
                CrossEntropy.checkTarget(target, vocab, r, s);
                long base = (long) r * vocab;
                float max = CrossEntropy.rowMax(logits, base, vocab);
                int argmax = 0;
                while (logits.getAtIndex(Parameter.F32, base + argmax) != max && argmax < vocab - 1) argmax++;
                lossSum += CrossEntropy.logSumExp(logits, base, vocab) - logits.getAtIndex(Parameter.F32, base + target);
                scored++;
                any = true;
                if (argmax == target) correct++;
                else allRight = false;
            }
            if (any) {
                sequences++;
                if (allRight) sequencesCorrect++;
            }
        }
    }

    /**
     * Adds a batch from per-row results computed where the logits are (a GPU): the first arg-max of each row and the
     * negative log-likelihood of its target (ignored rows: anything).
     */
    public void update(int[] argmax, double[] nll, Batch batch) {
        int s = batch.seqLen();
        for (int b = 0; b < batch.batchSize(); b++) {
            boolean any = false, allRight = true;
            for (int t = 0; t < s; t++) {
                int r = b * s + t;
                int target = batch.targets()[r];
                if (target == Batch.IGNORE) continue;
                lossSum += nll[r];
                scored++;
                any = true;
                if (argmax[r] == target) correct++;
                else allRight = false;
            }
            if (any) {
                sequences++;
                if (allRight) sequencesCorrect++;
            }
        }
    }

    public Result result() {
        return new Result(scored == 0 ? Double.NaN : lossSum / scored, scored == 0 ? Double.NaN : (double) correct / scored,
                sequences == 0 ? Double.NaN : (double) sequencesCorrect / sequences, scored, sequences);
    }

    public void reset() {
        lossSum = 0;
        scored = correct = sequences = sequencesCorrect = 0;
    }
}
