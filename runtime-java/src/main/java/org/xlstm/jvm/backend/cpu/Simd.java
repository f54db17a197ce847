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
}
