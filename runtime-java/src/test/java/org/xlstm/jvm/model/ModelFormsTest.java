package org.xlstm.jvm.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.xlstm.jvm.backend.Ops;
import org.xlstm.jvm.backend.ReferenceOps;
import org.xlstm.jvm.backend.cpu.CpuOps;
import org.xlstm.jvm.config.Activation;
import org.xlstm.jvm.config.FeedForwardConfig;
import org.xlstm.jvm.config.MlstmLayerConfig;
import org.xlstm.jvm.config.ModelConfig;
import org.xlstm.jvm.config.SlstmBackend;
import org.xlstm.jvm.config.SlstmLayerConfig;
import org.xlstm.jvm.config.XlstmConfig;
import org.xlstm.jvm.config.XlstmLargeConfig;
import org.xlstm.jvm.nn.Mode;
import org.xlstm.jvm.tensor.Tensor;

/**
 * The parallel, chunkwise and recurrent forms, and prefill-then-step, compute the same logits — for sequences
 * longer than context_length and not a multiple of the chunk — on random weights for several architectures.
 */
class ModelFormsTest {
    private static final double TOL = 1e-5;
    static final int S = 37, B = 2;

    static XlstmConfig mixed() {
        return XlstmConfig.builder().vocabSize(48).contextLength(16).numBlocks(4).embeddingDim(32).slstmAt(1)
                .mlstm(MlstmLayerConfig.DEFAULTS.withNumHeads(2))
                .slstm(SlstmLayerConfig.DEFAULTS.withNumHeads(2).withBackend(SlstmBackend.VANILLA))
                .feedForward(FeedForwardConfig.DEFAULTS).build();
    }

    static XlstmConfig variant() {
        return XlstmConfig.builder().vocabSize(40).contextLength(8).numBlocks(3).embeddingDim(32).slstmAt(0, 2)
                .bias(true).tieWeights(true).addPostBlocksNorm(false)
                .mlstm(MlstmLayerConfig.DEFAULTS.withNumHeads(4).withConv1dKernelSize(2).withProjFactor(1.5))
                .slstm(SlstmLayerConfig.DEFAULTS.withNumHeads(4).withConv1dKernelSize(0).withGroupNormWeight(false))
                .feedForward(FeedForwardConfig.DEFAULTS.withActFn(Activation.RELU2).withBias(true)).build();
    }

    static XlstmLargeConfig large(boolean bias) {
        return XlstmLargeConfig.builder().embeddingDim(64).numHeads(4).numBlocks(2).vocabSize(50).useBias(bias)
                .chunkSize(16).build();
    }

    static int[][] tokens(int vocab, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        int[][] t = new int[B][S];
        for (int[] row : t) for (int i = 0; i < S; i++) row[i] = r.nextInt(vocab);
        return t;
    }

    static LanguageModel build(ModelConfig c, long seed, int chunk, Ops ops) {
        RandomParams p = new RandomParams(seed, 1.0);
        return Models.build(c, p, ops, p.arena(), chunk);
    }

    static double err(float[] a, float[] b) {
        double num = 0, den = 0;
        for (int i = 0; i < a.length; i++) {
            num += (double) (a[i] - b[i]) * (a[i] - b[i]);
            den += (double) b[i] * b[i];
        }
        return Math.sqrt(num / den);
    }

    static float[] stepped(LanguageModel m, int[][] tok, ModelState st, int from, int to) {
        int v = m.vocabSize();
        float[] out = new float[B * (to - from) * v];
        int[][] one = new int[B][1];
        for (int t = from; t < to; t++) {
            for (int r = 0; r < B; r++) one[r][0] = tok[r][t];
            float[] lg = m.forward(one, st, Mode.STEP, null).toArray();
            for (int r = 0; r < B; r++) System.arraycopy(lg, r * v, out, (r * (to - from) + t - from) * v, v);
        }
        return out;
    }

    static float[] rows(float[] logits, int s, int v, int from, int to) {
        float[] out = new float[B * (to - from) * v];
        for (int r = 0; r < B; r++) System.arraycopy(logits, (r * s + from) * v, out, r * (to - from) * v, (to - from) * v);
        return out;
    }

    private void allFormsAgree(ModelConfig c) {
        int[][] tok = tokens(c.vocabSize(), 3);
        int v = c.vocabSize();
        try (LanguageModel par = build(c, 11, 64, new CpuOps()); LanguageModel chunk8 = build(c, 11, 8, new CpuOps())) {
            float[] ref = par.forward(tok, Mode.PARALLEL).toArray();
            float[] chunked = chunk8.forward(tok, Mode.CHUNKWISE).toArray();
            assertTrue(err(chunked, ref) < TOL, c.getClass().getSimpleName() + " chunkwise vs parallel: " + err(chunked, ref));
            float[] step = stepped(par, tok, par.newState(B), 0, S);
            // From the zero state the recurrent form starts with m = 0, the parallel form with the row maximum: the
            // two differ only in where eps = 1e-6 enters the normaliser. Realistic weights put that near 1e-7 (the
            // fixtures); these random ones have large gates, so compare against the same convention tightly ...
            float[] sameConvention = par.forward(tok, par.newState(B), Mode.CHUNKWISE, null).toArray();
            assertTrue(err(step, sameConvention) < TOL, "step vs chunkwise from the zero state: " + err(step, sameConvention));
            // ... and against the parallel form loosely.
            assertTrue(err(step, ref) < 1e-4, "step vs parallel: " + err(step, ref));
            float[] wholeStep = par.forward(tok, Mode.STEP).toArray();
            assertTrue(err(wholeStep, step) < 1e-6, "recurrent over the whole sequence vs token by token");

            // prefill 20 tokens chunkwise (several chunks of 8 plus a partial one), then step the rest
            ModelState st = chunk8.newState(B);
            int[][] first = new int[B][20];
            for (int r = 0; r < B; r++) System.arraycopy(tok[r], 0, first[r], 0, 20);
            float[] pre = chunk8.forward(first, st, Mode.CHUNKWISE, null).toArray();
            assertTrue(err(pre, rows(ref, S, v, 0, 20)) < TOL, "prefill");
            ModelState branch = st.copy();
            float[] rest = stepped(chunk8, tok, st, 20, S);
            assertTrue(err(rest, rows(ref, S, v, 20, S)) < TOL, "prefill then step: " + err(rest, rows(ref, S, v, 20, S)));
            // the copy was not advanced by stepping the original: stepping it reproduces the same logits exactly
            float[] again = stepped(chunk8, tok, branch, 20, S);
            assertArrayEquals(rest, again, "a copied state replays identically");
        }
    }

    @Test
    void mixedStackFormsAgree() { allFormsAgree(mixed()); }

    @Test
    void biasTiedNoConvVariantFormsAgree() { allFormsAgree(variant()); }

    @Test
    void largeFormsAgree() {
        allFormsAgree(large(false));
        allFormsAgree(large(true));
    }

    @Test
    void everyActivationRunsAndMatchesTheReferenceBackend() {
        for (Activation act : Activation.values()) {
            XlstmConfig c = XlstmConfig.builder().vocabSize(30).contextLength(8).numBlocks(1).embeddingDim(32)
                    .noMlstm().slstm(SlstmLayerConfig.DEFAULTS.withNumHeads(2))
                    .feedForward(FeedForwardConfig.DEFAULTS.withActFn(act)).build();
            int[][] tok = tokens(30, 5);
            try (LanguageModel fast = build(c, 2, 8, new CpuOps()); LanguageModel ref = build(c, 2, 8, new ReferenceOps())) {
                float[] a = fast.forward(tok, Mode.CHUNKWISE).toArray(), b = ref.forward(tok, Mode.PARALLEL).toArray();
                assertTrue(err(a, b) < TOL, act + ": cpu vs reference " + err(a, b));
            }
        }
    }

    @Test
    void referenceBackendRunsWholeModels() {
        for (ModelConfig c : List.of(mixed(), large(true))) {
            int[][] tok = tokens(c.vocabSize(), 9);
            try (LanguageModel fast = build(c, 4, 8, new CpuOps()); LanguageModel ref = build(c, 4, 8, new ReferenceOps())) {
                Tensor a = fast.forward(tok, Mode.CHUNKWISE);
                float[] fa = a.toArray();
                float[] fb = ref.forward(tok, Mode.CHUNKWISE).toArray();
                assertTrue(err(fa, fb) < TOL, "cpu vs reference backend: " + err(fa, fb));
            }
        }
    }
}
