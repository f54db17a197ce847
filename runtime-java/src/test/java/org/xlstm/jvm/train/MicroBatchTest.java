package org.xlstm.jvm.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.xlstm.jvm.backend.cpu.CpuOps;
import org.xlstm.jvm.backend.cpu.Parallel;
import org.xlstm.jvm.config.MlstmLayerConfig;
import org.xlstm.jvm.config.SlstmBackend;
import org.xlstm.jvm.config.SlstmBlockConfig;
import org.xlstm.jvm.config.SlstmLayerConfig;
import org.xlstm.jvm.config.XlstmConfig;
import org.xlstm.jvm.data.Batch;
import org.xlstm.jvm.model.Models;
import org.xlstm.jvm.model.TrainableLanguageModel;

/** A step split into micro-batches on replicas computes the same loss and gradients as the whole batch. */
class MicroBatchTest {
    private static final XlstmConfig MODEL = XlstmConfig.builder().vocabSize(13).contextLength(32).embeddingDim(32)
            .numBlocks(2).slstmAt(1).mlstm(MlstmLayerConfig.DEFAULTS.withNumHeads(2))
            .slstmBlock(new SlstmBlockConfig(SlstmLayerConfig.DEFAULTS.withNumHeads(2).withBackend(SlstmBackend.VANILLA), null))
            .build();

    private static Batch batch() {
        SplittableRandom r = new SplittableRandom(4);
        int b = 5, s = 20;
        int[] in = new int[b * s], tg = new int[b * s];
        for (int i = 0; i < in.length; i++) {
            in[i] = r.nextInt(13);
            tg[i] = r.nextInt(4) == 0 ? -1 : r.nextInt(13);   // rows with different numbers of scored positions
        }
        return new Batch(in, tg, b, s);
    }

    private static float[][] grads(List<Parameter> ps) { return ps.stream().map(Parameter::gradArray).toArray(float[][]::new); }

    @Test
    void microBatchesAddUpToTheWholeBatch() {
        Batch b = batch();
        try (TrainableLanguageModel m = (TrainableLanguageModel) Models.initialized(MODEL, 1, new CpuOps())) {
            TrainableXlstm whole = new TrainableXlstm(m, 0, 1), split = new TrainableXlstm(m, 0, 3);
            for (Parameter p : whole.parameters()) p.zeroGrad();
            float lw = whole.lossAndGradients(b);
            float[][] gw = grads(whole.parameters());
            for (Parameter p : split.parameters()) p.zeroGrad();
            TaskMetrics metrics = new TaskMetrics();
            float ls = split.lossAndGradients(b, metrics);
            float[][] gs = grads(split.parameters());
            assertEquals(lw, ls, 1e-5 * Math.abs(lw));
            assertEquals(b.scoredPositions(), metrics.result().scoredPositions(), "metrics see every micro-batch");
            double num = 0, den = 0;
            for (int i = 0; i < gw.length; i++)
                for (int j = 0; j < gw[i].length; j++) {
                    num += (gs[i][j] - gw[i][j]) * (gs[i][j] - gw[i][j]);
                    den += gw[i][j] * gw[i][j];
                }
            assertTrue(Math.sqrt(num / den) < 1e-5, "gradients differ by " + Math.sqrt(num / den));

            // the split is fixed by the setting, not the threads: one thread gives the same bits
            for (Parameter p : split.parameters()) p.zeroGrad();
            float[] l1 = new float[1];
            Parallel.sequentially(() -> l1[0] = split.lossAndGradients(b));
            float[][] g1 = grads(split.parameters());
            for (Parameter p : split.parameters()) p.zeroGrad();
            float l2 = split.lossAndGradients(b);
            assertEquals(l1[0], l2);
            float[][] g2 = grads(split.parameters());
            for (int i = 0; i < g1.length; i++) assertArrayEquals(g1[i], g2[i]);
            split.closeReplicas();
        }
    }
}
