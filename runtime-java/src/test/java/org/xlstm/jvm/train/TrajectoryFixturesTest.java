package org.xlstm.jvm.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.xlstm.jvm.backend.cpu.CpuOps;
import org.xlstm.jvm.config.FixtureCases;
import org.xlstm.jvm.config.ModelConfig;
import org.xlstm.jvm.config.OfficialConfigs;
import org.xlstm.jvm.data.FixedBatches;
import org.xlstm.jvm.io.SafeTensors;
import org.xlstm.jvm.model.Models;
import org.xlstm.jvm.model.TrainableLanguageModel;

/**
 * The fixtures' recorded training trajectories (official AdamW steps on recorded batches, train.json settings),
 * replayed through our Trainer with the model's backward pass: every step's loss within 1e-4 and every final
 * parameter within 1e-3 (normwise relative, XLSTM.md §8); the weight-decay groups must be train.json's.
 */
class TrajectoryFixturesTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path tmp;

    @Test
    void everyRecordedTrajectoryIsReproduced() throws Exception {
        int checked = 0;
        for (Path dir : FixtureCases.all()) {
            if (!Files.isRegularFile(dir.resolve("train.json")) || !Files.isRegularFile(dir.resolve("train.safetensors"))) continue;
            Result r = replay(dir, tmp.resolve(dir.getFileName().toString()));
            System.out.println(dir.getFileName() + ": " + r);
            for (int i = 0; i < r.lossErrors().length; i++)
                assertTrue(r.lossErrors()[i] <= 1e-4, dir.getFileName() + ": loss of step " + (i + 1) + ", relative error " + r.lossErrors()[i]);
            assertTrue(r.worstFinal() <= 1e-3, dir.getFileName() + ": final " + r.worstName() + ", relative error " + r.worstFinal());
            checked++;
        }
        assertTrue(checked > 0, "no fixture case with train.json and train.safetensors under " + FixtureCases.root());
    }

    /** Per-step loss errors (relative), worst final-parameter error and its name. */
    public record Result(double[] lossErrors, double worstFinal, String worstName, int parameters) {
        @Override
        public String toString() {
            double worstLoss = 0;
            for (double e : lossErrors) worstLoss = Math.max(worstLoss, e);
            return String.format("%d steps, worst loss %.2e; %d final parameters, worst %s %.2e", lossErrors.length, worstLoss,
                    parameters, worstName, worstFinal);
        }
    }

    static Result replay(Path dir, Path out) throws Exception {
        JsonNode t = JSON.readTree(dir.resolve("train.json").toFile());
        ModelConfig config = OfficialConfigs.load(dir.resolve("config.json"));
        try (SafeTensors rec = SafeTensors.open(dir.resolve("train.safetensors"));
             TrainableLanguageModel model = (TrainableLanguageModel) Models.load(config, dir.resolve("model.safetensors"), new CpuOps())) {
            long[] shape = rec.info("inputs").shape();
            int n = (int) shape[0], b = (int) shape[1], s = (int) shape[2];
            FixedBatches data = FixedBatches.fromLongs(rec.longs("inputs"), rec.longs("targets"), n, b, s,
                    model.vocabSize(), dir.getFileName().toString());
            TrainSettings settings = TrainSettings.fromTrainJson(t, b, out);
            TrainableXlstm trainable = new TrainableXlstm(model, 0);
            checkGroups(t, trainable);
            new Trainer(settings, trainable, data, Map.of()).progress(null).notes(new java.io.PrintStream(java.io.OutputStream.nullOutputStream())).run();

            double[] expectedLosses = rec.doubles("losses");
            List<Double> losses = new ArrayList<>();
            for (String line : Files.readAllLines(out.resolve(Trainer.METRICS))) {
                JsonNode r = JSON.readTree(line);
                if ("train".equals(r.path("kind").asText())) losses.add(r.get("loss").asDouble());
            }
            assertEquals(expectedLosses.length, losses.size(), "one logged loss per recorded step");
            double[] errs = new double[losses.size()];
            for (int i = 0; i < errs.length; i++) errs[i] = Math.abs(losses.get(i) - expectedLosses[i]) / Math.abs(expectedLosses[i]);

            double worst = 0;
            String worstName = "";
            int count = 0;
            for (Parameter p : trainable.parameters()) {
                String key = "final." + p.name();
                assertTrue(rec.contains(key), "train.safetensors has no " + key);
                double[] ref = rec.doubles(key);
                float[] ours = p.valueArray();
                double e2 = 0, r2 = 0;
                for (int i = 0; i < ref.length; i++) {
                    e2 += (ours[i] - ref[i]) * (ours[i] - ref[i]);
                    r2 += ref[i] * ref[i];
                }
                double rel = r2 == 0 ? Math.sqrt(e2) : Math.sqrt(e2 / r2);
                if (rel > worst) {
                    worst = rel;
                    worstName = p.name();
                }
                count++;
            }
            return new Result(errs, worst, worstName, count);
        }
    }

    /** Our official weight-decay rule must put every parameter where the recording's optimizer had it. */
    private static void checkGroups(JsonNode t, TrainableXlstm model) {
        boolean onEmbedding = model.config() instanceof org.xlstm.jvm.config.XlstmConfig c && c.weightDecayOnEmbedding();
        WeightDecayRule.Groups g = WeightDecayRule.split(model.parameters(), onEmbedding);
        if (t.has("weight_decay_params")) assertEquals(names(t.get("weight_decay_params")), new TreeSet<>(g.decayNames()), "decay group");
        if (t.has("no_weight_decay_params")) assertEquals(names(t.get("no_weight_decay_params")), new TreeSet<>(g.noDecayNames()), "no-decay group");
    }

    private static TreeSet<String> names(JsonNode arr) {
        TreeSet<String> s = new TreeSet<>();
        arr.forEach(x -> s.add(x.asText()));
        return s;
    }
}
