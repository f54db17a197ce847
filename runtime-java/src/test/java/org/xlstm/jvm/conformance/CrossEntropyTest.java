package org.xlstm.jvm.conformance;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

class CrossEntropyTest {
    @Test
    void meanNegativeLogLikelihoodIgnoringMinus100() {
        // two positions, vocab 3: log-softmax computed by hand
        double[] logits = {1, 2, 3, 0, 0, 0};
        double lse0 = Math.log(Math.exp(1) + Math.exp(2) + Math.exp(3));
        double lse1 = Math.log(3);
        assertEquals(((lse0 - 3) + (lse1 - 0)) / 2, Conformance.crossEntropy(logits, new int[][] {{2, 0}}, 3), 1e-12);
        assertEquals(lse0 - 1, Conformance.crossEntropy(logits, new int[][] {{0, -100}}, 3), 1e-12);
    }
}
