package org.xlstm.jvm.api;

import static org.junit.jupiter.api.Assertions.*;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.xlstm.jvm.config.XlstmConfig;
import org.xlstm.jvm.generate.GenerationOptions;
import org.xlstm.jvm.io.SafeTensors;
import org.xlstm.jvm.model.SharedWeights;

class XlstmModelTest {
    static Path fixtures() {
        String p = System.getProperty("xlstm.fixtures");
        if (p == null) p = System.getenv("XLSTM_FIXTURES");
        return Path.of(p == null ? "../../shared/fixtures" : p);
    }

    static List<Path> cases() throws Exception {
        try (Stream<Path> s = Files.list(fixtures())) {
            List<Path> c = s.filter(d -> Files.isRegularFile(d.resolve("config.json"))).sorted().toList();
            assertFalse(c.isEmpty(), "no fixture case under " + fixtures());
            return c;
        }
    }

    private static int[][] rows(long[] flat, long[] shape) {
        int b = (int) shape[0], s = (int) shape[1];
        int[][] out = new int[b][s];
        for (int i = 0; i < b; i++) for (int t = 0; t < s; t++) out[i][t] = (int) flat[i * s + t];
        return out;
    }

    @Test
    void greedyContinuationsEqualTheFixturesForEveryCase() throws Exception {
        int checked = 0;
        for (Path c : cases()) {
            try (SafeTensors ex = SafeTensors.open(c.resolve("expected.safetensors"))) {
                if (!ex.contains("greedy_prompt")) continue;
                int[][] prompts = rows(ex.longs("greedy_prompt"), ex.info("greedy_prompt").shape());
                int[][] expected = rows(ex.longs("greedy_tokens"), ex.info("greedy_tokens").shape());
                try (XlstmModel m = XlstmModel.load(c)) {
                    List<int[]> got = m.generate(prompts, GenerationOptions.greedy(expected[0].length));
                    for (int r = 0; r < prompts.length; r++)
                        assertArrayEquals(expected[r], got.get(r), c.getFileName() + " row " + r);
                    // one prompt at a time gives the same rows (the backend's greedy loop), and so does the host
                    // loop that a listener takes, token by token; a single token too
                    assertArrayEquals(expected[0], m.generate(prompts[0], GenerationOptions.greedy(expected[0].length)));
                    List<Integer> heard = new java.util.ArrayList<>();
                    assertArrayEquals(expected[0], m.generate(prompts[0], GenerationOptions.greedy(expected[0].length),
                            (row, token) -> heard.add(token)));
                    assertEquals(expected[0].length, heard.size());
                    assertArrayEquals(java.util.Arrays.copyOf(expected[0], 1), m.generate(prompts[0], GenerationOptions.greedy(1)));
                    // the stream is the same generation, lazily
                    assertArrayEquals(expected[0], m.stream(prompts[0], GenerationOptions.greedy(expected[0].length))
                            .mapToInt(Integer::intValue).toArray());
                }
                checked++;
            }
        }
        assertTrue(checked > 0, "no fixture case has greedy_prompt/greedy_tokens");
    }

    @Test
    void float32WeightsAreMemoryMappedNotCopied() throws Exception {
        Path c = cases().getFirst();
        try (SharedWeights w = SharedWeights.open(c, new org.xlstm.jvm.backend.cpu.CpuOps())) {
            assertTrue(w.parameterCount() > 0);
            var t = w.parameter(w.config() instanceof XlstmConfig ? "token_embedding.weight" : "embedding.weight");
            assertTrue(t.segment().isReadOnly(), "a read-only view of the mapped file");
            assertFalse(t.segment().isNative() && !t.segment().isMapped(), "mapped, not an arena copy");
        }
    }

    @Test
    void oneModelServesManyThreadsAtOnceWithTheSameResults() throws Exception {
        Path c = cases().stream().filter(p -> p.getFileName().toString().startsWith("mixed")).findFirst().orElse(cases().getFirst());
        try (XlstmModel m = XlstmModel.load(c)) {
            int v = m.vocabSize();
            List<int[]> prompts = new ArrayList<>();
            for (int i = 0; i < 16; i++) {
                int[] p = new int[3 + i % 5];
                for (int t = 0; t < p.length; t++) p[t] = (i * 7 + t * 3) % v;
                prompts.add(p);
            }
            GenerationOptions o = GenerationOptions.builder().maxNewTokens(12).topK(5).temperature(0.8f).seed(11).build();
            List<int[]> serial = new ArrayList<>();
            for (int[] p : prompts) serial.add(m.generate(p, o));
            ExecutorService pool = Executors.newFixedThreadPool(8);
            try {
                for (int round = 0; round < 3; round++) {
                    List<Future<int[]>> fs = new ArrayList<>();
                    for (int[] p : prompts) fs.add(pool.submit(() -> m.generate(p, o)));
                    for (int i = 0; i < fs.size(); i++) assertArrayEquals(serial.get(i), fs.get(i).get(), "prompt " + i);
                }
            } finally {
                pool.shutdown();
            }
        }
    }

    @Test
    void statesCopyAndRestoreForPrefixReuse() throws Exception {
        try (XlstmModel m = XlstmModel.load(cases().getFirst())) {
            XlstmState s = m.newState(1);
            s.prefill(new int[][] {{1, 2, 3, 4}});
            XlstmState snapshot = s.copy();
            float[] a = s.step(5)[0];
            float[] b = s.step(6)[0];
            s.restore(snapshot);
            assertEquals(4, s.position());
            assertArrayEquals(a, s.step(5)[0], "restored state gives the same logits");
            assertArrayEquals(b, s.step(6)[0]);
            // stepping a copy leaves the original untouched
            XlstmState fork = snapshot.copy();
            fork.step(9);
            XlstmState again = snapshot.copy();
            assertArrayEquals(a, again.step(5)[0]);
            // prefill-then-step equals a full forward at the last position
            float[][][] full = m.forward(new int[][] {{1, 2, 3, 4, 5}});
            float[] last = full[0][4];
            double num = 0, den = 0;
            for (int i = 0; i < last.length; i++) { num += (a[i] - last[i]) * (a[i] - last[i]); den += last[i] * last[i]; }
            assertTrue(Math.sqrt(num / den) < 1e-5, "step after prefill vs full forward: " + Math.sqrt(num / den));
        }
    }

    @Test
    void stopTokensListenersAndLimits() throws Exception {
        try (XlstmModel m = XlstmModel.load(cases().getFirst())) {
            int[] prompt = {1, 2, 3};
            int[] free = m.generate(prompt, GenerationOptions.greedy(10));
            assertEquals(10, free.length);
            int stopAt = free[3];
            int[] stopped = m.generate(prompt, GenerationOptions.greedy(10).toBuilder().stopToken(stopAt).build());
            int first = 0;
            while (free[first] != stopAt) first++;
            assertEquals(first + 1, stopped.length, "ends with the stop token");
            List<Integer> seen = new ArrayList<>();
            int[] cut = m.generate(prompt, GenerationOptions.greedy(10), (row, t) -> { seen.add(t); return seen.size() < 4; });
            assertEquals(4, cut.length);
            assertEquals(4, seen.size());
            assertEquals(0, m.generate(prompt, GenerationOptions.greedy(0)).length);
            assertThrows(IllegalStateException.class, () -> m.generate("text", GenerationOptions.greedy(3)),
                    "small vocabulary without tokenizer cannot take text");
        }
    }
}
