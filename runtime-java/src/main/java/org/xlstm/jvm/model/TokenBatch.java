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
}
