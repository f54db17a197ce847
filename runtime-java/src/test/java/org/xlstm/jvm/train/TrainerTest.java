package org.xlstm.jvm.train;

import static org.junit.jupiter.api.Assertions.*;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.xlstm.jvm.data.Batch;
import org.xlstm.jvm.data.BatchSource;
import org.xlstm.jvm.data.TextDataset;
import org.xlstm.jvm.data.tasks.Parity;
import org.xlstm.jvm.data.tasks.TaskDataset;

class TrainerTest {
    @TempDir Path tmp;
    private static final int V = 32, D = 8, B = 4, S = 24;

    /** A text where each symbol is followed by the next one of a cycle 90% of the time: a bigram model learns it. */
    private static final TextDataset TEXT = text();

    private static TextDataset text() {
        SplittableRandom r = new SplittableRandom(5);
        int[] t = new int[6000];
        for (int i = 1; i < t.length; i++) t[i] = r.nextInt(10) == 0 ? r.nextInt(V) : (t[i - 1] + 1) % V;
        return TextDataset.of(t, V, 0.1, "cycle text");
    }

    private TrainSettings.Builder settings(String dir, long steps) {
        return TrainSettings.builder().steps(steps).batchSize(B).lr(0.05).warmupSteps(3).lrDecayFactor(0.1)
                .weightDecay(0.01).gradClip(1.0).seed(7).evalEvery(10).logEvery(1).checkpointEvery(7)
                .outputDir(tmp.resolve(dir)).plot(false);
    }

    private static Trainer trainer(TrainSettings s, TrainableModel m) {
        return new Trainer(s, m, TEXT.train(B, S, s.seed()), Map.of("validation", TEXT.validation(B, S, 4)))
                .notes(new PrintStream(new ByteArrayOutputStream()));
    }

    /** metrics.jsonl without the wall-clock fields. */
    private static List<JsonNode> metricsWithoutTiming(Path dir) {
        return MetricsLog.read(dir.resolve(Trainer.METRICS)).stream().map(r -> {
            ObjectNode c = r.deepCopy();
            c.remove(List.of("tokens_per_s", "elapsed_s"));
            return (JsonNode) c;
        }).toList();
    }

    @Test
    void learnsAndWritesMetricsSummaryPlotAndCheckpoint() throws Exception {
        BigramModel m = new BigramModel(V, D, 1);
        TrainSettings s = settings("learn", 60).plot(true).logEvery(5).build();
        Trainer.Result res = trainer(s, m).recipe("xlstm { }\n").run();
        Path out = tmp.resolve("learn");

        List<JsonNode> records = MetricsLog.read(out.resolve(Trainer.METRICS));
        List<JsonNode> trainLines = records.stream().filter(r -> r.get("kind").asText().equals("train")).toList();
        List<JsonNode> evalLines = records.stream().filter(r -> r.get("kind").asText().equals("eval")).toList();
        assertEquals(12, trainLines.size(), "one line per 5 steps");
        assertEquals(6, evalLines.size(), "every 10 steps");
        for (String f : List.of("step", "loss", "lr", "grad_norm", "accuracy", "tokens", "tokens_per_s", "elapsed_s"))
            assertTrue(trainLines.get(0).has(f), "train line has " + f);
        assertEquals(5 * B * S, trainLines.get(0).get("tokens").asLong());
        double first = trainLines.get(0).get("loss").asDouble(), last = trainLines.get(11).get("loss").asDouble();
        assertTrue(first > Math.log(V) - 0.3, "starts near uniform: " + first);
        assertTrue(last < 0.6 * first, "loss falls: " + first + " -> " + last);
        TaskMetrics.Result val = res.eval().get("validation");
        assertTrue(val.accuracy() > 0.8, "validation accuracy " + val.accuracy());
        assertEquals(evalLines.get(5).get("accuracy").asDouble(), val.accuracy());

        JsonNode summary = new ObjectMapper().readTree(out.resolve(Trainer.SUMMARY).toFile());
        assertEquals(60, summary.get("steps").asLong());
        assertEquals(2L * V * D, summary.get("parameters").asLong());
        assertEquals(val.accuracy(), summary.get("final_eval").get("validation").get("accuracy").asDouble());
        assertEquals(Trainer.PLOT, summary.get("plot").asText(), summary.get("plot").asText());
        assertEquals("warmup_cosine", summary.get("settings").get("lr_schedule").asText());

        BufferedImage png = ImageIO.read(out.resolve(Trainer.PLOT).toFile());
        assertNotNull(png, "metrics.png is a PNG");
        assertEquals(1280, png.getWidth(), "loss and accuracy side by side");
        assertEquals(420, png.getHeight());

        try (Checkpoint.Loaded l = Checkpoint.open(out.resolve(Trainer.CHECKPOINT))) {
            assertEquals(60, l.trainer().get("step").asLong());
            assertEquals("xlstm { }\n", l.recipe().orElseThrow());
            assertArrayEquals(m.emb, l.model().floats("token_embedding.weight"));
            assertEquals(7, l.trainer().get("rng").get("data_seed").asLong());
        }
        // The official schedule and step semantics: update k (0-based) runs at compute_lr(k), so the last update
        // (k = 59) runs just above lr·factor, which compute_lr reaches at k = decay_until = 60.
        assertEquals(s.lrSchedule().lr(59), trainLines.get(11).get("lr").asDouble(), 0.0);
        assertTrue(s.lrSchedule().lr(59) > 0.05 * 0.1 && s.lrSchedule().lr(60) == 0.05 * 0.1);
    }

    @Test
    void sameSeedGivesBitIdenticalRuns() {
        BigramModel a = new BigramModel(V, D, 3), b = new BigramModel(V, D, 3);
        trainer(settings("a", 20).build(), a).run();
        trainer(settings("b", 20).build(), b).run();
        assertArrayEquals(a.emb, b.emb);
        assertArrayEquals(a.head, b.head);
        assertEquals(metricsWithoutTiming(tmp.resolve("a")), metricsWithoutTiming(tmp.resolve("b")));
        BigramModel c = new BigramModel(V, D, 3);
        trainer(settings("c", 20).seed(8).build(), c).run();
        assertFalse(java.util.Arrays.equals(a.emb, c.emb), "another data seed, another run");
    }

    /** A model that dies at its n-th step, as a crashed process would. */
    private static final class Crashing implements TrainableModel {
        final BigramModel inner;
        int callsLeft;

        Crashing(BigramModel inner, int calls) {
            this.inner = inner;
            this.callsLeft = calls;
        }

        @Override public List<Parameter> parameters() { return inner.parameters(); }
        @Override public void evaluate(Batch b, TaskMetrics m) { inner.evaluate(b, m); }
        @Override public float lossAndGradients(Batch b) { return lossAndGradients(b, new TaskMetrics()); }

        @Override
        public float lossAndGradients(Batch b, TaskMetrics m) {
            if (callsLeft-- == 0) throw new IllegalStateException("simulated crash");
            return inner.lossAndGradients(b, m);
        }
    }

    @Test
    void resumingFromACheckpointEndsBitIdenticalToAnUninterruptedRun() {
        BigramModel whole = new BigramModel(V, D, 4);
        trainer(settings("whole", 30).logEvery(4).build(), whole).run();

        // Crash during step 18: the last checkpoint is at step 14 (every 7), mid logging window (every 4).
        Crashing crashing = new Crashing(new BigramModel(V, D, 4), 17);
        var e = assertThrows(IllegalStateException.class, () -> trainer(settings("broken", 30).logEvery(4).build(), crashing).run());
        assertEquals("simulated crash", e.getMessage());
        BigramModel resumed = new BigramModel(V, D, 99);  // other initial values: all come from the checkpoint
        Trainer.Result r = trainer(settings("broken", 30).logEvery(4)
                .resumeFrom(tmp.resolve("broken").resolve(Trainer.CHECKPOINT)).build(), resumed).run();
        assertEquals(14, r.resumedFrom());
        assertArrayEquals(whole.emb, resumed.emb);
        assertArrayEquals(whole.head, resumed.head);
        assertEquals(metricsWithoutTiming(tmp.resolve("whole")), metricsWithoutTiming(tmp.resolve("broken")),
                "same losses, learning rates, gradient norms and evaluations, step for step");
    }

    @Test
    void refusesToClobberARunOrToResumeADifferentOne() {
        trainer(settings("x", 8).build(), new BigramModel(V, D, 1)).run();
        var e = assertThrows(IllegalArgumentException.class, () -> trainer(settings("x", 8).build(), new BigramModel(V, D, 1)).run());
        assertTrue(e.getMessage().contains("already holds a run"), e.getMessage());
        Path ck = tmp.resolve("x").resolve(Trainer.CHECKPOINT);
        e = assertThrows(IllegalArgumentException.class,
                () -> trainer(settings("y", 16).seed(9).resumeFrom(ck).build(), new BigramModel(V, D, 1)).run());
        assertTrue(e.getMessage().contains("seed 7 vs 9"), e.getMessage());
        // Longer run from a finished one: allowed, continues at step 8.
        Trainer.Result r = trainer(settings("y", 16).resumeFrom(ck).build(), new BigramModel(V, D, 1)).run();
        assertEquals(8, r.resumedFrom());
        assertEquals(16, r.steps());
    }

    @Test
    void stopsOnANonFiniteLossNamingTheStep() {
        TrainableModel nan = new BigramModel(V, D, 1) {
            int n;

            @Override
            public float lossAndGradients(Batch b, TaskMetrics m) {
                float l = super.lossAndGradients(b, m);
                return ++n == 3 ? Float.NaN : l;
            }
        };
        var e = assertThrows(IllegalStateException.class, () -> trainer(settings("nan", 10).build(), nan).run());
        assertTrue(e.getMessage().startsWith("loss is NaN at step 3 (training batch 2 of text(cycle text"), e.getMessage());
    }

    @Test
    void trainsOnASyntheticTaskScoringAnswersOnly() {
        // Parity with short sequences and trimmed batches: a bigram model cannot count, so accuracy stays near the
        // majority answer; the point is that only the answer positions are scored.
        TaskDataset data = new TaskDataset(new Parity(3, 3, 12, 16), B, 7, true);
        BatchSource evalSource = new TaskDataset(new Parity(3, 3, 12, 16), B, 1007, false);
        List<Batch> eval = ((TaskDataset) evalSource).batches(3);
        BigramModel m = new BigramModel(3, 4, 1);
        Trainer.Result r = new Trainer(settings("parity", 12).lr(0.01).build(), m, data, Map.of("validation", eval))
                .notes(new PrintStream(new ByteArrayOutputStream())).run();
        assertEquals(3 * B, r.eval().get("validation").scoredPositions(), "one answer per sequence");
        assertEquals(r.eval().get("validation").accuracy(), r.eval().get("validation").sequenceAccuracy(), 0.0);
    }

    @Test
    void progressLineShowsStepLossSpeedAndEta() {
        assertEquals("step 50/200 [=====>                  ]  25% loss 0.6931 lr 1.0e-03 12.3k tok/s ETA 2m05s",
                ConsoleProgress.line(50, 200, 0.69314, 1e-3, 12345, 125));
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        ConsoleProgress p = new ConsoleProgress(new PrintStream(buf), false);
        p.update(1, 10, 1, 1e-3, 100, 9, false);
        assertEquals("", buf.toString(), "not a terminal: lines only at log steps");
        p.update(2, 10, 1, 1e-3, 100, 8, true);
        assertTrue(buf.toString().startsWith("step 2/10 ["), buf.toString());
    }
}
