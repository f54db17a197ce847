package org.xlstm.jvm.train;

import static org.junit.jupiter.api.Assertions.*;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

class WeightDecayRuleTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    private static List<String> strings(JsonNode a) {
        List<String> out = new ArrayList<>();
        a.forEach(n -> out.add(n.asText()));
        return out;
    }

    private static List<Parameter> params(List<String> names) {
        return names.stream().map(n -> Parameter.ofArrays(n, new float[1], new float[1], 1)).toList();
    }

    /** Groups the official model builds for several configurations (tied, bias, decay on embedding, no conv). */
    @Test
    void reproducesTheOfficialGroupsOfEveryRecordedConfiguration() throws Exception {
        JsonNode root;
        try (InputStream in = getClass().getResourceAsStream("official_weight_decay_groups.json")) {
            root = JSON.readTree(in);
        }
        assertEquals(4, root.size());
        for (var it = root.fields(); it.hasNext(); ) {
            var e = it.next();
            JsonNode c = e.getValue();
            WeightDecayRule.Groups g = WeightDecayRule.split(params(strings(c.get("parameters"))),
                    c.get("weight_decay_on_embedding").asBoolean());
            assertEquals(strings(c.get("weight_decay_params")), g.decayNames(), e.getKey());
            assertEquals(strings(c.get("no_weight_decay_params")), g.noDecayNames(), e.getKey());
        }
    }

    /** Every train.json under the fixtures directory (hidden cases included when present). */
    @Test
    void reproducesTheGroupsOfEveryFixtureTrainJson() throws Exception {
        Path fixtures = Path.of(System.getProperty("xlstm.fixtures", "../shared/fixtures"));
        List<Path> found;
        try (Stream<Path> s = Files.walk(fixtures)) {
            found = s.filter(p -> p.getFileName().toString().equals("train.json")).sorted().toList();
        }
        assertFalse(found.isEmpty(), "no train.json under " + fixtures.toAbsolutePath());
        for (Path f : found) {
            JsonNode t = JSON.readTree(f.toFile());
            JsonNode config = JSON.readTree(f.resolveSibling("config.json").toFile());
            boolean onEmbedding = config.path("weight_decay_on_embedding").asBoolean(false);
            List<String> decay = strings(t.get("weight_decay_params")), noDecay = strings(t.get("no_weight_decay_params"));
            List<String> all = new ArrayList<>(decay);
            all.addAll(noDecay);
            WeightDecayRule.Groups g = WeightDecayRule.split(params(all), onEmbedding);
            assertEquals(decay, g.decayNames(), f.toString());
            assertEquals(noDecay, g.noDecayNames(), f.toString());
        }
    }

    @Test
    void ruleGoesByNameNotRank() {
        assertFalse(WeightDecayRule.decays("xlstm_block_stack.blocks.1.xlstm.slstm_cell._recurrent_kernel_", false), "3-D, no 'weight'");
        assertTrue(WeightDecayRule.decays("xlstm_block_stack.blocks.0.xlstm.conv1d.conv.weight", false));
        assertFalse(WeightDecayRule.decays("xlstm_block_stack.blocks.0.xlstm.mlstm_cell.outnorm.weight", false));
        assertFalse(WeightDecayRule.decays("token_embedding.weight", false));
        assertTrue(WeightDecayRule.decays("token_embedding.weight", true));
        assertFalse(WeightDecayRule.decays("embedding.weight", false), "xLSTM-7B embedding");
        assertFalse(WeightDecayRule.decays("backbone.blocks.0.norm_mlstm.weight", false));
        assertTrue(WeightDecayRule.decays("backbone.blocks.0.mlstm_layer.igate_preact.weight", false));
        assertFalse(WeightDecayRule.decays("backbone.blocks.0.mlstm_layer.igate_preact.bias", false));
    }
}
