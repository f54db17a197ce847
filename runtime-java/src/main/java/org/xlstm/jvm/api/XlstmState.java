package org.xlstm.jvm.api;

import org.xlstm.jvm.model.ModelState;

/**
 * The recurrent memory of a batch of sequences under one {@link XlstmModel}: conv windows and cell states of every
 * block. Feed it tokens with {@link #prefill} and {@link #step}; {@link #copy()} it to branch (e.g. reuse a prompt's
 * prefix for several continuations) and {@link #restore} it to go back to a snapshot.
 *
 * <p>Not thread-safe: one thread uses a state at a time (different states may be used by different threads on
 * the same model at once).
 */
public final class XlstmState {
    private final XlstmModel model;
    private ModelState state;
    private long position;

    XlstmState(XlstmModel model, ModelState state, long position) {
        this.model = model;
        this.state = state;
        this.position = position;
    }

    /** Rows in this state. */
    public int batch() { return state.batch(); }

    /** Tokens consumed so far per row. */
    public long position() { return position; }

    public XlstmModel model() { return model; }

    /**
     * Feeds a block of tokens per row (all rows the same length, in chunkwise form) and returns the logits after
     * the last one of each row, {@code [batch][vocab]}.
     */
    public float[][] prefill(int[][] tokens) {
        float[][] out = model.run(tokens, state, false);
        position += tokens[0].length;
        return out;
    }

    /** Feeds one token per row and returns the next logits, {@code [batch][vocab]}. */
    public float[][] step(int... tokens) {
        if (tokens.length != batch())
            throw new IllegalArgumentException("step needs one token per row: " + batch() + " rows, " + tokens.length + " tokens");
        int[][] t = new int[tokens.length][];
        for (int i = 0; i < tokens.length; i++) t[i] = new int[] {tokens[i]};
        float[][] out = model.run(t, state, true);
        position++;
        return out;
    }

    /**
     * Greedy decoding: feeds {@code first} (one token per row), then each step's arg-max, for {@code count} steps, and
     * returns the {@code count} arg-maxes per row (ties: the lowest id); the state has then consumed {@code first}
     * and all but the last of them. On a GPU the loop stays on the device, with no host round trip per token.
     */
    public int[][] greedy(int[] first, int count) {
        if (first.length != batch())
            throw new IllegalArgumentException("greedy needs one first token per row: " + batch() + " rows, " + first.length + " tokens");
        if (count < 0) throw new IllegalArgumentException("count must be >= 0; got " + count);
        int[][] out = model.greedy(first, state, count);
        position += Math.max(0, count);
        return out;
    }

    /** An independent copy: feeding one leaves the other unchanged. */
    public XlstmState copy() { return new XlstmState(model, state.copy(), position); }

    /** Makes this state equal to {@code snapshot} (which stays unchanged). */
    public void restore(XlstmState snapshot) {
        if (snapshot.model != model) throw new IllegalArgumentException("snapshot belongs to another model");
        if (snapshot.batch() != batch())
            throw new IllegalArgumentException("snapshot has " + snapshot.batch() + " rows, this state " + batch());
        state = snapshot.state.copy();
        position = snapshot.position;
    }

    ModelState internal() { return state; }
}
