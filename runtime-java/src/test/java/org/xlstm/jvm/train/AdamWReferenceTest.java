package org.xlstm.jvm.train;

import static org.junit.jupiter.api.Assertions.*;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.xlstm.jvm.io.SafeTensors;

/**
 * A torch trajectory (src/test/python/adamw_reference.py: torch.optim.AdamW with the official groups, the official
 * LinearWarmupCosineAnnealing and clip_grad_norm_): our optimizer, schedule and clipping step by step.
 */
class AdamWReferenceTest {
    private static double relErr(float[] a, float[] b) {
        double num = 0, den = 0;
        for (int i = 0; i < a.length; i++) {
            num += ((double) a[i] - b[i]) * ((double) a[i] - b[i]);
            den += (double) b[i] * b[i];
        }
        return Math.sqrt(num / den);
    }

    @Test
    void followsTheTorchTrajectoryWithGroupsClippingAndSchedule() throws Exception {
        Path file = Path.of(getClass().getResource("adamw_reference.safetensors").toURI());
        try (SafeTensors ref = SafeTensors.open(file)) {
            JsonNode s = new ObjectMapper().readTree(ref.metadata().get("settings"));
            List<Parameter> params = new ArrayList<>();
            for (String name : ref.names()) {
                if (!name.startsWith("init.")) continue;
                String n = name.substring(5);
                long[] shape = ref.info(name).shape();
                int[] dims = new int[shape.length];
                for (int i = 0; i < dims.length; i++) dims[i] = (int) shape[i];
                float[] v = ref.floats(name);
                params.add(Parameter.ofArrays(n, v, new float[v.length], dims));
            }
            assertEquals(4, params.size());
            double lr = s.get("lr").asDouble();
            LrSchedule schedule = LrSchedule.WarmupCosine.official(lr, s.get("lr_decay_factor").asDouble(),
                    s.get("warmup_steps").asLong(), s.get("decay_until_step").asLong());
            AdamW opt = AdamW.official(params, false, s.get("betas").get(0).asDouble(), s.get("betas").get(1).asDouble(),
                    s.get("eps").asDouble(), s.get("weight_decay").asDouble());
            double[] lrs = ref.doubles("lr"), norms = ref.doubles("grad_norm");
            int clipped = 0;
            for (int k = 0; k < s.get("steps").asInt(); k++) {
                for (Parameter p : params) {
                    float[] g = ref.floats("grad." + k + "." + p.name());
                    java.lang.foreign.MemorySegment.copy(g, 0, p.grad(), Parameter.F32, 0, g.length);
                }
                assertEquals(lrs[k], schedule.lr(k), 1e-18, "learning rate of update " + k);
                double norm = GradientClipping.clipByGlobalNorm(params, s.get("max_grad_norm").asDouble());
                assertEquals(norms[k], norm, 1e-6 * norms[k], "gradient norm at update " + k);
                if (norm > 1) clipped++;
                opt.step(schedule.lr(k));
                for (Parameter p : params) {
                    float[] want = ref.floats("param." + k + "." + p.name());
                    double err = relErr(p.valueArray(), want);
                    assertTrue(err < 1e-6, p.name() + " after update " + k + ": relative error " + err);
                }
            }
            assertTrue(clipped >= 3 && clipped < 7, "the reference exercises clipping on some updates only");
            assertEquals(7, opt.steps());
            for (Parameter p : params) {
                assertTrue(relErr(opt.expAvg().get(p.name()), ref.floats("exp_avg." + p.name())) < 1e-6, "exp_avg " + p.name());
                assertTrue(relErr(opt.expAvgSq().get(p.name()), ref.floats("exp_avg_sq." + p.name())) < 1e-6, "exp_avg_sq " + p.name());
                // Coordinate 0 never had a gradient: only weight decay moved it.
                float init = ref.floats("init." + p.name())[0];
                float now = p.valueArray()[0];
                if (opt.weightDecayOf(p) == 0) assertEquals(init, now, 0f, p.name());
                else assertNotEquals(init, now, p.name());
            }
        }
    }

    @Test
    void restoredStateContinuesBitIdentically() {
        float[] a = {1, -2, 3, 0.5f, 7, 8, 9, 10, 11}, b = a.clone();
        float[] ga = new float[9], gb = new float[9];
        Parameter pa = Parameter.ofArrays("lm_head.weight", a, ga, 3, 3), pb = Parameter.ofArrays("lm_head.weight", b, gb, 3, 3);
        AdamW oa = AdamW.official(List.of(pa), false, 0.9, 0.999, 1e-8, 0.1);
        for (int k = 0; k < 3; k++) {
            for (int i = 0; i < 9; i++) ga[i] = (float) Math.sin(k * 9 + i);
            oa.step(0.01);
        }
        AdamW ob = AdamW.official(List.of(pb), false, 0.9, 0.999, 1e-8, 0.1);
        pb.setValue(pa.valueArray());
        ob.restore(oa.steps(), oa.expAvg(), oa.expAvgSq());
        for (int k = 3; k < 6; k++) {
            for (int i = 0; i < 9; i++) ga[i] = gb[i] = (float) Math.sin(k * 9 + i);
            oa.step(0.01);
            ob.step(0.01);
        }
        assertArrayEquals(pa.valueArray(), pb.valueArray());
        var e = assertThrows(IllegalArgumentException.class, () -> ob.restore(1, java.util.Map.of(), java.util.Map.of()));
        assertTrue(e.getMessage().contains("exp_avg.lm_head.weight is missing"), e.getMessage());
    }
}
