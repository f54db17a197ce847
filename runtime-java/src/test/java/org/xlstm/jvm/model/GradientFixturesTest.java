package org.xlstm.jvm.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;
import org.xlstm.jvm.backend.Ops;
import org.xlstm.jvm.backend.ReferenceOps;
import org.xlstm.jvm.backend.cpu.CpuOps;
import org.xlstm.jvm.config.FixtureCases;
import org.xlstm.jvm.config.ModelConfig;
import org.xlstm.jvm.config.OfficialConfigs;
import org.xlstm.jvm.io.SafeTensors;
import org.xlstm.jvm.tensor.Tensor;

/**
 * Loss and every parameter gradient of every fixture case that has {@code grad.*} tensors, against the official
 * float64 autograd results: all gradients concatenated within 1e-4 and each parameter within 1e-3 (normwise
 * relative, XLSTM.md §8), with the CPU backend and with the reference one.
 */
class GradientFixturesTest {

    @Test
    void everyFixtureGradientMatches() {
        int checked = 0;
        for (Path dir : FixtureCases.all()) {
            try (SafeTensors expected = SafeTensors.open(dir.resolve("expected.safetensors"))) {
                if (expected.names().stream().noneMatch(n -> n.startsWith("grad."))) continue;
                ModelConfig config = OfficialConfigs.load(dir.resolve("config.json"));
                for (Ops ops : new Ops[] {new CpuOps(), new ReferenceOps()}) check(dir, config, expected, ops);
                checked++;
            }
        }
        assertTrue(checked > 0, "no fixture case with gradients under " + FixtureCases.root());
    }

    static void check(Path dir, ModelConfig c, SafeTensors expected, Ops ops) {
        String name = dir.getFileName() + " (" + ops.name() + ")";
        try (SafeTensors weights = SafeTensors.open(dir.resolve("model.safetensors"))) {
            Arena arena = Arena.ofShared();
            CheckpointParams params = new CheckpointParams(weights, arena, dir.toString());
            try (TrainableLanguageModel model = (TrainableLanguageModel) Models.build(c, params, ops, arena, 0)) {
                params.finish();
                long[] ids = expected.longs("input_ids"), tg = expected.longs("targets");
                long[] shape = expected.info("input_ids").shape();
                int b = (int) shape[0], s = (int) shape[1];
                int[] inputs = new int[ids.length], targets = new int[tg.length];
                for (int i = 0; i < ids.length; i++) {
                    inputs[i] = (int) ids[i];
                    targets[i] = (int) tg[i];
                }
                model.gradients().zero();
                double loss = model.lossAndGradients(inputs, targets, b, s, 0L);
                double refLoss = expected.doubles("loss")[0];
                assertEquals(refLoss, loss, 1e-5 * Math.abs(refLoss), name + ": loss");
                Report r = compare(model.gradients().all(), expected);
                System.out.println(name + ": " + r);
                assertTrue(r.all <= 1e-4, name + ": all gradients together, relative error " + r.all);
                assertTrue(r.worst <= 1e-3, name + ": " + r.worstName + ", relative error " + r.worst);
            }
        }
    }

    record Report(double all, double worst, String worstName, int count) {
        @Override
        public String toString() {
            return String.format("%d gradients, all %.2e, worst %s %.2e", count, all, worstName, worst);
        }
    }

    static Report compare(Map<String, Tensor> grads, SafeTensors expected) {
        TreeSet<String> expectedNames = new TreeSet<>();
        for (String n : expected.names()) if (n.startsWith("grad.")) expectedNames.add(n.substring(5));
        assertEquals(expectedNames, new TreeSet<>(grads.keySet()), "gradient names");
        double num = 0, den = 0, worst = 0;
        String worstName = "";
        for (String n : expectedNames) {
            double[] ref = expected.doubles("grad." + n);
            float[] ours = grads.get(n).toArray();
            assertEquals(ref.length, ours.length, n + ": size");
            double e2 = 0, r2 = 0;
            for (int i = 0; i < ref.length; i++) {
                double d = ours[i] - ref[i];
                e2 += d * d;
                r2 += ref[i] * ref[i];
            }
            num += e2;
            den += r2;
            double rel = r2 == 0 ? Math.sqrt(e2) : Math.sqrt(e2 / r2);
            if (rel > worst) {
                worst = rel;
                worstName = n;
            }
        }
        return new Report(Math.sqrt(num / den), worst, worstName, expectedNames.size());
    }
}
