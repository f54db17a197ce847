package org.xlstm.jvm.generate;

import java.util.List;
import java.util.Set;

/**
 * How to pick tokens. Greedy takes the arg-max; otherwise the logits go through repetition penalty, temperature,
 * top-k and top-p (in that order, as Hugging Face's samplers do) and a token is drawn with a seeded RNG, so the
 * same seed gives the same continuation.
 *
 * @param maxNewTokens      tokens to generate at most
 * @param greedy            arg-max decoding (temperature, top-k and top-p are then ignored)
 * @param temperature       > 0; logits are divided by it
 * @param topK              keep the k most likely tokens (0 = all)
 * @param topP              keep the smallest set whose probability reaches p (1 = all)
 * @param repetitionPenalty > 0; 1 = off; tokens already in the prompt or output get logit/p (positive) or logit·p
 * @param stopTokens        generation ends after one of these (it is included in the output)
 * @param stopStrings       generation ends when the decoded text contains one (needs a tokenizer)
 * @param seed              RNG seed for sampling
 */
public record GenerationOptions(int maxNewTokens, boolean greedy, float temperature, int topK, float topP,
                                float repetitionPenalty, Set<Integer> stopTokens, List<String> stopStrings, long seed) {
    public GenerationOptions {
        if (maxNewTokens < 0) throw new IllegalArgumentException("maxNewTokens must be >= 0; got " + maxNewTokens);
        if (!(temperature > 0)) throw new IllegalArgumentException("temperature must be > 0; got " + temperature);
        if (topK < 0) throw new IllegalArgumentException("topK must be >= 0 (0 = off); got " + topK);
        if (!(topP > 0 && topP <= 1)) throw new IllegalArgumentException("topP must be in (0, 1]; got " + topP);
        if (!(repetitionPenalty > 0))
            throw new IllegalArgumentException("repetitionPenalty must be > 0 (1 = off); got " + repetitionPenalty);
        stopTokens = stopTokens == null ? Set.of() : Set.copyOf(stopTokens);
        stopStrings = stopStrings == null ? List.of() : List.copyOf(stopStrings);
    }

    /** Arg-max decoding of up to {@code maxNewTokens} tokens. */
    public static GenerationOptions greedy(int maxNewTokens) { return builder().maxNewTokens(maxNewTokens).greedy(true).build(); }

    public static Builder builder() { return new Builder(); }

    public Builder toBuilder() {
        return new Builder().maxNewTokens(maxNewTokens).greedy(greedy).temperature(temperature).topK(topK).topP(topP)
                .repetitionPenalty(repetitionPenalty).stopTokens(stopTokens).stopStrings(stopStrings).seed(seed);
    }

    /** Defaults: 64 new tokens, sampling at temperature 1, no top-k/top-p, no penalty, seed 0. */
    public static final class Builder {
        private int maxNewTokens = 64;
        private boolean greedy;
        private float temperature = 1f, topP = 1f, repetitionPenalty = 1f;
        private int topK;
        private Set<Integer> stopTokens = Set.of();
        private List<String> stopStrings = List.of();
        private long seed;

        public Builder maxNewTokens(int v) { maxNewTokens = v; return this; }
        public Builder greedy(boolean v) { greedy = v; return this; }
        public Builder temperature(float v) { temperature = v; return this; }
        public Builder topK(int v) { topK = v; return this; }
        public Builder topP(float v) { topP = v; return this; }
        public Builder repetitionPenalty(float v) { repetitionPenalty = v; return this; }
        public Builder stopTokens(Set<Integer> v) { stopTokens = v; return this; }
        public Builder stopToken(int v) {
            var s = new java.util.HashSet<>(stopTokens);
            s.add(v);
            stopTokens = s;
            return this;
        }
        public Builder stopStrings(List<String> v) { stopStrings = v; return this; }
        public Builder seed(long v) { seed = v; return this; }

        public GenerationOptions build() {
            return new GenerationOptions(maxNewTokens, greedy, temperature, topK, topP, repetitionPenalty, stopTokens,
                    stopStrings, seed);
        }
    }
}
