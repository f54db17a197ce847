package org.xlstm.jvm.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.xlstm.jvm.backend.cpu.CpuOps;
import org.xlstm.jvm.backend.cpu.Parallel;
import org.xlstm.jvm.config.MlstmLayerConfig;
import org.xlstm.jvm.config.SlstmBlockConfig;
import org.xlstm.jvm.config.SlstmLayerConfig;
import org.xlstm.jvm.config.XlstmConfig;
import org.xlstm.jvm.tensor.Tensor;

/** Whole-model training steps: bit-identical on any thread count, dropout only in training, parameters updated in place. */
class TrainingStepTest {
    private static XlstmConfig config(double dropout) {
        return XlstmConfig.builder().vocabSize(17).contextLength(64).embeddingDim(32).numBlocks(2).slstmAt(1)
                .mlstm(MlstmLayerConfig.DEFAULTS.withNumHeads(2))
                .slstmBlock(new SlstmBlockConfig(SlstmLayerConfig.DEFAULTS.withNumHeads(2), null))
                .dropout(dropout).build();
    }

    private static int[][] batch(int b, int s, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        int[] in = new int[b * s], tg = new int[b * s];
        for (int i = 0; i < in.length; i++) {
            in[i] = r.nextInt(17);
            tg[i] = i % 5 == 0 ? -1 : r.nextInt(17);
        }
        return new int[][] {in, tg};
    }

    private static float[][] gradients(TrainableLanguageModel m) {
        return m.gradients().all().values().stream().map(Tensor::toArray).toArray(float[][]::new);
    }

    @Test
    void gradientsAreBitIdenticalOnOneThreadAndOnThePool() {
        int[][] data = batch(4, 70, 1);   // 70 steps: two chunks of 64, a ragged last one
        try (TrainableLanguageModel m = (TrainableLanguageModel) Models.initialized(config(0), 3, new CpuOps())) {
            m.gradients().zero();
            double loss = m.lossAndGradients(data[0], data[1], 4, 70, 0);
            float[][] par = gradients(m);
            double[] seqLoss = new double[1];
            m.gradients().zero();
            Parallel.sequentially(() -> seqLoss[0] = m.lossAndGradients(data[0], data[1], 4, 70, 0));
            float[][] seq = gradients(m);
            assertEquals(loss, seqLoss[0]);
            for (int i = 0; i < par.length; i++) assertArrayEquals(seq[i], par[i], "gradient " + i);
        }
    }

    @Test
    void dropoutActsOnlyInTrainingAndFollowsItsSeed() {
        int[][] data = batch(2, 16, 2);
        try (TrainableLanguageModel m = (TrainableLanguageModel) Models.initialized(config(0.5), 3, new CpuOps());
             TrainableLanguageModel plain = (TrainableLanguageModel) Models.initialized(config(0), 3, new CpuOps())) {
            double a = m.lossAndGradients(data[0], data[1], 2, 16, 11), b = m.lossAndGradients(data[0], data[1], 2, 16, 11),
                    c = m.lossAndGradients(data[0], data[1], 2, 16, 12);
            assertEquals(a, b, "the same seed draws the same masks");
            assertNotEquals(a, c, "another seed, other masks");
            double evalWithDropoutConfig = m.loss(data[0], data[1], 2, 16), evalPlain = plain.loss(data[0], data[1], 2, 16);
            assertEquals(evalPlain, evalWithDropoutConfig, 1e-6, "evaluation has no dropout");
            assertEquals(evalPlain, plain.lossAndGradients(data[0], data[1], 2, 16, 11), 1e-5, "training loss without dropout = evaluation loss");
        }
    }

    @Test
    void anUpdateInPlaceIsSeenByTheNextStep() {
        int[][] data = batch(2, 16, 3);
        try (TrainableLanguageModel m = (TrainableLanguageModel) Models.initialized(config(0), 3, new CpuOps())) {
            double before = m.lossAndGradients(data[0], data[1], 2, 16, 0);
            // a plain SGD step on every parameter, written in place as an optimizer does
            Map<String, Tensor> g = m.gradients().all();
            m.parameters().forEach((name, p) -> {
                Tensor d = g.get(name);
                for (long i = 0; i < p.size(); i++) p.set(i, p.get(i) - 0.5f * d.get(i));
            });
            double after = m.loss(data[0], data[1], 2, 16);
            assertTrue(after < before, "the loss falls after a gradient step: " + before + " → " + after);
        }
    }

    @Test
    void badBatchesAreRejectedWithTheirPlace() {
        try (TrainableLanguageModel m = (TrainableLanguageModel) Models.initialized(config(0), 3, new CpuOps())) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> m.lossAndGradients(new int[] {1, 2, 99, 3}, new int[] {1, 1, 1, 1}, 2, 2, 0));
            assertTrue(e.getMessage().contains("[1, 0]"), e.getMessage());
            assertThrows(IllegalArgumentException.class, () -> m.lossAndGradients(new int[] {1, 2, 3}, new int[] {1, 1, 1, 1}, 2, 2, 0));
            assertThrows(IllegalArgumentException.class, () -> m.lossAndGradients(new int[] {1, 2, 3, 4}, new int[] {1, 1, 17, 1}, 2, 2, 0));
        }
    }
}
