package org.xlstm.jvm.generate;

import static org.junit.jupiter.api.Assertions.*;

import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

class SamplerTest {
    private static int[] counts(GenerationOptions o, float[] logits, int draws) {
        Sampler s = new Sampler(o);
        int[] c = new int[logits.length];
        for (int i = 0; i < draws; i++) c[s.next(logits, 0, logits.length, null, 0)]++;
        return c;
    }

    @Test
    void greedyTakesTheFirstMaximum() {
        float[] l = {0.5f, 2f, -1f, 2f};
        assertEquals(1, new Sampler(GenerationOptions.greedy(1)).next(l, 0, 4, null, 0));
    }

    @Test
    void samplingFollowsTheSoftmax() {
        float[] l = {0f, (float) Math.log(3), -50f};
        int[] c = counts(GenerationOptions.builder().seed(1).build(), l, 40_000);
        assertEquals(0.25, c[0] / 40_000.0, 0.01);
        assertEquals(0.75, c[1] / 40_000.0, 0.01);
        assertEquals(0, c[2]);
    }

    @Test
    void temperatureSharpens() {
        float[] l = {0f, 1f};
        int[] hot = counts(GenerationOptions.builder().seed(2).temperature(1f).build(), l, 20_000);
        int[] cold = counts(GenerationOptions.builder().seed(2).temperature(0.25f).build(), l, 20_000);
        assertEquals(1 / (1 + Math.exp(-1)), hot[1] / 20_000.0, 0.015);
        assertEquals(1 / (1 + Math.exp(-4)), cold[1] / 20_000.0, 0.01);
    }

    @Test
    void topKAndTopPCutTheTail() {
        float[] l = {3f, 2f, 1f, 0f};
        int[] k2 = counts(GenerationOptions.builder().seed(3).topK(2).build(), l, 5_000);
        assertEquals(0, k2[2] + k2[3]);
        assertTrue(k2[0] > 0 && k2[1] > 0);
        // probabilities ≈ .644 .237 .087 .032: top-p 0.8 keeps the first two, top-p 0.5 only the first
        int[] p8 = counts(GenerationOptions.builder().seed(4).topP(0.8f).build(), l, 5_000);
        assertEquals(0, p8[2] + p8[3]);
        int[] p5 = counts(GenerationOptions.builder().seed(4).topP(0.5f).build(), l, 1_000);
        assertEquals(1_000, p5[0]);
    }

    @Test
    void repetitionPenaltyPushesSeenTokensDown() {
        float[] l = {2f, 1.9f, -1f};
        Sampler s = new Sampler(GenerationOptions.builder().greedy(true).repetitionPenalty(1.2f).maxNewTokens(1).build());
        assertEquals(1, s.next(l, 0, 3, new int[] {0}, 1), "2/1.2 < 1.9");
        assertEquals(0, s.next(l, 0, 3, new int[] {2}, 1));
        assertArrayEquals(new float[] {2f, 1.9f, -1f}, l, "caller's logits untouched");
    }

    @Test
    void sameSeedSameDrawsDifferentSeedDifferentDraws() {
        float[] l = new float[50];
        for (int i = 0; i < l.length; i++) l[i] = (float) Math.sin(i);
        Map<Long, String> seqs = new HashMap<>();
        for (long seed : new long[] {7, 7, 8}) {
            Sampler s = new Sampler(GenerationOptions.builder().seed(seed).build());
            StringBuilder sb = new StringBuilder();
            for (int i = 0; i < 30; i++) sb.append(s.next(l, 0, l.length, null, 0)).append(',');
            if (seqs.containsKey(seed)) assertEquals(seqs.get(seed), sb.toString());
            seqs.put(seed, sb.toString());
        }
        assertNotEquals(seqs.get(7L), seqs.get(8L));
    }

    @Test
    void badOptionsAreRejectedWithTheValue() {
        var e = assertThrows(IllegalArgumentException.class, () -> GenerationOptions.builder().temperature(0).build());
        assertTrue(e.getMessage().contains("temperature"));
        assertThrows(IllegalArgumentException.class, () -> GenerationOptions.builder().topP(1.5f).build());
        assertThrows(IllegalArgumentException.class, () -> GenerationOptions.builder().topK(-1).build());
    }
}
