package org.xlstm.jvm.backend;

/**
 * The dropout decision of one element: a counter-based hash (SplitMix64) of (seed, index), so masks need no
 * storage, the backward regenerates the forward's mask, and every backend and thread count draws the same one.
 */
public final class DropoutMask {
    private DropoutMask() {}

    /** Whether element {@code index} is kept under drop probability {@code p}. */
    public static boolean keep(long seed, long index, float p) {
        long z = seed + (index + 1) * 0x9E3779B97F4A7C15L;
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        z ^= z >>> 31;
        double u = (z >>> 11) * 0x1.0p-53;
        return u >= p;
    }
}
