package org.xlstm.jvm.backend.cuda;

import static org.junit.jupiter.api.Assertions.*;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.xlstm.jvm.backend.Ops;
import org.xlstm.jvm.backend.cpu.CpuOps;
import org.xlstm.jvm.config.FeedForwardConfig;
import org.xlstm.jvm.config.MlstmLayerConfig;
import org.xlstm.jvm.config.ModelConfig;
import org.xlstm.jvm.config.SlstmBlockConfig;
import org.xlstm.jvm.config.SlstmLayerConfig;
import org.xlstm.jvm.config.XlstmConfig;
import org.xlstm.jvm.config.XlstmLargeConfig;
import org.xlstm.jvm.conformance.Greedy;
import org.xlstm.jvm.cuda.CudaContext;
import org.xlstm.jvm.model.LanguageModel;
import org.xlstm.jvm.model.ModelState;
import org.xlstm.jvm.model.Models;
import org.xlstm.jvm.nn.Mode;
import org.xlstm.jvm.tensor.Tensor;

/** Whole models on the GPU against the CPU engine: random architectures, all forms, states, greedy decoding. */
class CudaModelTest {
    private static float[] host(Ops ops, Tensor t) {
        float[] f = new float[Math.toIntExact(t.size())];
        ops.read(t, 0, f, 0, f.length);
        return f;
    }

    private static double relErr(float[] a, float[] b) {
        double num = 0, den = 0;
        for (int i = 0; i < a.length; i++) {
            num += (double) (a[i] - b[i]) * (a[i] - b[i]);
            den += (double) b[i] * b[i];
        }
        return Math.sqrt(num / den);
    }

    private static List<ModelConfig> randomRecipes() {
        SplittableRandom r = new SplittableRandom(5);
        XlstmConfig mixed = XlstmConfig.builder().vocabSize(97).contextLength(64).embeddingDim(64).numBlocks(4).slstmAt(1, 3)
                .mlstm(MlstmLayerConfig.DEFAULTS.withNumHeads(4))
                .slstmBlock(new SlstmBlockConfig(SlstmLayerConfig.DEFAULTS.withNumHeads(4), FeedForwardConfig.DEFAULTS)).build();
        XlstmConfig tied = XlstmConfig.builder().vocabSize(50).contextLength(32).embeddingDim(32).numBlocks(2).bias(true)
                .tieWeights(true).mlstm(MlstmLayerConfig.DEFAULTS.withNumHeads(2)).build();
        XlstmConfig sOnly = XlstmConfig.builder().vocabSize(40).contextLength(32).embeddingDim(32 + 32 * r.nextInt(2))
                .numBlocks(2).noMlstm().slstmBlock(new SlstmBlockConfig(SlstmLayerConfig.DEFAULTS.withNumHeads(2)
                        .withConv1dKernelSize(0), FeedForwardConfig.DEFAULTS)).build();
        XlstmLargeConfig large = XlstmLargeConfig.defaults(64, 4, 2, 61).toBuilder().chunkSize(16).build();
        return List.of(mixed, tied, sOnly, large);
    }

    @Test
    void everyFormOnTheGpuEqualsTheCpuEngine() {
        assumeTrue(CudaContext.isAvailable(), () -> "GPU tests skipped: " + CudaContext.unavailableReason());
        Ops cpu = new CpuOps();
        try (CudaOps gpu = CudaBackend.open(0, "FP32")) {
            int caseNo = 0;
            for (ModelConfig c : randomRecipes()) {
                caseNo++;
                int[][] tokens = new int[3][37];
                SplittableRandom r = new SplittableRandom(caseNo);
                for (int[] row : tokens) for (int t = 0; t < row.length; t++) row[t] = r.nextInt(c.vocabSize());
                try (LanguageModel a = Models.initialized(c, 11, cpu); LanguageModel b = Models.initialized(c, 11, gpu)) {
                    for (Mode mode : new Mode[] {Mode.PARALLEL, Mode.CHUNKWISE}) {
                        float[] x = host(cpu, a.forward(tokens, mode)), y = host(gpu, b.forward(tokens, mode));
                        double e = relErr(y, x);
                        assertTrue(e < 1e-4, "case " + caseNo + " " + mode + ": " + e);
                    }
                    // prefill then step, from copied states
                    ModelState sa = a.newState(3), sb = b.newState(3);
                    int[][] prefix = new int[3][20];
                    for (int i = 0; i < 3; i++) System.arraycopy(tokens[i], 0, prefix[i], 0, 20);
                    a.forward(prefix, sa, Mode.CHUNKWISE, null);
                    b.forward(prefix, sb, Mode.CHUNKWISE, null);
                    ModelState sbCopy = sb.copy();
                    int[][] one = {{tokens[0][20]}, {tokens[1][20]}, {tokens[2][20]}};
                    float[] x = host(cpu, a.forward(one, sa, Mode.STEP, null));
                    float[] y = host(gpu, b.forward(one, sb, Mode.STEP, null));
                    assertTrue(relErr(y, x) < 1e-4, "case " + caseNo + " step: " + relErr(y, x));
                    float[] y2 = host(gpu, b.forward(one, sbCopy, Mode.STEP, null));
                    assertArrayEquals(y, y2, "a copied GPU state replays the same step");
                    int[][] prompt = {{1, 2, 3, 4}, {5, 6, 7, 8}};
                    assertArrayEquals(Greedy.decode(a, prompt, 8), Greedy.decode(b, prompt, 8), "greedy tokens, case " + caseNo);
                }
            }
        }
    }

    @Test
    void statesOfFinishedGenerationsGiveTheirDeviceMemoryBack() throws Exception {
        assumeTrue(CudaContext.isAvailable(), () -> "GPU tests skipped: " + CudaContext.unavailableReason());
        try (CudaOps gpu = CudaBackend.open(0, "FP32");
             LanguageModel lm = Models.initialized(randomRecipes().getFirst(), 3, gpu)) {
            var allocator = gpu.memory().context().allocator();
            lm.forward(new int[][] {{1, 2, 3}}, lm.newState(1), Mode.STEP, null);   // warm: workspace chunks exist
            long baseline = allocator.liveBytes();
            for (int i = 0; i < 200; i++) lm.forward(new int[][] {{1}, {2}, {3}, {4}}, lm.newState(4), Mode.STEP, null);
            long grown = allocator.liveBytes();
            assertTrue(grown > baseline, "200 states were allocated");
            for (int tries = 0; tries < 50 && allocator.liveBytes() > baseline + (grown - baseline) / 10; tries++) {
                System.gc();
                Thread.sleep(20);
            }
            assertTrue(allocator.liveBytes() <= baseline + (grown - baseline) / 10,
                    "unreachable states freed: live " + allocator.liveBytes() + " bytes, baseline " + baseline);
        }
    }

    @Test
    void decodeStepsReplayedFromCudaGraphsEqualTheCpu() {
        assumeTrue(CudaContext.isAvailable(), () -> "GPU tests skipped: " + CudaContext.unavailableReason());
        Ops cpu = new CpuOps();
        try (CudaOps gpu = CudaBackend.open(0, "FP32")) {
            for (ModelConfig c : randomRecipes()) {
                try (LanguageModel a = Models.initialized(c, 5, cpu); LanguageModel b = Models.initialized(c, 5, gpu)) {
                    ModelState sa = a.newState(2), sb = b.newState(2);
                    int[][] prompt = {{1, 2, 3, 4, 5}, {6, 7, 8, 9, 10}};
                    a.forward(prompt, sa, Mode.CHUNKWISE, null);
                    b.forward(prompt, sb, Mode.CHUNKWISE, null);
                    SplittableRandom r = new SplittableRandom(3);
                    // step 1 eager, step 2 captured, steps 3.. replayed with new tokens each time
                    for (int step = 0; step < 12; step++) {
                        int[][] one = {{r.nextInt(c.vocabSize())}, {r.nextInt(c.vocabSize())}};
                        float[] x = host(cpu, a.forward(one, sa, Mode.STEP, null));
                        float[] y = host(gpu, b.forward(one, sb, Mode.STEP, null));
                        assertTrue(relErr(y, x) < 1e-4, c.getClass().getSimpleName() + " decode step " + (step + 1) + ": " + relErr(y, x));
                    }
                }
            }
        }
    }

    /** Step by step on the backend: forward one token per row, read the logits back, take the arg-max there. */
    private static int[][] hostLoop(LanguageModel lm, ModelState state, int[] first, int count) {
        int rows = first.length, v = lm.vocabSize();
        int[][] out = new int[rows][count];
        int[][] next = new int[rows][1];
        for (int r = 0; r < rows; r++) next[r][0] = first[r];
        float[] row = new float[v];
        for (int i = 0; i < count; i++) {
            Tensor logits = lm.forward(next, state, Mode.STEP, null);
            for (int r = 0; r < rows; r++) {
                lm.ops().read(logits, (long) r * v, row, 0, v);
                next[r][0] = out[r][i] = Ops.argmax(row);
            }
        }
        return out;
    }

    @Test
    void greedyLoopKeptOnTheDeviceEqualsStepByStepDecoding() {
        assumeTrue(CudaContext.isAvailable(), () -> "GPU tests skipped: " + CudaContext.unavailableReason());
        try (CudaOps gpu = CudaBackend.open(0, "FP32")) {
            int caseNo = 0;
            for (ModelConfig c : randomRecipes()) {
                caseNo++;
                try (LanguageModel lm = Models.initialized(c, 7, gpu)) {
                    ModelState s = lm.newState(3);
                    lm.forward(new int[][] {{1, 2, 3}, {4, 5, 6}, {7, 8, 9}}, s, Mode.CHUNKWISE, null);
                    ModelState viaHost = s.copy(), again = s.copy();
                    int[] first = {3, 1, 4};
                    // the first call runs one step eagerly, captures, replays; the second seeds the captured graph
                    int[][] want = hostLoop(lm, viaHost, first, 30);
                    assertArrayEquals(want, lm.greedy(first, s, 30), "case " + caseNo + ": first greedy call");
                    assertArrayEquals(want, lm.greedy(first, again, 30), "case " + caseNo + ": replayed greedy call");
                    // the states consumed the same tokens: the next logits agree
                    int[][] next = {{want[0][29]}, {want[1][29]}, {want[2][29]}};
                    float[] a = host(gpu, lm.forward(next, viaHost, Mode.STEP, null));
                    float[] b = host(gpu, lm.forward(next, s, Mode.STEP, null));
                    assertTrue(relErr(b, a) < 1e-6, "case " + caseNo + ": state after greedy decoding: " + relErr(b, a));
                    // one row on the same model (a graph of its own), and a single token
                    ModelState one = lm.newState(1), oneHost = lm.newState(1);
                    assertArrayEquals(hostLoop(lm, oneHost, new int[] {5}, 1), lm.greedy(new int[] {5}, one, 1), "case " + caseNo);
                }
            }
            // bf16 at batch 1 with a vocabulary that takes the wide LM-head kernel, which then takes the arg-max too
            try (CudaOps bf16 = CudaBackend.open(0, "BF16");
                 LanguageModel lm = Models.initialized(XlstmLargeConfig.defaults(64, 4, 2, 20_011).toBuilder()
                         .chunkSize(16).build(), 5, bf16)) {
                for (int[] first : new int[][] {{11}, {7}}) {
                    ModelState s = lm.newState(1), viaHost = lm.newState(1);
                    assertArrayEquals(hostLoop(lm, viaHost, first, 40), lm.greedy(first, s, 40), "bf16, wide LM head");
                }
            }
            // more tokens than the device ring holds: the host drains it between rounds
            try (LanguageModel lm = Models.initialized(randomRecipes().get(1), 9, gpu)) {
                int n = StepGraphs.RING + 77;
                ModelState s = lm.newState(2), t = lm.newState(2);
                lm.greedy(new int[] {1, 2}, lm.newState(2), 2);   // the graph exists before the long run: seeded path
                assertArrayEquals(hostLoop(lm, t, new int[] {1, 2}, n), lm.greedy(new int[] {1, 2}, s, n));
            }
        }
    }
}
