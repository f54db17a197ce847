package org.xlstm.jvm.api;

/** Receives generated tokens as they come. Return false to stop generating. */
@FunctionalInterface
public interface TokenListener {
    /**
     * @param row   which prompt of a batch the token continues (0 for a single prompt)
     * @param token the new token id
     * @return true to go on, false to stop this row
     */
    boolean onToken(int row, int token);
}
