package org.xlstm.jvm.backend.cpu;

import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorShuffle;
import jdk.incubator.vector.VectorSpecies;

/** The vector shape used by every CPU kernel: the widest the machine has (16 floats with AVX-512). */
final class Simd {
    private Simd() {}

    static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    static final int LANES = S.length();
    static final ByteOrder ORDER = ByteOrder.nativeOrder();

    /** Butterfly shuffles: lane i ↔ lane i XOR 2^k. */
    @SuppressWarnings("unchecked")
    private static final VectorShuffle<Float>[] BUTTERFLY = new VectorShuffle[Integer.numberOfTrailingZeros(LANES)];

    static {
        for (int k = 0; k < BUTTERFLY.length; k++) {
            int bit = LANES >> (k + 1);
            BUTTERFLY[k] = VectorShuffle.fromOp(S, i -> i ^ bit);
        }
    }

    /**
     * Sum of the lanes in a fixed pairwise order. {@code reduceLanes(ADD)} leaves the order unspecified, and the JIT's
     * intrinsic and the interpreter's fallback do differ in the last bit, which would make results depend on warm-up.
     */
    static float sum(FloatVector v) {
        for (VectorShuffle<Float> s : BUTTERFLY) v = v.add(v.rearrange(s));
        return v.lane(0);
    }
}
