package org.xlstm.jvm.backend;

import static org.junit.jupiter.api.Assertions.*;

import java.lang.foreign.Arena;
import org.junit.jupiter.api.Test;
import org.xlstm.jvm.backend.cpu.CpuOps;
import org.xlstm.jvm.config.MlstmLayerConfig;
import org.xlstm.jvm.config.XlstmConfig;
import org.xlstm.jvm.model.Models;
import org.xlstm.jvm.model.TrainableLanguageModel;
import org.xlstm.jvm.nn.Mode;
import org.xlstm.jvm.tensor.Tensor;

/** The profiling proxy times forward and backward operations and leaves the numbers unchanged. */
class OpProfileTest {
    private static final XlstmConfig MODEL = XlstmConfig.builder().vocabSize(11).contextLength(16).embeddingDim(16)
            .numBlocks(2).slstmAt(1).mlstm(MlstmLayerConfig.DEFAULTS.withNumHeads(2))
            .slstmBlock(new org.xlstm.jvm.config.SlstmBlockConfig(org.xlstm.jvm.config.SlstmLayerConfig.DEFAULTS
                    .withNumHeads(2).withBackend(org.xlstm.jvm.config.SlstmBackend.VANILLA), null)).build();

    @Test
    void timesEveryOperationWithoutChangingResults() {
        OpProfile profile = new OpProfile();
        Ops profiled = OpProfile.wrap(new CpuOps(), profile);
        int[] in = {1, 2, 3, 4, 5, 6, 7, 8}, tg = {2, 3, 4, 5, 6, 7, 8, 9};
        try (TrainableLanguageModel plain = (TrainableLanguageModel) Models.initialized(MODEL, 1, new CpuOps());
             TrainableLanguageModel timed = (TrainableLanguageModel) Models.initialized(MODEL, 1, profiled)) {
            assertArrayEquals(plain.forward(new int[][] {in}, Mode.CHUNKWISE).toArray(),
                    timed.forward(new int[][] {in}, Mode.CHUNKWISE).toArray());
            assertEquals(plain.lossAndGradients(in, tg, 1, 8, 0L), timed.lossAndGradients(in, tg, 1, 8, 0L));
            for (String name : plain.gradients().all().keySet())
                assertArrayEquals(plain.gradients().get(name).toArray(), timed.gradients().get(name).toArray(), name);
        }
        var ops = profile.snapshot();
        assertTrue(ops.keySet().stream().anyMatch(k -> k.startsWith("linear [")), "products listed per shape: " + ops.keySet());
        assertTrue(ops.keySet().stream().anyMatch(k -> k.startsWith("backward ")), "backward operations timed: " + ops.keySet());
        assertTrue(ops.values().stream().allMatch(v -> v[0] > 0 && v[1] >= 0));
        String table = profile.table("test");
        assertTrue(table.contains("mean µs") && table.contains("backward crossEntropy"), table);
    }

    @Test
    void copiesAreListedPerShapeAndDirection() {
        OpProfile profile = new OpProfile();
        Ops profiled = OpProfile.wrap(new CpuOps(), profile);
        try (Arena a = Arena.ofConfined()) {
            Tensor x = Tensor.allocate(a, 2, 3), y = Tensor.allocate(a, 2, 3);
            x.set(4, 7f);
            profiled.copy(x, y);
            assertEquals(7f, y.get(4));
        }
        assertEquals(java.util.Set.of("copy [2, 3] host → host"), profile.snapshot().keySet());
    }

    @Test
    void permuteDefaultIsTorchPermute() {
        try (Arena a = Arena.ofConfined()) {
            Tensor x = Tensor.allocate(a, 2, 3, 4);
            for (int i = 0; i < 24; i++) x.set(i, i);
            Tensor y = Tensor.allocate(a, 4, 2, 3);
            new CpuOps().permute(x, new int[] {2, 0, 1}, y);
            for (int i = 0; i < 2; i++)
                for (int j = 0; j < 3; j++)
                    for (int k = 0; k < 4; k++)
                        assertEquals(x.get((i * 3 + j) * 4 + k), y.get((k * 2 + i) * 3 + j), "y[" + k + "][" + i + "][" + j + "]");
        }
    }
}
