package org.xlstm.jvm.conformance;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import org.xlstm.jvm.backend.Ops;
import org.xlstm.jvm.config.ModelConfig;
import org.xlstm.jvm.io.SafeTensors;
import org.xlstm.jvm.model.Models;
import org.xlstm.jvm.model.TrainableLanguageModel;
import org.xlstm.jvm.tensor.Tensor;
import org.xlstm.jvm.train.TrajectoryReplay;

/**
 * The training quantities of a fixture case (XLSTM.md §8): {@code grad} (all parameter gradients concatenated,
 * ≤ 1e-4) and {@code grad.<name>} (each ≤ 1e-3) from one forward/backward on input_ids/targets; and, when the case
 * records a trajectory, {@code train.loss.<step>} (≤ 1e-4) and {@code train.final.<name>} (≤ 1e-3) after replaying
 * the recorded AdamW steps through our trainer.
 */
public final class GradientChecks {
    private GradientChecks() {}

    public static final double ALL_GRADIENTS_TOLERANCE = 1e-4;
    public static final double GRADIENT_TOLERANCE = 1e-3;
    public static final double TRAIN_LOSS_TOLERANCE = 1e-4;
    public static final double TRAIN_FINAL_TOLERANCE = 1e-3;

    /**
     * The tolerance of a training quantity on {@code ops}: as documented above in float32 (CPU or GPU), and the bf16
     * tolerance of the forward pass ({@link Conformance#forwardTolerance}) where products round to bf16.
     */
    static double tolerance(double float32, Ops ops) { return Math.max(float32, Conformance.forwardTolerance(ops)); }

    /**
     * A training quantity's row. With bf16 products the backward's products take bf16 inputs too (as mixed-precision
     * training does), so gradients land a few percent from the float64 reference — gate biases, sums over every
     * position, more: the error is reported, and judged where it can be, in float32 ({@code --device cuda}).
     */
    private static CheckResult row(String name, String quantity, double error, double float32, Ops ops, String note) {
        if (Conformance.forwardTolerance(ops) >= Conformance.GPU_BF16_TOLERANCE)
            return CheckResult.skipped(name, quantity, String.format(java.util.Locale.ROOT,
                    "bf16 training: error %.3e, reported, not judged (judged in float32)", error));
        return CheckResult.measured(name, quantity, error, tolerance(float32, ops), note);
    }

    /** Adds grad rows when the case has grad.* tensors, train rows when it has a trajectory. */
    static void run(String name, Path dir, ModelConfig config, SafeTensors expected, Ops ops, List<CheckResult> out) {
        if (!ops.supportsTraining()) {
            if (expected.names().stream().anyMatch(n -> n.startsWith("grad.")))
                out.add(CheckResult.skipped(name, "grad", "backward passes are not implemented on " + ops.name() + " yet"));
            if (TrajectoryReplay.has(dir))
                out.add(CheckResult.skipped(name, "train", "training is not implemented on " + ops.name() + " yet"));
            return;
        }
        if (expected.names().stream().anyMatch(n -> n.startsWith("grad."))) {
            try {
                gradients(name, dir, config, expected, ops, out);
            } catch (RuntimeException e) {
                out.add(CheckResult.failed(name, "grad", e.getClass().getSimpleName() + ": " + e.getMessage()));
            }
        }
        if (TrajectoryReplay.has(dir)) {
            try {
                trajectory(name, dir, ops, out);
            } catch (RuntimeException e) {
                out.add(CheckResult.failed(name, "train", e.getClass().getSimpleName() + ": " + e.getMessage()));
            }
        }
    }

    static void gradients(String name, Path dir, ModelConfig config, SafeTensors expected, Ops ops, List<CheckResult> out) {
        long[] ids = expected.longs("input_ids"), tg = expected.longs("targets");
        long[] shape = expected.info("input_ids").shape();
        int b = (int) shape[0], s = (int) shape[1];
        int[] inputs = new int[ids.length], targets = new int[tg.length];
        for (int i = 0; i < ids.length; i++) {
            inputs[i] = Math.toIntExact(ids[i]);
            targets[i] = Math.toIntExact(tg[i]);
        }
        try (TrainableLanguageModel model = (TrainableLanguageModel) Models.load(config, dir, ops)) {
            model.gradients().zero();
            model.lossAndGradients(inputs, targets, b, s, 0L);
            Map<String, Tensor> grads = model.gradients().all();
            TreeSet<String> refNames = new TreeSet<>();
            for (String n : expected.names()) if (n.startsWith("grad.")) refNames.add(n.substring(5));
            double num = 0, den = 0;
            for (String n : refNames) {
                Tensor g = grads.get(n);
                if (g == null) {
                    out.add(CheckResult.failed(name, "grad." + n, "the reference has this gradient; our model has no such parameter"));
                    continue;
                }
                double[] ref = expected.doubles("grad." + n);
                float[] ours = new float[Math.toIntExact(g.size())];
                ops.read(g, 0, ours, 0, ours.length);   // device gradients are read back through the backend
                if (ours.length != ref.length) {
                    out.add(CheckResult.failed(name, "grad." + n, ours.length + " values, the reference has " + ref.length));
                    continue;
                }
                double e2 = 0, r2 = 0;
                for (int i = 0; i < ref.length; i++) {
                    e2 += (ours[i] - ref[i]) * (ours[i] - ref[i]);
                    r2 += ref[i] * ref[i];
                }
                num += e2;
                den += r2;
                out.add(row(name, "grad." + n, r2 == 0 ? Math.sqrt(e2) : Math.sqrt(e2 / r2), GRADIENT_TOLERANCE, ops, ""));
            }
            for (String n : grads.keySet())
                if (!refNames.contains(n)) out.add(CheckResult.failed(name, "grad." + n, "our parameter has no reference gradient"));
            out.add(row(name, "grad", den == 0 ? Math.sqrt(num) : Math.sqrt(num / den), ALL_GRADIENTS_TOLERANCE, ops,
                    refNames.size() + " parameter gradients concatenated, one forward/backward on input_ids → targets"));
        }
    }

    static void trajectory(String name, Path dir, Ops ops, List<CheckResult> out) {
        TrajectoryReplay.Result r = TrajectoryReplay.replay(dir, ops);
        for (String p : r.groupProblems()) out.add(CheckResult.failed(name, "train.groups", p));
        for (int i = 0; i < r.lossErrors().length; i++)
            out.add(row(name, "train.loss." + (i + 1), r.lossErrors()[i], TRAIN_LOSS_TOLERANCE, ops,
                    "loss of recorded AdamW step " + (i + 1)));
        r.finalErrors().forEach((p, e) -> out.add(row(name, "train.final." + p, e, TRAIN_FINAL_TOLERANCE, ops,
                "after " + r.lossErrors().length + " steps")));
    }
}
