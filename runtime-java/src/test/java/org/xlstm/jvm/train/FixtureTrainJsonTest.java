package org.xlstm.jvm.train;

import static org.junit.jupiter.api.Assertions.*;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.xlstm.jvm.data.FixedBatches;
import org.xlstm.jvm.io.SafeTensors;

/**
 * The fixtures' recorded trajectories as trainer inputs: train.json → settings, train.safetensors → batches. (The
 * trajectory itself is replayed once the model has a backward pass; here the inputs must be read right.)
 */
class FixtureTrainJsonTest {
    @Test
    void everyFixtureTrajectoryReadsIntoSettingsAndBatches() throws Exception {
        Path fixtures = Path.of(System.getProperty("xlstm.fixtures", "../shared/fixtures"));
        List<Path> found;
        try (Stream<Path> s = Files.walk(fixtures)) {
            found = s.filter(p -> p.getFileName().toString().equals("train.json")).sorted().toList();
        }
        assertFalse(found.isEmpty());
        for (Path f : found) {
            JsonNode t = new ObjectMapper().readTree(f.toFile());
            try (SafeTensors st = SafeTensors.open(f.resolveSibling("train.safetensors"))) {
                long[] shape = st.info("inputs").shape();
                int n = (int) shape[0], b = (int) shape[1], s = (int) shape[2];
                int vocab = new ObjectMapper().readTree(f.resolveSibling("config.json").toFile()).get("vocab_size").asInt();
                FixedBatches data = FixedBatches.fromLongs(st.longs("inputs"), st.longs("targets"), n, b, s, vocab, f.getParent().getFileName().toString());
                TrainSettings settings = TrainSettings.fromTrainJson(t, data.batchSize(), Path.of("unused"));
                assertEquals(t.get("steps").asLong(), settings.steps(), f.toString());
                assertEquals(n, data.size(), "one recorded batch per step: " + f);
                assertEquals(st.doubles("losses").length, n);
                assertEquals(t.get("lr").asDouble(), settings.lrSchedule().lr(0), f.toString());
                assertEquals(t.get("weight_decay").asDouble(), settings.weightDecay());
                assertEquals(t.path("grad_clip").isNull() ? 0.0 : t.get("grad_clip").asDouble(), settings.gradClip());
                assertTrue(data.batch(n - 1).maxTokenId() < vocab);
                assertThrows(IllegalArgumentException.class, () -> data.batch(n));
            }
        }
    }
}
