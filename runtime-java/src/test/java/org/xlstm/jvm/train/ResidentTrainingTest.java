package org.xlstm.jvm.train;

import static org.junit.jupiter.api.Assertions.*;

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

/**
 * Training through {@link ResidentTraining} (zero, clip and AdamW through the backend, as on a GPU) against the
 * host path ({@link TrainableXlstm} + {@link AdamW}), on the CPU: the same run, and an exact resume through the
 * host mirrors.
 */
class ResidentTrainingTest {
    @TempDir Path tmp;

    private static final XlstmConfig MODEL = XlstmConfig.builder().vocabSize(3).contextLength(64).embeddingDim(16)
            .numBlocks(2).slstmAt(1).mlstm(MlstmLayerConfig.DEFAULTS.withNumHeads(1))
            .slstmBlock(new SlstmBlockConfig(SlstmLayerConfig.DEFAULTS.withNumHeads(1), null)).build();

    private Trainer.Result run(String dir, Path resume, boolean resident, double clip, int crashAfter) {
        TrainSettings s = TrainSettings.builder().steps(10).batchSize(4).lr(3e-3).warmupSteps(2).gradClip(clip).seed(5)
                .evalEvery(5).logEvery(2).checkpointEvery(4).outputDir(tmp.resolve(dir)).resumeFrom(resume)
                .progress(false).plot(false).build();
        var parity = Parity.official();
        try (TrainableLanguageModel lm = (TrainableLanguageModel) Models.initialized(MODEL, resume == null ? 5 : 99, new CpuOps())) {
            TrainableModel model = resident ? new ResidentTraining(lm, s.seed()) : new TrainableXlstm(lm, s.seed());
            if (crashAfter >= 0) model = crashing(model, crashAfter);
            Map<String, List<Batch>> eval = Map.of("validation", new TaskDataset(parity, 4, 77, true).batches(2));
            return new Trainer(s, model, new TaskDataset(parity, 4, s.seed(), true), eval).progress(null)
                    .notes(new java.io.PrintStream(java.io.OutputStream.nullOutputStream())).run();
        }
    }

    /** Fails on the given call of lossAndGradients; keeps the resident interface (the trainer must see it). */
    private static TrainableModel crashing(TrainableModel inner, int calls) {
        ResidentTraining r = (ResidentTraining) inner;
        int[] left = {calls};
        record Crashing(ResidentTraining r, int[] left) implements TrainableModel, ResidentParameters {
            @Override public List<Parameter> parameters() { return r.parameters(); }
            @Override public void evaluate(Batch b, TaskMetrics m) { r.evaluate(b, m); }
            @Override public float lossAndGradients(Batch b) { return lossAndGradients(b, null); }
            @Override public float lossAndGradients(Batch b, TaskMetrics m) {
                if (left[0]-- == 0) throw new IllegalStateException("simulated crash");
                return r.lossAndGradients(b, m);
            }
            @Override public org.xlstm.jvm.config.ModelConfig config() { return r.config(); }
            @Override public Map<String, String> aliases() { return r.aliases(); }
            @Override public long[] rngState() { return r.rngState(); }
            @Override public void restoreRngState(long[] s) { r.restoreRngState(s); }
            @Override public void zeroGrads() { r.zeroGrads(); }
            @Override public double clipByGlobalNorm(double maxNorm) { return r.clipByGlobalNorm(maxNorm); }
            @Override public void adamwStep(AdamW opt, double lr) { r.adamwStep(opt, lr); }
            @Override public void syncToHost(AdamW opt) { r.syncToHost(opt); }
            @Override public void syncFromHost(AdamW opt) { r.syncFromHost(opt); }
        }
        return new Crashing(r, left);
    }

    private static Map<String, float[]> weights(Path runDir) {
        try (SafeTensors st = SafeTensors.open(runDir.resolve(Trainer.CHECKPOINT))) {
            Map<String, float[]> m = new java.util.TreeMap<>();
            for (String n : st.names()) m.put(n, st.floats(n));
            return m;
        }
    }

    @Test
    void sameParametersAsTheHostOptimizerStepForStep() {
        Trainer.Result host = run("host", null, false, 0, -1);
        Trainer.Result res = run("resident", null, true, 0, -1);
        Map<String, float[]> a = weights(tmp.resolve("host")), b = weights(tmp.resolve("resident"));
        assertEquals(a.keySet(), b.keySet());
        for (String n : a.keySet()) assertArrayEquals(a.get(n), b.get(n), n + ": AdamW through the backend differs from the host's");
        assertEquals(host.trainLoss(), res.trainLoss());
        assertEquals(host.eval().get("validation").accuracy(), res.eval().get("validation").accuracy());
    }

    @Test
    void clippingAgreesWithTheHostWithinRounding() {
        run("host", null, false, 0.05, -1);
        run("resident", null, true, 0.05, -1);
        Map<String, float[]> a = weights(tmp.resolve("host")), b = weights(tmp.resolve("resident"));
        for (String n : a.keySet())
            for (int i = 0; i < a.get(n).length; i++)
                assertEquals(a.get(n)[i], b.get(n)[i], 1e-5 * (1 + Math.abs(a.get(n)[i])), n + "[" + i + "]");
    }

    @Test
    void resumeThroughTheHostMirrorsContinuesExactly() {
        run("a", null, true, 1.0, -1);
        assertThrows(IllegalStateException.class, () -> run("c", null, true, 1.0, 6));
        Trainer.Result r = run("c", tmp.resolve("c").resolve(Trainer.CHECKPOINT), true, 1.0, -1);
        assertEquals(4, r.resumedFrom());
        Map<String, float[]> a = weights(tmp.resolve("a")), c = weights(tmp.resolve("c"));
        for (String n : a.keySet()) assertArrayEquals(a.get(n), c.get(n), n);
    }
}
