package org.xlstm.jvm.model;

/** Checks and flattens a [B][S] token batch. */
final class TokenBatch {
    private TokenBatch() {}

    static int[] flatten(int[][] tokens, int[] reuse) {
        if (tokens.length == 0) throw new IllegalArgumentException("empty token batch");
        int s = tokens[0].length;
        int[] flat = reuse != null && reuse.length == tokens.length * s ? reuse : new int[tokens.length * s];
        for (int b = 0; b < tokens.length; b++) {
            if (tokens[b].length != s)
                throw new IllegalArgumentException("token batch is ragged: row 0 has " + s + " tokens, row " + b + " has "
                        + tokens[b].length);
            System.arraycopy(tokens[b], 0, flat, b * s, s);
        }
        return flat;
    }

    /** A model's forward pass over a token batch, as {@link #dispatch} calls it. */
    interface Forward {
        org.xlstm.jvm.tensor.Tensor run(int[][] tokens, ModelState state, org.xlstm.jvm.nn.Mode mode,
                                        org.xlstm.jvm.nn.BlockObserver observer);
    }

    /**
     * The common entry of the language models' forward: checks the state's batch, and sends decoding steps through
     * {@link org.xlstm.jvm.backend.Ops#repeatedStep} (the same kernels every token, which a GPU replays from a CUDA
     * graph); everything else runs {@code body} directly.
     */
    static org.xlstm.jvm.tensor.Tensor dispatch(org.xlstm.jvm.backend.Ops ops, Object model, int[][] tokens, ModelState state,
                                                org.xlstm.jvm.nn.Mode mode, org.xlstm.jvm.nn.BlockObserver observer,
                                                Forward body) {
        if (state != null && state.batch() != tokens.length)
            throw new IllegalArgumentException("state is for batch " + state.batch() + ", tokens have " + tokens.length + " rows");
        if (mode == org.xlstm.jvm.nn.Mode.STEP && state != null && observer == null)
            return ops.repeatedStep(model, state, flatten(tokens, null), () -> body.run(tokens, state, mode, null));
        return body.run(tokens, state, mode, observer);
    }
}
