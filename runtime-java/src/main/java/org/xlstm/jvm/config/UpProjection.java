package org.xlstm.jvm.config;

/** The official up-projection size rule (UpProjConfigMixin): proj_factor·D rounded to a multiple of m. */
public final class UpProjection {
    private UpProjection() {}

    /** u = proj_factor·D, rounded up (or down) to a multiple of {@code multipleOf}. */
    public static int size(int embeddingDim, double projFactor, boolean roundUp, int multipleOf) {
        double multiplier = projFactor * embeddingDim / multipleOf;
        // Same float arithmetic as the official Python (double precision), then ceil/floor.
        long m = roundUp ? (long) Math.ceil(multiplier) : (long) Math.floor(multiplier);
        return (int) (m * multipleOf);
    }
}
