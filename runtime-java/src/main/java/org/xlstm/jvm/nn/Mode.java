package org.xlstm.jvm.nn;

/** How the mLSTM cells process a sequence (sLSTM cells are always recurrent). All three compute the same function. */
public enum Mode {
    /** Quadratic parallel form (the official training form of the xLSTM LM). */
    PARALLEL,
    /** Chunkwise form: parallel inside chunks, recurrent between them; O(S·L). */
    CHUNKWISE,
    /** Recurrent form, one token after another. */
    STEP;

    public static Mode parse(String s) {
        return switch (s.trim().toLowerCase()) {
            case "parallel" -> PARALLEL;
            case "chunkwise" -> CHUNKWISE;
            case "step", "recurrent" -> STEP;
            default -> throw new IllegalArgumentException("unknown mode \"" + s + "\"; use parallel, chunkwise or step");
        };
    }
}
