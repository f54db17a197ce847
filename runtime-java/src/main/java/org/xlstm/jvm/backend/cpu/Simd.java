package org.xlstm.jvm.backend.cpu;

import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/** The vector shape used by every CPU kernel: the widest the machine has (16 floats with AVX-512). */
final class Simd {
    private Simd() {}

    static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    static final int LANES = S.length();
    static final ByteOrder ORDER = ByteOrder.nativeOrder();

    /**
     * Sum of the lanes, left to right. {@code reduceLanes(ADD)} leaves the order unspecified, and the JIT's intrinsic
     * and the interpreter's fallback do differ in the last bit, which would make results depend on warm-up.
     * {@code tmp} holds at least {@link #LANES} floats.
     */
    static float sum(FloatVector v, float[] tmp) {
        v.intoArray(tmp, 0);
        float s = tmp[0];
        for (int i = 1; i < LANES; i++) s += tmp[i];
        return s;
    }
}
