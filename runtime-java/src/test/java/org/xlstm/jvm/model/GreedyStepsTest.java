package org.xlstm.jvm.model;

import static org.junit.jupiter.api.Assertions.*;

import org.junit.jupiter.api.Test;
import org.xlstm.jvm.backend.Ops;
import org.xlstm.jvm.backend.cpu.CpuOps;
import org.xlstm.jvm.config.MlstmLayerConfig;
import org.xlstm.jvm.config.XlstmConfig;
import org.xlstm.jvm.nn.Mode;
import org.xlstm.jvm.tensor.Tensor;

/** {@link LanguageModel#greedy}: what it feeds, what it returns, what it refuses. */
class GreedyStepsTest {
    private static final XlstmConfig CONFIG = XlstmConfig.builder().vocabSize(31).contextLength(16).embeddingDim(16)
            .numBlocks(2).mlstm(MlstmLayerConfig.DEFAULTS.withNumHeads(2)).build();

    @Test
    void feedsEachArgmaxAndReturnsThem() {
        try (LanguageModel lm = Models.initialized(CONFIG, 3, new CpuOps())) {
            ModelState s = lm.newState(2), manual = lm.newState(2);
            int[][] got = lm.greedy(new int[] {4, 9}, s, 6);
            int[][] next = {{4}, {9}};
            float[] row = new float[lm.vocabSize()];
            for (int i = 0; i < 6; i++) {
                Tensor logits = lm.forward(next, manual, Mode.STEP, null);
                for (int r = 0; r < 2; r++) {
                    lm.ops().read(logits, (long) r * lm.vocabSize(), row, 0, row.length);
                    assertEquals(Ops.argmax(row), got[r][i], "row " + r + ", token " + i);
                    next[r][0] = got[r][i];
                }
            }
            assertEquals(0, lm.greedy(new int[] {1, 1}, s, 0)[0].length);
        }
    }

    @Test
    void refusesTokensOutsideTheVocabularyAndMismatchedStates() {
        try (LanguageModel lm = Models.initialized(CONFIG, 3, new CpuOps())) {
            var e = assertThrows(IllegalArgumentException.class, () -> lm.greedy(new int[] {1, 31}, lm.newState(2), 3));
            assertTrue(e.getMessage().contains("row 1") && e.getMessage().contains("31"), e.getMessage());
            e = assertThrows(IllegalArgumentException.class, () -> lm.greedy(new int[] {1}, lm.newState(2), 3));
            assertTrue(e.getMessage().contains("batch 2"), e.getMessage());
        }
    }

    @Test
    void argmaxTakesTheFirstOfTiesAndNanAsTheLargest() {
        assertEquals(1, Ops.argmax(new float[] {0f, 2f, 2f, 1f}));
        assertEquals(2, Ops.argmax(new float[] {0f, 2f, Float.NaN, 3f, Float.NaN}));
        assertEquals(0, Ops.argmax(new float[] {Float.NEGATIVE_INFINITY, Float.NEGATIVE_INFINITY}));
    }
}
