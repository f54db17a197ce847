package org.xlstm.jvm.train;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Training settings. Defaults follow the official experiment configs (experiments/parity_xlstm*.yaml and main.py):
 * batch 256, AdamW lr 1e-3, betas 0.9/0.999, eps 1e-8, weight decay 0.1, linear warm-up 2000 steps then cosine decay
 * until the last step to lr·1e-3, no gradient clipping, seed 42, evaluation every 200 steps.
 *
 * @param decayUntil    last step of the cosine decay; −1 = {@code steps} (the official ${.num_steps})
 * @param gradClip      max global gradient norm; 0 = no clipping (the official loop does not clip)
 * @param evalEvery     0 = evaluate only at the end
 * @param checkpointEvery 0 = checkpoint only at the end
 * @param outputDir     metrics.jsonl, summary.json, metrics.png and checkpoint/ go here
 * @param resumeFrom    a checkpoint directory to continue from, or null
 */
public record TrainSettings(
        long steps,
        int batchSize,
        double lr,
        double beta1,
        double beta2,
        double eps,
        double weightDecay,
        Schedule schedule,
        long warmupSteps,
        long decayUntil,
        double lrDecayFactor,
        double gradClip,
        long seed,
        long evalEvery,
        long logEvery,
        long checkpointEvery,
        Path outputDir,
        Path resumeFrom,
        boolean progress,
        boolean plot) {

    private static final ObjectMapper JSON = new ObjectMapper();

    public enum Schedule {
        /** Official LinearWarmupCosineAnnealing. */
        WARMUP_COSINE,
        /** The learning rate throughout (no warm-up). */
        CONSTANT;

        public String jsonName() { return name().toLowerCase(Locale.ROOT); }

        public static Schedule parse(String s) {
            try {
                return valueOf(s.toUpperCase(Locale.ROOT).replace('-', '_'));
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("unknown learning-rate schedule '" + s + "'; known: warmup_cosine, constant");
            }
        }
    }

    public TrainSettings {
        List<String> errors = new ArrayList<>();
        if (steps < 1) errors.add("steps must be at least 1, got " + steps);
        if (batchSize < 1) errors.add("batch_size must be at least 1, got " + batchSize);
        if (!(lr >= 0) || Double.isInfinite(lr)) errors.add("lr must be a non-negative number, got " + lr);
        if (!(beta1 >= 0 && beta1 < 1)) errors.add("beta1 must be in [0, 1), got " + beta1);
        if (!(beta2 >= 0 && beta2 < 1)) errors.add("beta2 must be in [0, 1), got " + beta2);
        if (!(eps >= 0)) errors.add("eps must be non-negative, got " + eps);
        if (!(weightDecay >= 0)) errors.add("weight_decay must be non-negative, got " + weightDecay);
        if (schedule == null) errors.add("schedule is missing");
        if (warmupSteps < 0) errors.add("warmup_steps must be non-negative, got " + warmupSteps);
        if (decayUntil < -1) errors.add("decay_until must be -1 (= steps) or a step, got " + decayUntil);
        if (decayUntil >= 0 && decayUntil < warmupSteps) errors.add("decay_until " + decayUntil + " is before the end of warm-up " + warmupSteps);
        if (decayUntil == -1 && schedule == Schedule.WARMUP_COSINE && steps < warmupSteps)
            errors.add("warmup_steps " + warmupSteps + " is longer than the run (" + steps + " steps)");
        if (!(lrDecayFactor >= 0)) errors.add("lr_decay_factor must be non-negative, got " + lrDecayFactor);
        if (!(gradClip >= 0)) errors.add("grad_clip must be non-negative (0 = off), got " + gradClip);
        if (evalEvery < 0) errors.add("eval_every must be non-negative, got " + evalEvery);
        if (logEvery < 1) errors.add("log_every must be at least 1, got " + logEvery);
        if (checkpointEvery < 0) errors.add("checkpoint_every must be non-negative, got " + checkpointEvery);
        if (outputDir == null) errors.add("output_dir is missing");
        if (!errors.isEmpty()) throw new IllegalArgumentException("invalid training settings: " + String.join("; ", errors));
    }

    public static Builder builder() { return new Builder(); }

    public Builder toBuilder() { return new Builder(this); }

    /** The cosine decay's last step with −1 resolved. */
    public long resolvedDecayUntil() { return decayUntil < 0 ? steps : decayUntil; }

    public LrSchedule lrSchedule() {
        return switch (schedule) {
            case CONSTANT -> new LrSchedule.Constant(lr);
            case WARMUP_COSINE -> LrSchedule.WarmupCosine.official(lr, lrDecayFactor, warmupSteps, resolvedDecayUntil());
        };
    }

    /** The settings as trainer.json records them (snake_case, official names where there are). */
    public ObjectNode toJson() {
        ObjectNode n = JSON.createObjectNode();
        n.put("steps", steps).put("batch_size", batchSize).put("lr", lr);
        n.putArray("betas").add(beta1).add(beta2);
        n.put("eps", eps).put("weight_decay", weightDecay).put("lr_schedule", schedule.jsonName())
                .put("lr_warmup_steps", warmupSteps).put("lr_decay_until_steps", resolvedDecayUntil())
                .put("lr_decay_factor", lrDecayFactor).put("grad_clip", gradClip).put("seed", seed)
                .put("eval_every", evalEvery).put("log_every", logEvery).put("checkpoint_every", checkpointEvery)
                .put("output_dir", outputDir.toString());
        if (resumeFrom != null) n.put("resume_from", resumeFrom.toString());
        return n;
    }

    /** Reads what {@link #toJson()} wrote (output and resume directories from the arguments). */
    public static TrainSettings fromJson(JsonNode n, Path outputDir, Path resumeFrom) {
        return builder().steps(n.get("steps").asLong()).batchSize(n.get("batch_size").asInt()).lr(n.get("lr").asDouble())
                .betas(n.get("betas").get(0).asDouble(), n.get("betas").get(1).asDouble()).eps(n.get("eps").asDouble())
                .weightDecay(n.get("weight_decay").asDouble()).schedule(Schedule.parse(n.get("lr_schedule").asText()))
                .warmupSteps(n.get("lr_warmup_steps").asLong()).decayUntil(n.get("lr_decay_until_steps").asLong())
                .lrDecayFactor(n.get("lr_decay_factor").asDouble()).gradClip(n.get("grad_clip").asDouble())
                .seed(n.get("seed").asLong()).evalEvery(n.get("eval_every").asLong()).logEvery(n.get("log_every").asLong())
                .checkpointEvery(n.get("checkpoint_every").asLong()).outputDir(outputDir).resumeFrom(resumeFrom).build();
    }

    /**
     * Settings from a fixture's train.json ({@code optimizer} "AdamW", {@code lr}, {@code betas}, {@code eps},
     * {@code weight_decay}, {@code steps}, {@code lr_schedule} "constant", {@code grad_clip} null or a number): what
     * the official trajectory was trained with. Batch size comes from the recorded batches; no evaluation, logging
     * every step, a checkpoint at the end only.
     */
    public static TrainSettings fromTrainJson(JsonNode t, int batchSize, Path outputDir) {
        String opt = t.path("optimizer").asText();
        if (!opt.equals("AdamW")) throw new IllegalArgumentException("train.json: optimizer '" + opt + "' is not supported (AdamW is)");
        String schedule = t.path("lr_schedule").asText("constant");
        Builder b = builder().steps(t.get("steps").asLong()).batchSize(batchSize).lr(t.get("lr").asDouble())
                .betas(t.get("betas").get(0).asDouble(), t.get("betas").get(1).asDouble()).eps(t.get("eps").asDouble())
                .weightDecay(t.get("weight_decay").asDouble()).schedule(Schedule.parse(schedule))
                .gradClip(t.path("grad_clip").isNumber() ? t.get("grad_clip").asDouble() : 0)
                .evalEvery(0).logEvery(1).checkpointEvery(0).outputDir(outputDir).plot(false);
        if (t.has("lr_warmup_steps")) b.warmupSteps(t.get("lr_warmup_steps").asLong());
        else if (b.schedule == Schedule.WARMUP_COSINE) throw new IllegalArgumentException("train.json: warmup_cosine needs lr_warmup_steps");
        if (t.has("lr_decay_until_steps")) b.decayUntil(t.get("lr_decay_until_steps").asLong());
        if (t.has("lr_decay_factor")) b.lrDecayFactor(t.get("lr_decay_factor").asDouble());
        if (t.has("seed")) b.seed(t.get("seed").asLong());
        return b.build();
    }

    public static final class Builder {
        private long steps = 20000;
        private int batchSize = 256;
        private double lr = 1e-3, beta1 = 0.9, beta2 = 0.999, eps = 1e-8, weightDecay = 0.1;
        private Schedule schedule = Schedule.WARMUP_COSINE;
        private long warmupSteps = 2000, decayUntil = -1;
        private double lrDecayFactor = 1e-3, gradClip = 0;
        private long seed = 42, evalEvery = 200, logEvery = 10, checkpointEvery = 1000;
        private Path outputDir = Path.of("runs", "run");
        private Path resumeFrom;
        private boolean progress = false, plot = true;

        private Builder() {}

        private Builder(TrainSettings s) {
            steps = s.steps; batchSize = s.batchSize; lr = s.lr; beta1 = s.beta1; beta2 = s.beta2; eps = s.eps;
            weightDecay = s.weightDecay; schedule = s.schedule; warmupSteps = s.warmupSteps; decayUntil = s.decayUntil;
            lrDecayFactor = s.lrDecayFactor; gradClip = s.gradClip; seed = s.seed; evalEvery = s.evalEvery;
            logEvery = s.logEvery; checkpointEvery = s.checkpointEvery; outputDir = s.outputDir; resumeFrom = s.resumeFrom;
            progress = s.progress; plot = s.plot;
        }

        public Builder steps(long v) { steps = v; return this; }
        public Builder batchSize(int v) { batchSize = v; return this; }
        public Builder lr(double v) { lr = v; return this; }
        public Builder betas(double b1, double b2) { beta1 = b1; beta2 = b2; return this; }
        public Builder eps(double v) { eps = v; return this; }
        public Builder weightDecay(double v) { weightDecay = v; return this; }
        public Builder schedule(Schedule v) { schedule = v; return this; }
        public Builder warmupSteps(long v) { warmupSteps = v; return this; }
        public Builder decayUntil(long v) { decayUntil = v; return this; }
        public Builder lrDecayFactor(double v) { lrDecayFactor = v; return this; }
        public Builder gradClip(double v) { gradClip = v; return this; }
        public Builder seed(long v) { seed = v; return this; }
        public Builder evalEvery(long v) { evalEvery = v; return this; }
        public Builder logEvery(long v) { logEvery = v; return this; }
        public Builder checkpointEvery(long v) { checkpointEvery = v; return this; }
        public Builder outputDir(Path v) { outputDir = v; return this; }
        public Builder resumeFrom(Path v) { resumeFrom = v; return this; }
        public Builder progress(boolean v) { progress = v; return this; }
        public Builder plot(boolean v) { plot = v; return this; }

        public TrainSettings build() {
            return new TrainSettings(steps, batchSize, lr, beta1, beta2, eps, weightDecay, schedule, warmupSteps, decayUntil,
                    lrDecayFactor, gradClip, seed, evalEvery, logEvery, checkpointEvery, outputDir, resumeFrom, progress, plot);
        }
    }
}
