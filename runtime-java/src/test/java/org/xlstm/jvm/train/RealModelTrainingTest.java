package org.xlstm.jvm.train;

import static org.junit.jupiter.api.Assertions.*;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.xlstm.jvm.backend.cpu.CpuOps;
import org.xlstm.jvm.config.MlstmLayerConfig;
import org.xlstm.jvm.config.SlstmBlockConfig;
import org.xlstm.jvm.config.SlstmLayerConfig;
import org.xlstm.jvm.config.XlstmConfig;
import org.xlstm.jvm.data.Batch;
import org.xlstm.jvm.data.tasks.Parity;
import org.xlstm.jvm.data.tasks.TaskDataset;
import org.xlstm.jvm.io.SafeTensors;
import org.xlstm.jvm.model.Models;
import org.xlstm.jvm.model.TrainableLanguageModel;

/** Determinism and exact resume with the real xLSTM model (mLSTM + sLSTM), not a stand-in. */
class RealModelTrainingTest {
    @TempDir Path tmp;

    private static final XlstmConfig MODEL = XlstmConfig.builder().vocabSize(3).contextLength(64).embeddingDim(16)
            .numBlocks(2).slstmAt(1).mlstm(MlstmLayerConfig.DEFAULTS.withNumHeads(1))
            .slstmBlock(new SlstmBlockConfig(SlstmLayerConfig.DEFAULTS.withNumHeads(1), null)).build();

    private TrainSettings settings(String dir, Path resume) {
        return TrainSettings.builder().steps(12).batchSize(4).lr(3e-3).warmupSteps(2).gradClip(1.0).seed(5)
                .evalEvery(6).logEvery(3).checkpointEvery(5).outputDir(tmp.resolve(dir)).resumeFrom(resume)
                .progress(false).plot(false).build();
    }

    private Trainer.Result run(String dir, Path resume, int crashAfter) {
        TrainSettings s = settings(dir, resume);
        var parity = Parity.official();
        try (TrainableLanguageModel lm = (TrainableLanguageModel) Models.initialized(MODEL, resume == null ? 5 : 99, new CpuOps())) {
            TrainableModel model = new TrainableXlstm(lm, s.seed());
            if (crashAfter >= 0) model = crashing(model, crashAfter);
            Map<String, List<Batch>> eval = Map.of("validation", new TaskDataset(parity, 4, 77, true).batches(2));
            return new Trainer(s, model, new TaskDataset(parity, 4, s.seed(), true), eval).progress(null)
                    .notes(new java.io.PrintStream(java.io.OutputStream.nullOutputStream())).run();
        }
    }

    private static TrainableModel crashing(TrainableModel inner, int calls) {
        int[] left = {calls};
        return new TrainableModel() {
            @Override public List<Parameter> parameters() { return inner.parameters(); }
            @Override public void evaluate(Batch b, TaskMetrics m) { inner.evaluate(b, m); }
            @Override public float lossAndGradients(Batch b) { return lossAndGradients(b, null); }
            @Override public float lossAndGradients(Batch b, TaskMetrics m) {
                if (left[0]-- == 0) throw new IllegalStateException("simulated crash");
                return inner.lossAndGradients(b, m);
            }
            @Override public org.xlstm.jvm.config.ModelConfig config() { return inner.config(); }
            @Override public Map<String, String> aliases() { return inner.aliases(); }
            @Override public long[] rngState() { return inner.rngState(); }
            @Override public void restoreRngState(long[] s) { inner.restoreRngState(s); }
        };
    }

    private static Map<String, float[]> weights(Path runDir) {
        try (SafeTensors st = SafeTensors.open(runDir.resolve(Trainer.CHECKPOINT))) {
            Map<String, float[]> m = new java.util.TreeMap<>();
            for (String n : st.names()) m.put(n, st.floats(n));
            return m;
        }
    }

    private static List<JsonNode> metrics(Path dir) {
        return MetricsLog.read(dir.resolve(Trainer.METRICS)).stream().map(r -> {
            ObjectNode c = r.deepCopy();
            c.remove(List.of("tokens_per_s", "elapsed_s"));
            return (JsonNode) c;
        }).toList();
    }

    private static void assertSameWeights(Map<String, float[]> a, Map<String, float[]> b) {
        assertEquals(a.keySet(), b.keySet());
        for (String n : a.keySet()) assertArrayEquals(a.get(n), b.get(n), n);
    }

    @Test
    void sameSeedSameRunBitForBitAndResumeContinuesExactly() throws Exception {
        run("a", null, -1);
        run("b", null, -1);
        assertSameWeights(weights(tmp.resolve("a")), weights(tmp.resolve("b")));
        assertEquals(metrics(tmp.resolve("a")), metrics(tmp.resolve("b")));

        // crash during step 8; the last checkpoint is at step 5
        var e = assertThrows(IllegalStateException.class, () -> run("c", null, 7));
        assertEquals("simulated crash", e.getMessage());
        Trainer.Result r = run("c", tmp.resolve("c").resolve(Trainer.CHECKPOINT), -1);
        assertEquals(5, r.resumedFrom());
        assertSameWeights(weights(tmp.resolve("a")), weights(tmp.resolve("c")));
        assertEquals(metrics(tmp.resolve("a")), metrics(tmp.resolve("c")), "same losses and evaluations, step for step");
        // the checkpoint holds the official config and names, readable as a model folder
        assertTrue(Files.isRegularFile(tmp.resolve("a").resolve(Trainer.CHECKPOINT).resolve("config.json")));
        try (var m = org.xlstm.jvm.api.XlstmModel.load(tmp.resolve("a").resolve(Trainer.CHECKPOINT))) {
            assertEquals(3, m.vocabSize());
        }
    }
}
