package org.xlstm.jvm.backend;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

class ScalarMathTest {
    @Test
    void erfMatchesTabulatedValues() {
        // values from the literature (Abramowitz & Stegun table 7.1 / high-precision tables)
        double[][] table = {{0.0, 0.0}, {0.1, 0.1124629160182849}, {0.5, 0.5204998778130465}, {1.0, 0.8427007929497149},
                {1.5, 0.9661051464753108}, {2.0, 0.9953222650189527}, {2.5, 0.9995930479825550}, {3.0, 0.9999779095030014},
                {4.0, 0.9999999845827421}, {-0.5, -0.5204998778130465}, {-3.0, -0.9999779095030014}};
        for (double[] row : table) assertEquals(row[1], ScalarMath.erf(row[0]), 1e-14, "erf(" + row[0] + ")");
    }

    @Test
    void geluIsTheExactErfForm() {
        // torch.nn.functional.gelu(torch.tensor(1.0, dtype=float64)) = 0.8413447460685429
        assertEquals(0.8413447460685429, ScalarMath.gelu(1.0), 1e-15);
        assertEquals(-0.15865525393145707, ScalarMath.gelu(-1.0), 1e-15);
        assertEquals(0.0, ScalarMath.gelu(-40.0), 1e-300);
    }

    @Test
    void logSigmoidIsStableAtBothEnds() {
        assertEquals(-Math.log(2), ScalarMath.logSigmoid(0), 1e-15);
        assertEquals(-1000.0, ScalarMath.logSigmoid(-1000), 1e-9);
        assertEquals(-Math.exp(-40), ScalarMath.logSigmoid(40), 1e-30);
    }
}
