package org.xlstm.jvm.train;

import static org.junit.jupiter.api.Assertions.*;

import java.lang.foreign.MemorySegment;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.xlstm.jvm.data.Batch;

class CrossEntropyAndMetricsTest {
    /** Two sequences of 3 positions, vocabulary 20 (longer than a vector, with a tail). */
    private static final int V = 20;
    private static final Batch BATCH = new Batch(new int[] {1, 2, 3, 4, 5, 6}, new int[] {-1, 7, 3, 19, -1, 0}, 2, 3);

    private static float[] randomLogits(long seed) {
        Random r = new Random(seed);
        float[] x = new float[6 * V];
        for (int i = 0; i < x.length; i++) x[i] = (float) (r.nextGaussian() * 3);
        return x;
    }

    private static double directLoss(float[] x) {
        double total = 0;
        int n = 0;
        for (int row = 0; row < 6; row++) {
            int t = BATCH.targets()[row];
            if (t < 0) continue;
            double z = 0;
            for (int j = 0; j < V; j++) z += Math.exp(x[row * V + j]);
            total += Math.log(z) - x[row * V + t];
            n++;
        }
        return total / n;
    }

    @Test
    void lossIsTheMeanOverScoredPositionsAndTheGradientMatchesFiniteDifferences() {
        float[] x = randomLogits(3);
        assertEquals(directLoss(x), CrossEntropy.loss(x, BATCH), 1e-6);
        float[] uniform = new float[6 * V];
        assertEquals(Math.log(V), CrossEntropy.loss(uniform, BATCH), 1e-6);

        float[] g = new float[x.length];
        double loss = CrossEntropy.lossAndGradient(MemorySegment.ofArray(x), BATCH, MemorySegment.ofArray(g));
        assertEquals(directLoss(x), loss, 1e-6);
        for (int i = 0; i < x.length; i++) {
            int row = i / V;
            if (BATCH.targets()[row] < 0) { assertEquals(0f, g[i], "ignored rows get no gradient"); continue; }
            float[] plus = x.clone(), minus = x.clone();
            plus[i] += 1e-2f;
            minus[i] -= 1e-2f;
            double fd = (directLoss(plus) - directLoss(minus)) / (plus[i] - minus[i]);
            assertEquals(fd, g[i], 1e-4, "d loss / d logit " + i);
        }
        assertTrue(Double.isNaN(CrossEntropy.loss(new float[2 * V], new Batch(new int[2], new int[] {-1, -1}, 1, 2))), "as torch: nothing scored");
        var e = assertThrows(IllegalArgumentException.class, () -> CrossEntropy.loss(new float[6 * 5], BATCH));
        assertTrue(e.getMessage().contains("target id 7 at [0, 1] is outside the model's vocabulary of 5"), e.getMessage());
    }

    @Test
    void tensorFormsAgreeWithArrays() {
        float[] x = randomLogits(4);
        try (java.lang.foreign.Arena arena = java.lang.foreign.Arena.ofConfined()) {
            var logits = org.xlstm.jvm.tensor.Tensor.of(arena, x, 2, 3, V);
            var grad = org.xlstm.jvm.tensor.Tensor.allocate(arena, 2, 3, V);
            float[] g = new float[x.length];
            assertEquals(CrossEntropy.lossAndGradient(MemorySegment.ofArray(x), BATCH, MemorySegment.ofArray(g)),
                    CrossEntropy.lossAndGradient(logits, BATCH, grad), 0.0);
            assertArrayEquals(g, grad.toArray());
            TaskMetrics a = new TaskMetrics(), b = new TaskMetrics();
            a.update(x, BATCH);
            b.update(logits, BATCH);
            assertEquals(a.result(), b.result());
            Parameter p = Parameter.of("lm_head.weight", logits, grad);
            assertArrayEquals(new int[] {2, 3, V}, p.shape());
            assertArrayEquals(x, p.valueArray());
        }
        assertArrayEquals(new int[][] {{1, 2, 3}, {4, 5, 6}}, BATCH.inputRows());
    }

    @Test
    void accuracyCountsScoredPositionsAndSequencesSeparately() {
        float[] x = new float[6 * V];
        // Right at rows 1, 2 (sequence 0 all right), right at row 3, wrong at row 5 (sequence 1 not all right).
        x[1 * V + 7] = 5;
        x[2 * V + 3] = 5;
        x[3 * V + 19] = 5;
        x[5 * V + 1] = 5;
        x[0 * V + 4] = 9;  // ignored row: does not count
        TaskMetrics m = new TaskMetrics();
        m.update(x, BATCH);
        TaskMetrics.Result r = m.result();
        assertEquals(4, r.scoredPositions());
        assertEquals(0.75, r.accuracy(), 1e-12);
        assertEquals(2, r.sequences());
        assertEquals(0.5, r.sequenceAccuracy(), 1e-12);
        assertEquals(CrossEntropy.loss(x, BATCH), r.loss(), 1e-9);

        m.update(x, BATCH);  // accumulates: same ratios, twice the counts
        assertEquals(8, m.result().scoredPositions());
        assertEquals(0.75, m.result().accuracy(), 1e-12);
        float[] ties = new float[6 * V];  // all equal: argmax is the first index, as torch
        m.reset();
        m.update(ties, new Batch(new int[6], new int[] {0, -1, -1, 1, -1, -1}, 2, 3));
        assertEquals(0.5, m.result().accuracy(), 1e-12);
    }
}
