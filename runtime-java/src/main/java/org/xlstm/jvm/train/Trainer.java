package org.xlstm.jvm.train;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.xlstm.jvm.config.XlstmConfig;
import org.xlstm.jvm.data.Batch;
import org.xlstm.jvm.data.BatchSource;

/**
 * The training loop: for step k = 0, 1, ... it takes batch k of the training data, zeroes the gradients, calls the
 * model's {@link StepFunction}, clips, and updates with AdamW at the schedule's rate for update k. Every
 * {@code logEvery} steps it appends the mean loss since the last log to metrics.jsonl; every {@code evalEvery} steps
 * (and at the end) it evaluates each evaluation set; every {@code checkpointEvery} steps (and at the end) it writes
 * {@code checkpoint/}; at the end summary.json and metrics.png.
 *
 * <p>Everything a step depends on is a function of numbers saved in the checkpoint (parameters, Adam moments, step,
 * data seed and position, the logging window), so a run resumed at step k ends bit-identical to one that was never
 * interrupted, given a deterministic model.
 */
public final class Trainer {
    public static final String METRICS = "metrics.jsonl";
    public static final String SUMMARY = "summary.json";
    public static final String PLOT = "metrics.png";
    public static final String CHECKPOINT = "checkpoint";
    static final String FORMAT = "xlstm-jvm/trainer/1";
    private static final ObjectMapper JSON = new ObjectMapper();

    private final TrainSettings settings;
    private final TrainableModel model;
    private final BatchSource train;
    private final Map<String, List<Batch>> evalSets;
    private String recipe;
    private ConsoleProgress progress;
    private PrintStream notes = System.err;

    /**
     * @param evalSets evaluation splits by name (e.g. "validation"), each a fixed list of batches; may be empty
     */
    public Trainer(TrainSettings settings, TrainableModel model, BatchSource train, Map<String, List<Batch>> evalSets) {
        if (train.batchSize() != settings.batchSize())
            throw new IllegalArgumentException("the training data gives batches of " + train.batchSize()
                    + ", the settings ask for batch_size " + settings.batchSize());
        this.settings = settings;
        this.model = model;
        this.train = train;
        this.evalSets = new LinkedHashMap<>(evalSets);
        this.progress = settings.progress() ? ConsoleProgress.toStderr() : null;
    }

    /** The recipe source the model came from, saved with every checkpoint. */
    public Trainer recipe(String source) {
        this.recipe = source;
        return this;
    }

    /** Where the progress line goes (null: none). */
    public Trainer progress(ConsoleProgress p) {
        this.progress = p;
        return this;
    }

    /** Where notes (resumed, plot skipped) go. */
    public Trainer notes(PrintStream out) {
        this.notes = out;
        return this;
    }

    /**
     * @param steps       the step reached
     * @param trainLoss   mean loss of the last logging window
     * @param eval        last evaluation of each split
     * @param resumedFrom the step the run resumed at, or −1
     */
    public record Result(long steps, double trainLoss, Map<String, TaskMetrics.Result> eval, long resumedFrom, Path outputDir) {}

    /** The running sums between two log lines; saved in checkpoints so that a resumed run logs the same means. */
    private static final class Window {
        double lossSum;
        long count;
        double lastGradNorm = Double.NaN;
        double lastLoss = Double.NaN;
        final TaskMetrics metrics = new TaskMetrics();

        void reset() {
            lossSum = 0;
            count = 0;
            metrics.reset();
        }
    }

    public Result run() {
        Path out = settings.outputDir().toAbsolutePath().normalize();
        List<Parameter> params = model.parameters();
        boolean decayEmbedding = model.config() instanceof XlstmConfig c && c.weightDecayOnEmbedding();
        AdamW opt = AdamW.official(params, decayEmbedding, settings.beta1(), settings.beta2(), settings.eps(), settings.weightDecay());
        // parameters on a device: the model zeroes, clips and updates there; host buffers only for checkpoints
        ResidentParameters resident = model instanceof ResidentParameters r ? r : null;
        LrSchedule schedule = settings.lrSchedule();
        Window window = new Window();
        long start = 0, tokensSeen = 0;
        double elapsedBefore = 0;
        List<JsonNode> history = List.of();
        Map<String, TaskMetrics.Result> lastEval = new LinkedHashMap<>();

        if (settings.resumeFrom() != null) {
            try (Checkpoint.Loaded l = Checkpoint.open(settings.resumeFrom())) {
                JsonNode t = l.trainer();
                checkResumable(t, l.dir());
                l.loadParameters(params, model.aliases());
                l.restoreOptimizer(opt);
                if (resident != null) resident.syncFromHost(opt);
                start = t.get("step").asLong();
                tokensSeen = t.get("tokens_seen").asLong();
                elapsedBefore = t.get("elapsed_s").asDouble();
                JsonNode w = t.get("window");
                window.lossSum = w.get("loss_sum").asDouble();
                window.count = w.get("loss_count").asLong();
                window.lastGradNorm = w.path("last_grad_norm").asDouble(Double.NaN);
                window.lastLoss = w.path("last_loss").asDouble(Double.NaN);
                JsonNode m = w.get("train_metrics");
                window.metrics.restore(new TaskMetrics.State(m.get("loss_sum").asDouble(), m.get("scored").asLong(),
                        m.get("correct").asLong(), m.get("sequences").asLong(), m.get("sequences_correct").asLong()));
                JsonNode rng = t.path("rng").path("model");
                long[] state = new long[rng.size()];
                for (int i = 0; i < state.length; i++) state[i] = rng.get(i).asLong();
                model.restoreRngState(state);
                history = MetricsLog.upTo(parseLines(l.text(METRICS).orElse("")), start);
                if (opt.steps() != start)
                    throw new IllegalArgumentException(l.dir() + ": optimizer step " + opt.steps() + " differs from trainer step " + start);
                notes.println("resuming " + l.dir() + " at step " + start);
            }
        } else {
            refuseToOverwrite(out);
        }
        long resumedFrom = settings.resumeFrom() != null ? start : -1;

        long runStart = System.nanoTime(), windowStart = runStart, windowTokens = 0;
        try (MetricsLog log = MetricsLog.open(out.resolve(METRICS), history)) {
            for (JsonNode r : history)
                if ("eval".equals(r.path("kind").asText())) lastEval.put(r.path("split").asText(), resultOf(r));
            for (long step = start; step < settings.steps(); ) {
                Batch batch = train.batch(step);
                if (resident != null) resident.zeroGrads();
                else for (Parameter p : params) p.zeroGrad();
                float loss = model.lossAndGradients(batch, window.metrics);
                if (!Float.isFinite(loss))
                    throw new IllegalStateException("loss is " + loss + " at step " + (step + 1) + " (training batch " + step
                            + " of " + train.describe() + "); the last checkpoint is in " + out.resolve(CHECKPOINT));
                double norm = resident != null ? resident.clipByGlobalNorm(settings.gradClip())
                        : settings.gradClip() > 0 ? GradientClipping.clipByGlobalNorm(params, settings.gradClip())
                        : GradientClipping.globalNorm(params);
                if (!Double.isFinite(norm))
                    throw new IllegalStateException("gradient norm is " + norm + " at step " + (step + 1) + " (loss " + loss + ")");
                double lr = schedule.lr(opt.steps());
                if (resident != null) resident.adamwStep(opt, lr);
                else opt.step(lr);
                step++;
                window.lossSum += loss;
                window.count++;
                window.lastGradNorm = norm;
                window.lastLoss = loss;
                tokensSeen += batch.tokens();
                windowTokens += batch.tokens();
                long now = System.nanoTime();
                double elapsed = elapsedBefore + (now - runStart) / 1e9;
                double done = step - start;
                double eta = (settings.steps() - step) * ((now - runStart) / 1e9 / done);
                boolean last = step == settings.steps();

                if (step % settings.logEvery() == 0 || last) {
                    double windowSeconds = (now - windowStart) / 1e9;
                    ObjectNode r = log.newRecord("train", step);
                    r.put("loss", window.lossSum / window.count).put("lr", lr).put("grad_norm", norm);
                    TaskMetrics.Result tm = window.metrics.result();
                    if (tm.scoredPositions() > 0) r.put("accuracy", tm.accuracy()).put("sequence_accuracy", tm.sequenceAccuracy());
                    r.put("tokens", tokensSeen).put("tokens_per_s", windowTokens / Math.max(windowSeconds, 1e-9))
                            .put("elapsed_s", elapsed);
                    log.append(r);
                    if (progress != null)
                        progress.update(step, settings.steps(), window.lossSum / window.count, lr, windowTokens / Math.max(windowSeconds, 1e-9), eta, true);
                    window.reset();
                    windowStart = now;
                    windowTokens = 0;
                } else if (progress != null) {
                    progress.update(step, settings.steps(), loss, lr, Double.NaN, eta, false);
                }
                if ((settings.evalEvery() > 0 && step % settings.evalEvery() == 0) || last) {
                    for (var e : evalSets.entrySet()) {
                        TaskMetrics.Result res = evaluate(e.getValue());
                        lastEval.put(e.getKey(), res);
                        ObjectNode r = log.newRecord("eval", step).put("split", e.getKey());
                        r.put("loss", res.loss()).put("accuracy", res.accuracy()).put("sequence_accuracy", res.sequenceAccuracy())
                                .put("scored_positions", res.scoredPositions());
                        log.append(r);
                    }
                }
                if ((settings.checkpointEvery() > 0 && step % settings.checkpointEvery() == 0) || last) {
                    if (resident != null) resident.syncToHost(opt);
                    ObjectNode state = trainerState(step, tokensSeen, elapsed, window, opt, schedule);
                    Checkpoint.write(out.resolve(CHECKPOINT), new Checkpoint.Snapshot(model.config(), recipe, params,
                            model.aliases(), opt, state, Map.of(METRICS, log.text())));
                }
            }
            if (progress != null) progress.breakLine();
            double elapsed = elapsedBefore + (System.nanoTime() - runStart) / 1e9;
            List<JsonNode> records = log.records();
            String plotNote = settings.plot() ? plot(records, out) : "disabled";
            writeSummary(out, records, lastEval, tokensSeen, elapsed, resumedFrom, params, plotNote);
            double lastLoss = Double.NaN;
            for (JsonNode r : records) if ("train".equals(r.path("kind").asText())) lastLoss = r.get("loss").asDouble();
            return new Result(Math.max(start, settings.steps()), lastLoss, lastEval, resumedFrom, out);
        }
    }

    private TaskMetrics.Result evaluate(List<Batch> batches) {
        TaskMetrics m = new TaskMetrics();
        for (Batch b : batches) model.evaluate(b, m);
        return m.result();
    }

    private ObjectNode trainerState(long step, long tokens, double elapsed, Window w, AdamW opt, LrSchedule schedule) {
        ObjectNode t = JSON.createObjectNode();
        t.put("format", FORMAT).put("step", step).put("optimizer_steps", opt.steps()).put("tokens_seen", tokens)
                .put("elapsed_s", elapsed);
        ObjectNode data = t.putObject("data");
        data.put("source", train.describe()).put("batch_size", train.batchSize()).put("next_batch", step);
        ObjectNode rng = t.putObject("rng");
        // The data generators are counter-based: batch i is fixed by the data seed and i alone, so the numbers
        // (seed, next batch) are the whole random state of the data.
        rng.put("data_seed", settings.seed()).put("data_next_batch", step);
        ArrayNode m = rng.putArray("model");
        for (long x : model.rngState()) m.add(x);
        ObjectNode s = t.putObject("schedule");
        s.put("kind", settings.schedule().jsonName()).put("describe", schedule.describe()).put("next_update", opt.steps())
                .put("next_lr", schedule.lr(opt.steps()));
        ObjectNode win = t.putObject("window");
        win.put("loss_sum", w.lossSum).put("loss_count", w.count).put("last_grad_norm", w.lastGradNorm).put("last_loss", w.lastLoss);
        TaskMetrics.State ms = w.metrics.state();
        win.putObject("train_metrics").put("loss_sum", ms.lossSum()).put("scored", ms.scored()).put("correct", ms.correct())
                .put("sequences", ms.sequences()).put("sequences_correct", ms.sequencesCorrect());
        t.set("settings", settings.toJson());
        return t;
    }

    /** A resumed run must see the same data and batches, or it would not continue the same run. */
    private void checkResumable(JsonNode t, Path dir) {
        if (!FORMAT.equals(t.path("format").asText()))
            throw new IllegalArgumentException(dir.resolve(Checkpoint.TRAINER) + ": format is '" + t.path("format").asText()
                    + "', expected " + FORMAT);
        List<String> diffs = new ArrayList<>();
        JsonNode s = t.get("settings");
        if (s.get("seed").asLong() != settings.seed()) diffs.add("seed " + s.get("seed").asLong() + " vs " + settings.seed());
        if (s.get("batch_size").asInt() != settings.batchSize())
            diffs.add("batch_size " + s.get("batch_size").asInt() + " vs " + settings.batchSize());
        String source = t.path("data").path("source").asText();
        if (!source.equals(train.describe())) diffs.add("training data '" + source + "' vs '" + train.describe() + "'");
        if (!diffs.isEmpty())
            throw new IllegalArgumentException("cannot resume from " + dir + ": the checkpoint's run differs in "
                    + String.join("; ", diffs) + " (checkpoint vs settings)");
        if (t.get("step").asLong() > settings.steps())
            throw new IllegalArgumentException("cannot resume from " + dir + " at step " + t.get("step").asLong()
                    + ": the settings stop at step " + settings.steps());
    }

    private static void refuseToOverwrite(Path out) {
        if (Checkpoint.exists(out.resolve(CHECKPOINT)) || Files.exists(out.resolve(METRICS)))
            throw new IllegalArgumentException(out + " already holds a run (" + (Checkpoint.exists(out.resolve(CHECKPOINT))
                    ? CHECKPOINT + "/" : METRICS) + "); resume it from " + out.resolve(CHECKPOINT) + " or choose another output directory");
    }

    private String plot(List<JsonNode> records, Path out) {
        if (!TrainingPlot.available()) {
            notes.println("plot skipped: XChart is not on the class path");
            return "skipped: XChart is not on the class path";
        }
        try {
            TrainingPlot.write(records, out.resolve(PLOT), out.getFileName().toString());
            return PLOT;
        } catch (RuntimeException | Error e) {   // AWTError included, named nowhere: java.desktop may be absent
            // A plot must never cost a finished run: report and go on.
            notes.println("plot skipped: " + e);
            return "skipped: " + e;
        }
    }

    private void writeSummary(Path out, List<JsonNode> records, Map<String, TaskMetrics.Result> lastEval, long tokens,
                              double elapsed, long resumedFrom, List<Parameter> params, String plotNote) {
        ObjectNode s = JSON.createObjectNode();
        long lastStep = 0;
        double lastLoss = Double.NaN;
        for (JsonNode r : records)
            if ("train".equals(r.path("kind").asText())) {
                lastStep = r.get("step").asLong();
                lastLoss = r.get("loss").asDouble();
            }
        s.put("steps", lastStep).put("train_loss", lastLoss).put("tokens", tokens).put("elapsed_s", elapsed)
                .put("tokens_per_s", tokens / Math.max(elapsed, 1e-9));
        long n = 0;
        for (Parameter p : params) n += p.size();
        s.put("parameters", n).put("data", train.describe());
        if (resumedFrom >= 0) s.put("resumed_from_step", resumedFrom);
        // Headline figures for tasks: accuracy at the training lengths ("validation") and beyond them ("long").
        if (lastEval.containsKey("validation")) s.put("accuracy", lastEval.get("validation").accuracy());
        if (lastEval.containsKey("long")) s.put("accuracy_long", lastEval.get("long").accuracy());
        ObjectNode fin = s.putObject("final_eval");
        lastEval.forEach((k, r) -> fin.putObject(k).put("loss", r.loss()).put("accuracy", r.accuracy())
                .put("sequence_accuracy", r.sequenceAccuracy()));
        ObjectNode best = s.putObject("best_eval");
        for (JsonNode r : records) {
            if (!"eval".equals(r.path("kind").asText())) continue;
            String split = r.path("split").asText();
            JsonNode prev = best.get(split);
            if (prev == null || r.get("loss").asDouble() < prev.get("loss").asDouble())
                best.putObject(split).put("step", r.get("step").asLong()).put("loss", r.get("loss").asDouble())
                        .put("accuracy", r.get("accuracy").asDouble());
        }
        s.put("plot", plotNote).put("checkpoint", CHECKPOINT);
        s.set("settings", settings.toJson());
        try {
            Files.writeString(out.resolve(SUMMARY), JSON.writerWithDefaultPrettyPrinter().writeValueAsString(s) + "\n");
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + out.resolve(SUMMARY) + ": " + e.getMessage(), e);
        }
    }

    private static TaskMetrics.Result resultOf(JsonNode r) {
        return new TaskMetrics.Result(r.path("loss").asDouble(), r.path("accuracy").asDouble(), r.path("sequence_accuracy").asDouble(),
                r.path("scored_positions").asLong(), 0);
    }

    private static List<JsonNode> parseLines(String text) {
        List<JsonNode> out = new ArrayList<>();
        for (String line : text.split("\n")) {
            if (line.isBlank()) continue;
            try {
                out.add(JSON.readTree(line));
            } catch (IOException e) {
                throw new UncheckedIOException("checkpoint copy of " + METRICS + ": " + e.getMessage(), e);
            }
        }
        return out;
    }
}
