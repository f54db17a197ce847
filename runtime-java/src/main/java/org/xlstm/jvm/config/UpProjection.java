package org.xlstm.jvm.config;

/** The official size-rounding rules for up-projections. */
public final class UpProjection {
    private UpProjection() {}

    /**
     * The xLSTM LM rule (official {@code UpProjConfigMixin}): u = proj_factor·D, rounded up (or down) to a multiple
     * of {@code multipleOf}, i.e. ceil(proj_factor·D / m)·m in double arithmetic as the official Python does.
     */
    public static int size(int embeddingDim, double projFactor, boolean roundUp, int multipleOf) {
        double multiplier = projFactor * embeddingDim / multipleOf;
        long m = roundUp ? (long) Math.ceil(multiplier) : (long) Math.floor(multiplier);
        return (int) (m * multipleOf);
    }

    /**
     * The xLSTM-7B rule (official {@code round_up_to_next_multiple_of}): int(((x + m − 1) // m)·m) with x a float.
     * For a fractional x this is NOT ceil(x/m)·m: when x lies less than 1 above a multiple of m it rounds down
     * (x = 128.5, m = 64 gives 128, not 192). Python's float floor division is reproduced exactly.
     */
    public static int roundUpToNextMultipleOf(double x, int multipleOf) {
        return (int) (pyFloorDiv(x + multipleOf - 1, multipleOf) * multipleOf);
    }

    /** Python's float {@code a // b} (CPython float_floor_div), for b > 0. */
    static double pyFloorDiv(double a, double b) {
        double mod = a % b; // C fmod, like CPython
        double div = (a - mod) / b;
        if (mod != 0 && (b < 0) != (mod < 0)) div -= 1.0;
        double floordiv;
        if (div != 0) {
            floordiv = Math.floor(div);
            if (div - floordiv > 0.5) floordiv += 1.0;
        } else {
            floordiv = Math.copySign(0.0, a / b);
        }
        return floordiv;
    }
}
