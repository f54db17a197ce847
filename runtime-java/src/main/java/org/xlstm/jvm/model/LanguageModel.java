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

    @Override
    void close();
}
