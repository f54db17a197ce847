package org.xlstm.jvm.model;

import org.xlstm.jvm.backend.Ops;
import org.xlstm.jvm.config.ModelConfig;
import org.xlstm.jvm.nn.Mode;
import org.xlstm.jvm.nn.BlockObserver;
import org.xlstm.jvm.tensor.Tensor;

/**
 * A language model on some backend: token ids in, logits out, in any of the three forms, with an explicit
 * recurrent state for prefill-then-step generation. Not thread-safe: one caller at a time.
 */
public interface LanguageModel extends AutoCloseable {
    ModelConfig config();

    Ops ops();

    int vocabSize();

    /** A zero state for {@code batch} rows (the official recurrent start). */
    ModelState newState(int batch);

    /**
     * Logits {@code [B, S, V]} for tokens {@code [B][S]}. With a state the model continues from it and leaves the
     * final state there (prefill, or one step when S = 1); without, it starts from zeros. The observer (may be null)
     * sees each block's output before the final norm. The returned tensor lives in the model's workspace: it is
     * valid until the next call on this model.
     */
    Tensor forward(int[][] tokens, ModelState state, Mode mode, BlockObserver observer);

    default Tensor forward(int[][] tokens, Mode mode) { return forward(tokens, null, mode, null); }

    /**
     * Greedy decoding from {@code state}: feeds {@code first} (one token per row), then each step's arg-max, for
     * {@code count} recurrent steps, and returns the {@code count} arg-maxes per row (ties: the lowest id, as
     * torch.argmax). The state ends having consumed {@code first} and all but the last arg-max. On a GPU the whole
     * loop stays on the device ({@link Ops#greedySteps}).
     */
    default int[][] greedy(int[] first, ModelState state, int count) {
        if (state == null) throw new IllegalArgumentException("greedy decoding needs a state");
        if (first.length != state.batch())
            throw new IllegalArgumentException("state is for batch " + state.batch() + ", first tokens have " + first.length + " rows");
        if (count < 0) throw new IllegalArgumentException("token count must not be negative; got " + count);
        for (int r = 0; r < first.length; r++)
            if (first[r] < 0 || first[r] >= vocabSize())
                throw new IllegalArgumentException("first token of row " + r + " is " + first[r] + ", outside the vocabulary [0, "
                        + vocabSize() + ")");
        return ops().greedySteps(this, state, first, count, tokens -> {
            int[][] column = new int[tokens.length][];
            for (int r = 0; r < tokens.length; r++) column[r] = new int[] {tokens[r]};
            return forward(column, state, Mode.STEP, null);
        });
    }

    @Override
    void close();
}
