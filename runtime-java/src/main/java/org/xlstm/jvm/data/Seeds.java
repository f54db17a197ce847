package org.xlstm.jvm.data;

/**
 * Derives independent seeds from a run seed and a path of integers (split, example index, ...), so that every
 * example's generator is fixed by numbers alone: no generator state has to be saved to resume a run.
 *
 * <p>Each step mixes with SplitMix64's finaliser (the mixer {@link java.util.SplittableRandom} is built on), which
 * spreads a one-bit change of any input over all output bits.
 */
public final class Seeds {
    private static final long GOLDEN = 0x9E3779B97F4A7C15L;

    private Seeds() {}

    public static long derive(long seed, long... path) {
        long h = mix(seed ^ 0x2545F4914F6CDD1DL);
        for (long p : path) h = mix(h + GOLDEN + mix(p));
        return h;
    }

    static long mix(long z) {
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }
}
