package org.xlstm.jvm.train;

import static org.junit.jupiter.api.Assertions.*;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.xlstm.jvm.config.OfficialConfigs;
import org.xlstm.jvm.config.XlstmConfig;

class CheckpointTest {
    @TempDir Path tmp;

    private static final class Model {
        final float[] emb = new float[12], head = new float[6], norm = new float[3];
        final List<Parameter> params = List.of(
                Parameter.ofArrays("token_embedding.weight", emb, new float[12], 4, 3),
                Parameter.ofArrays("xlstm_block_stack.post_blocks_norm.weight", norm, new float[3], 3),
                Parameter.ofArrays("lm_head.weight", head, new float[6], 2, 3));
        final AdamW opt = AdamW.official(params, false, 0.9, 0.999, 1e-8, 0.1);

        /** Deterministic values and a few optimizer updates, so that every saved number is distinct. */
        Model trained(int steps) {
            for (int i = 0; i < 12; i++) emb[i] = i * 0.25f - 1;
            for (int i = 0; i < 6; i++) head[i] = -i * 0.5f;
            for (int k = 0; k < steps; k++) {
                for (Parameter p : params) {
                    float[] g = new float[(int) p.size()];
                    for (int i = 0; i < g.length; i++) g[i] = (float) Math.cos(k + i + p.name().length());
                    java.lang.foreign.MemorySegment.copy(g, 0, p.grad(), Parameter.F32, 0, g.length);
                }
                opt.step(0.01);
            }
            return this;
        }

        Checkpoint.Snapshot snapshot(long step) {
            ObjectNode t = new ObjectMapper().createObjectNode().put("step", step);
            return new Checkpoint.Snapshot(XlstmConfig.defaults(64, 32), "xlstm { }\n", params, Map.of(), opt, t);
        }
    }

    @Test
    void roundTripsParametersMomentsConfigRecipeAndTrainerState() throws Exception {
        Model a = new Model().trained(3);
        Path dir = tmp.resolve("checkpoint");
        Checkpoint.write(dir, a.snapshot(3));
        try (Stream<Path> s = Files.list(dir)) {
            assertEquals(List.of("config.json", "model.safetensors", "optimizer.safetensors", "recipe.xlstm.kts", "trainer.json"),
                    s.map(p -> p.getFileName().toString()).sorted().toList());
        }
        Model b = new Model();
        try (Checkpoint.Loaded l = Checkpoint.open(dir)) {
            l.loadParameters(b.params, Map.of());
            l.restoreOptimizer(b.opt);
            assertEquals(3, l.trainer().get("step").asLong());
            assertEquals("xlstm { }\n", l.recipe().orElseThrow());
            assertEquals(OfficialConfigs.toJson(XlstmConfig.defaults(64, 32)), l.configJson().orElseThrow());
            assertEquals(3, l.model().infos().size(), "untied: no alias");
            assertArrayEquals(new long[] {4, 3}, l.model().info("token_embedding.weight").shape());
        }
        for (int i = 0; i < 3; i++) {
            assertArrayEquals(a.params.get(i).valueArray(), b.params.get(i).valueArray());
            String n = a.params.get(i).name();
            assertArrayEquals(a.opt.expAvg().get(n), b.opt.expAvg().get(n));
            assertArrayEquals(a.opt.expAvgSq().get(n), b.opt.expAvgSq().get(n));
        }
        assertEquals(3, b.opt.steps());
        assertTrue(OfficialConfigs.read(dir.resolve("config.json")) instanceof XlstmConfig);
    }

    @Test
    void aTiedHeadIsWrittenUnderBothNamesAndAcceptedOnLoad() {
        float[] emb = new float[6];
        for (int i = 0; i < 6; i++) emb[i] = i;
        List<Parameter> ps = List.of(Parameter.ofArrays("token_embedding.weight", emb, new float[6], 2, 3));
        Map<String, String> tied = Map.of("lm_head.weight", "token_embedding.weight");
        Path dir = tmp.resolve("tied");
        Checkpoint.write(dir, new Checkpoint.Snapshot(null, null, ps, tied, null, new ObjectMapper().createObjectNode()));
        try (Checkpoint.Loaded l = Checkpoint.open(dir)) {
            assertArrayEquals(emb, l.model().floats("lm_head.weight"));
            List<Parameter> fresh = List.of(Parameter.ofArrays("token_embedding.weight", new float[6], new float[6], 2, 3));
            l.loadParameters(fresh, tied);
            assertArrayEquals(emb, fresh.get(0).valueArray());
            var e = assertThrows(IllegalArgumentException.class, () -> l.loadParameters(fresh, Map.of()));
            assertTrue(e.getMessage().contains("lm_head.weight is not a parameter of this model"), e.getMessage());
            assertThrows(IllegalArgumentException.class, () -> l.restoreOptimizer(AdamW.official(fresh, false, 0.9, 0.999, 1e-8, 0)));
        }
    }

    /** A crash at each point of a write leaves a whole checkpoint: the previous one, or the new one once in place. */
    @Test
    void aCrashAtAnyStageLeavesAWholeLoadableCheckpoint() throws Exception {
        for (Checkpoint.Stage stage : Checkpoint.Stage.values()) {
            Path dir = tmp.resolve("crash-" + stage).resolve("checkpoint");
            Model first = new Model().trained(2);
            Checkpoint.write(dir, first.snapshot(2));
            Model second = new Model().trained(5);
            RuntimeException crash = new RuntimeException("simulated crash at " + stage);
            var thrown = assertThrows(RuntimeException.class, () -> Checkpoint.write(dir, second.snapshot(5), s -> {
                if (s == stage) throw crash;
            }));
            assertSame(crash, thrown);
            boolean newOne = stage == Checkpoint.Stage.NEW_IN_PLACE;
            Model expected = newOne ? second : first;
            Model loaded = new Model();
            try (Checkpoint.Loaded l = Checkpoint.open(dir)) {
                assertEquals(newOne ? 5 : 2, l.trainer().get("step").asLong(), stage.toString());
                l.loadParameters(loaded.params, Map.of());
                l.restoreOptimizer(loaded.opt);
            }
            for (int i = 0; i < 3; i++) assertArrayEquals(expected.params.get(i).valueArray(), loaded.params.get(i).valueArray(), stage.toString());
            assertEquals(newOne ? 5 : 2, loaded.opt.steps());
            assertFalse(Files.exists(dir.resolveSibling("checkpoint.old")), "open() finishes the interrupted write");

            // The next write goes through and sweeps the crashed write's temporary directory away.
            Checkpoint.write(dir, new Model().trained(7).snapshot(7));
            try (Stream<Path> s = Files.list(dir.getParent())) {
                assertEquals(List.of("checkpoint"), s.map(p -> p.getFileName().toString()).toList(), stage.toString());
            }
            try (Checkpoint.Loaded l = Checkpoint.open(dir)) {
                assertEquals(7, l.trainer().get("step").asLong());
            }
        }
    }

    @Test
    void missingOrMisshapenParametersAreNamed() {
        Model a = new Model().trained(1);
        Path dir = tmp.resolve("c");
        Checkpoint.write(dir, a.snapshot(1));
        List<Parameter> other = List.of(
                Parameter.ofArrays("token_embedding.weight", new float[12], new float[12], 3, 4),
                Parameter.ofArrays("xlstm_block_stack.blocks.0.xlstm_norm.weight", new float[3], new float[3], 3));
        try (Checkpoint.Loaded l = Checkpoint.open(dir)) {
            var e = assertThrows(IllegalArgumentException.class, () -> l.loadParameters(other, Map.of()));
            assertTrue(e.getMessage().contains("token_embedding.weight has shape [4, 3], the model [3, 4]"), e.getMessage());
            assertTrue(e.getMessage().contains("xlstm_block_stack.blocks.0.xlstm_norm.weight is missing"), e.getMessage());
            assertTrue(e.getMessage().contains("lm_head.weight is not a parameter"), e.getMessage());
        }
        var e = assertThrows(IllegalArgumentException.class, () -> Checkpoint.open(tmp.resolve("nothing")));
        assertTrue(e.getMessage().contains("no checkpoint at"), e.getMessage());
    }
}
