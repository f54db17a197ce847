package org.xlstm.jvm.train;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.xlstm.jvm.backend.Ops;
import org.xlstm.jvm.config.ModelConfig;
import org.xlstm.jvm.config.OfficialConfigs;
import org.xlstm.jvm.config.XlstmConfig;
import org.xlstm.jvm.data.FixedBatches;
import org.xlstm.jvm.io.SafeTensors;
import org.xlstm.jvm.model.Models;
import org.xlstm.jvm.model.TrainableLanguageModel;

/**
 * Replays a recorded official training trajectory (a fixture's {@code train.json} settings and
 * {@code train.safetensors} batches) through our {@link Trainer} and measures it against the recording: the loss of
 * every step and every parameter after the last step ({@code final.<name>}), normwise relative errors. The
 * weight-decay groups our official rule forms are compared with train.json's lists.
 */
public final class TrajectoryReplay {
    private TrajectoryReplay() {}

    private static final ObjectMapper JSON = new ObjectMapper();

    /**
     * @param lossErrors  |ours − recorded| / |recorded| per step
     * @param finalErrors per parameter, in state-dict order
     * @param groupProblems differences between our weight-decay groups and train.json's (empty when equal)
     */
    public record Result(double[] lossErrors, Map<String, Double> finalErrors, List<String> groupProblems) {
        public double worstLoss() {
            double w = 0;
            for (double e : lossErrors) w = Math.max(w, e);
            return w;
        }

        public Map.Entry<String, Double> worstFinal() {
            return finalErrors.entrySet().stream().max(Map.Entry.comparingByValue()).orElse(Map.entry("", 0.0));
        }
    }

    /** Whether {@code dir} holds a recorded trajectory. */
    public static boolean has(Path dir) {
        return Files.isRegularFile(dir.resolve("train.json")) && Files.isRegularFile(dir.resolve("train.safetensors"));
    }

    /** Replays the trajectory of case {@code dir} on {@code ops}, in a temporary output directory (deleted after). */
    public static Result replay(Path dir, Ops ops) {
        Path out;
        try {
            out = Files.createTempDirectory("xlstm-replay-");
        } catch (IOException e) {
            throw new UncheckedIOException("cannot create a temporary directory: " + e.getMessage(), e);
        }
        try {
            return replay(dir, ops, out.resolve("run"));
        } finally {
            deleteTree(out);
        }
    }

    static Result replay(Path dir, Ops ops, Path out) {
        JsonNode t;
        try {
            t = JSON.readTree(dir.resolve("train.json").toFile());
        } catch (IOException e) {
            throw new UncheckedIOException(dir.resolve("train.json") + ": " + e.getMessage(), e);
        }
        ModelConfig config = OfficialConfigs.loadDirectory(dir);
        try (SafeTensors rec = SafeTensors.open(dir.resolve("train.safetensors"));
             TrainableLanguageModel model = (TrainableLanguageModel) Models.load(config, dir, ops)) {
            long[] shape = rec.info("inputs").shape();
            int n = (int) shape[0], b = (int) shape[1], s = (int) shape[2];
            FixedBatches data = FixedBatches.fromLongs(rec.longs("inputs"), rec.longs("targets"), n, b, s,
                    model.vocabSize(), dir.getFileName().toString());
            TrainSettings settings = TrainSettings.fromTrainJson(t, b, out);
            // on a GPU the parameters stay on the device; the trainer syncs the host mirrors at its last checkpoint
            TrainableModel trainable = ops.hostMemory() ? new TrainableXlstm(model, 0) : new ResidentTraining(model, 0);
            List<String> groupProblems = groups(t, trainable);
            new Trainer(settings, trainable, data, Map.of()).progress(null)
                    .notes(new PrintStream(OutputStream.nullOutputStream())).run();

            double[] recorded = rec.doubles("losses");
            List<Double> losses = new ArrayList<>();
            for (String line : Files.readAllLines(out.resolve(Trainer.METRICS))) {
                JsonNode r = JSON.readTree(line);
                if ("train".equals(r.path("kind").asText())) losses.add(r.get("loss").asDouble());
            }
            if (losses.size() != recorded.length)
                throw new IllegalStateException(dir + ": " + recorded.length + " recorded steps, we logged " + losses.size());
            double[] lossErrors = new double[recorded.length];
            for (int i = 0; i < recorded.length; i++) lossErrors[i] = Math.abs(losses.get(i) - recorded[i]) / Math.abs(recorded[i]);

            Map<String, Double> finals = new LinkedHashMap<>();
            for (Parameter p : trainable.parameters()) {
                String key = "final." + p.name();
                if (!rec.contains(key)) throw new IllegalStateException(dir.resolve("train.safetensors") + " has no " + key);
                finals.put(p.name(), relativeError(p.valueArray(), rec.doubles(key)));
            }
            for (String name : rec.names())
                if (name.startsWith("final.") && !finals.containsKey(name.substring(6)))
                    throw new IllegalStateException(dir.resolve("train.safetensors") + ": " + name + " is not a parameter of the model");
            if (trainable instanceof ResidentTraining r) r.close();
            return new Result(lossErrors, finals, groupProblems);
        } catch (IOException e) {
            throw new UncheckedIOException(e.getMessage(), e);
        }
    }

    /** Our weight-decay groups against train.json's {@code weight_decay_params} / {@code no_weight_decay_params}. */
    private static List<String> groups(JsonNode t, TrainableModel model) {
        boolean onEmbedding = model.config() instanceof XlstmConfig c && c.weightDecayOnEmbedding();
        WeightDecayRule.Groups g = WeightDecayRule.split(model.parameters(), onEmbedding);
        List<String> problems = new ArrayList<>();
        compare("weight_decay_params", t, g.decayNames(), problems);
        compare("no_weight_decay_params", t, g.noDecayNames(), problems);
        return problems;
    }

    private static void compare(String key, JsonNode t, List<String> ours, List<String> problems) {
        if (!t.has(key)) return;
        List<String> theirs = new ArrayList<>();
        t.get(key).forEach(x -> theirs.add(x.asText()));
        for (String n : theirs) if (!ours.contains(n)) problems.add(key + ": " + n + " is missing from our group");
        for (String n : ours) if (!theirs.contains(n)) problems.add(key + ": " + n + " is in our group, not in train.json's");
    }

    static double relativeError(float[] ours, double[] ref) {
        double e2 = 0, r2 = 0;
        for (int i = 0; i < ref.length; i++) {
            e2 += (ours[i] - ref[i]) * (ours[i] - ref[i]);
            r2 += ref[i] * ref[i];
        }
        return r2 == 0 ? Math.sqrt(e2) : Math.sqrt(e2 / r2);
    }

    private static void deleteTree(Path root) {
        try (Stream<Path> s = Files.walk(root)) {
            for (Path p : s.sorted(Comparator.reverseOrder()).toList()) Files.deleteIfExists(p);
        } catch (IOException e) {
            // a temporary directory left behind is not worth failing a check for
        }
    }
}
