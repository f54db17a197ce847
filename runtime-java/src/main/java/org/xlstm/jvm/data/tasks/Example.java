package org.xlstm.jvm.data.tasks;

import org.xlstm.jvm.data.Batch;

/**
 * One generated example, already in model form: {@code inputs[t]} fed at position t, {@code targets[t]} the id to
 * predict there or {@link Batch#IGNORE}. Both arrays have the example's own length; batches pad them.
 */
public record Example(int[] inputs, int[] targets) {
    public Example {
        if (inputs.length != targets.length)
            throw new IllegalArgumentException("inputs and targets differ in length: " + inputs.length + " vs " + targets.length);
    }

    public int length() { return inputs.length; }

    /**
     * The official formal-language transformation (FormLangDataset with enable_mask and shift 1): the input is the
     * sequence with answer positions replaced by {@link Batch#PAD}; the target is the answer token at answer positions
     * and {@link Batch#IGNORE} elsewhere; then the input drops its last position and the target its first, so the
     * model predicts each answer at the position before it. The official code does this on the whole context
     * (trailing zeros included); those zeros come out as pad inputs and ignored targets, which is what padding a
     * batch produces, so only the example's own length is kept here.
     */
    public static Example maskedAndShifted(int[] sequence, boolean[] answer) {
        int n = sequence.length;
        if (answer.length != n) throw new IllegalArgumentException("answer mask length " + answer.length + " != sequence length " + n);
        if (n < 2) throw new IllegalArgumentException("a sequence needs at least 2 tokens to be shifted, got " + n);
        int[] in = new int[n - 1];
        int[] out = new int[n - 1];
        for (int t = 0; t < n - 1; t++) {
            in[t] = answer[t] ? Batch.PAD : sequence[t];
            out[t] = answer[t + 1] ? sequence[t + 1] : Batch.IGNORE;
        }
        return new Example(in, out);
    }
}
