package org.xlstm.jvm.config;

import static org.junit.jupiter.api.Assertions.*;

import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/** One test per rule: each asserts the field (official path) and that the message names the offending values. */
class ConfigValidatorTest {

    /** A valid xLSTM[3:1] stack like the fixture mixed_4blk. */
    private static XlstmConfigBuilder lm() {
        return XlstmConfig.builder().vocabSize(64).contextLength(32).numBlocks(4).embeddingDim(64).slstmAt(1)
                .mlstm(MlstmLayerConfig.DEFAULTS).slstmBlock(SlstmBlockConfig.DEFAULTS);
    }

    private static XlstmLargeConfigBuilder large() {
        return XlstmLargeConfig.defaults(64, 4, 2, 50).toBuilder();
    }

    private static ConfigError only(ModelConfig c, String field, String... fragments) {
        List<ConfigError> errors = ConfigValidator.check(c);
        List<ConfigError> matching = errors.stream().filter(e -> e.field().equals(field)).toList();
        assertFalse(matching.isEmpty(), "expected an error on " + field + ", got " + errors);
        for (ConfigError e : matching) {
            boolean all = true;
            for (String f : fragments) all &= e.message().contains(f);
            if (all) return e;
        }
        fail("no error on " + field + " mentions all of " + List.of(fragments) + ": " + matching);
        return null;
    }

    private static MlstmLayerConfig mlstm() { return MlstmLayerConfig.DEFAULTS; }

    private static SlstmLayerConfig slstm() { return SlstmLayerConfig.DEFAULTS; }

    @Test
    void validConfigsHaveNoErrors() {
        assertEquals(List.of(), ConfigValidator.check(lm().buildUnchecked()));
        assertEquals(List.of(), ConfigValidator.check(large().buildUnchecked()));
        assertEquals(List.of(), ConfigValidator.check(XlstmLargeConfig.xlstm7b()));
        // sLSTM only, no conv, context length unset: the official code builds this.
        XlstmConfig sOnly = XlstmConfig.builder().vocabSize(40).embeddingDim(32).numBlocks(2).noMlstm()
                .slstm(slstm().withNumHeads(2).withConv1dKernelSize(0)).buildUnchecked();
        assertEquals(-1, sOnly.contextLength());
        assertEquals(List.of(), ConfigValidator.check(sOnly));
        // soft caps switched off
        assertEquals(List.of(), ConfigValidator.check(large().gateSoftCap(XlstmLargeConfig.NO_SOFT_CAP)
                .outputLogitSoftCap(XlstmLargeConfig.NO_SOFT_CAP).buildUnchecked()));
    }

    @Test
    void collectsEveryBrokenRuleAndRequireValidThrowsThemAll() {
        XlstmConfig c = lm().vocabSize(0).embeddingDim(-8).numBlocks(0).dropout(1.5).buildUnchecked();
        List<String> fields = ConfigValidator.check(c).stream().map(ConfigError::field).toList();
        assertTrue(fields.containsAll(List.of("vocab_size", "embedding_dim", "num_blocks", "dropout", "slstm_at")),
                fields.toString());
        ConfigException e = assertThrows(ConfigException.class, () -> ConfigValidator.requireValid(c));
        assertEquals(ConfigValidator.check(c), e.errors());
        assertTrue(e.getMessage().contains("vocab_size") && e.getMessage().contains("dropout"), e.getMessage());
        assertThrows(ConfigException.class, () -> lm().vocabSize(0).build());
        assertThrows(ConfigException.class, c::validated);
    }

    // ------------------------------------------------------------------ top level

    @Test
    void vocabSizeMustBePositive() {
        only(lm().vocabSize(0).buildUnchecked(), "vocab_size", "positive", "got 0");
        only(large().vocabSize(-3).buildUnchecked(), "vocab_size", "got -3");
    }

    @Test
    void embeddingDimMustBePositive() {
        only(lm().embeddingDim(0).buildUnchecked(), "embedding_dim", "got 0");
        only(large().embeddingDim(-64).buildUnchecked(), "embedding_dim", "got -64");
    }

    @Test
    void numBlocksMustBePositive() {
        only(lm().numBlocks(0).slstmAt().buildUnchecked(), "num_blocks", "got 0");
        only(large().numBlocks(0).buildUnchecked(), "num_blocks", "got 0");
    }

    @Test
    void contextLengthMustBePositiveWithMlstmBlocks() {
        only(lm().contextLength(-1).buildUnchecked(), "context_length", "got -1", "mLSTM");
        only(lm().contextLength(0).buildUnchecked(), "context_length", "got 0");
    }

    @Test
    void contextLengthInAnSlstmOnlyStackIsPositiveOrUnset() {
        XlstmConfigBuilder b = XlstmConfig.builder().vocabSize(40).embeddingDim(32).numBlocks(2).noMlstm()
                .slstm(slstm().withNumHeads(2));
        assertEquals(List.of(), ConfigValidator.check(b.contextLength(-1).buildUnchecked()));
        assertEquals(List.of(), ConfigValidator.check(b.contextLength(16).buildUnchecked()));
        only(b.contextLength(0).buildUnchecked(), "context_length", "got 0", "-1");
        only(b.contextLength(-5).buildUnchecked(), "context_length", "got -5");
        // an mLSTM block configured but placed nowhere: still sLSTM-only
        assertEquals(List.of(), ConfigValidator.check(lm().numBlocks(2).slstmAt(0, 1).contextLength(-1).buildUnchecked()));
    }

    @Test
    void dropoutMustLieInZeroOne() {
        only(lm().dropout(1.0).buildUnchecked(), "dropout", "[0, 1)", "got 1.0");
        only(lm().dropout(-0.1).buildUnchecked(), "dropout", "got -0.1");
        only(lm().dropout(Double.NaN).buildUnchecked(), "dropout", "NaN");
        assertEquals(List.of(), ConfigValidator.check(lm().dropout(0.99).buildUnchecked()));
    }

    @Test
    void aStackNeedsAtLeastOneBlockKind() {
        XlstmConfig c = lm().noMlstm().slstmBlock(null).slstmAt().buildUnchecked();
        only(c, "mlstm_block", "neither mlstm_block nor slstm_block");
    }

    // ------------------------------------------------------------------ placement

    @Test
    void slstmPositionsMustBeInRange() {
        only(lm().slstmAt(1, 4, -1).buildUnchecked(), "slstm_at", "[4, -1]", "[0, 4)", "num_blocks = 4");
    }

    @Test
    void slstmPositionsMustNotRepeat() {
        only(lm().slstmAt(1, 2, 1).buildUnchecked(), "slstm_at", "repeated", "1 (2 times)", "[1, 2, 1]");
    }

    @Test
    void slstmPositionNeedsAnSlstmBlock() {
        only(lm().slstmBlock(null).slstmAt(1, 3).buildUnchecked(), "slstm_block", "[1, 3]", "slstm_block is null");
        assertEquals(List.of(), ConfigValidator.check(lm().slstmBlock(null).slstmAt().buildUnchecked()));
    }

    // ------------------------------------------------------------------ mLSTM layer

    @Test
    void mlstmSizesMustBePositive() {
        only(lm().mlstm(mlstm().withNumHeads(0)).buildUnchecked(), "mlstm_block.mlstm.num_heads", "got 0");
        only(lm().mlstm(mlstm().withProjFactor(-2.0)).buildUnchecked(), "mlstm_block.mlstm.proj_factor", "got -2.0");
        only(lm().mlstm(mlstm().withQkvProjBlocksize(0)).buildUnchecked(), "mlstm_block.mlstm.qkv_proj_blocksize", "got 0");
        only(lm().mlstm(mlstm().withRoundProjUpToMultipleOf(0)).buildUnchecked(),
                "mlstm_block.mlstm.round_proj_up_to_multiple_of", "got 0");
    }

    @Test
    void mlstmInnerDimMustNotRoundToZero() {
        // 0.5·64 = 32 rounded down to a multiple of 64 is 0
        only(lm().mlstm(mlstm().withProjFactor(0.5).withRoundProjUpDimUp(false)).buildUnchecked(),
                "mlstm_block.mlstm.proj_factor", "u = 0", "0.5", "rounded down", "64");
    }

    @Test
    void mlstmHeadsMustDivideTheInnerDim() {
        ConfigError e = only(lm().mlstm(mlstm().withNumHeads(3)).buildUnchecked(), "mlstm_block.mlstm.num_heads",
                "num_heads = 3", "u = 128");
        assertTrue(e.message().contains("divide"), e.message());
    }

    @Test
    void qkvBlocksizeMustDivideTheInnerDim() {
        only(lm().mlstm(mlstm().withQkvProjBlocksize(48)).buildUnchecked(), "mlstm_block.mlstm.qkv_proj_blocksize",
                "qkv_proj_blocksize = 48", "u = 128");
    }

    @Test
    void mlstmConvKernelMustBeAtLeastOne() {
        only(lm().mlstm(mlstm().withConv1dKernelSize(0)).buildUnchecked(), "mlstm_block.mlstm.conv1d_kernel_size",
                "at least 1", "got 0");
        only(lm().mlstm(mlstm().withConv1dKernelSize(-2)).buildUnchecked(), "mlstm_block.mlstm.conv1d_kernel_size",
                "got -2");
    }

    // ------------------------------------------------------------------ sLSTM layer and feed-forward

    private static XlstmConfig withSlstm(SlstmLayerConfig s) {
        return lm().slstmBlock(new SlstmBlockConfig(s, FeedForwardConfig.DEFAULTS)).buildUnchecked();
    }

    private static XlstmConfig withFfn(FeedForwardConfig f) {
        return lm().slstmBlock(new SlstmBlockConfig(slstm(), f)).buildUnchecked();
    }

    @Test
    void slstmHeadsMustBePositiveAndDivideTheEmbeddingDim() {
        only(withSlstm(slstm().withNumHeads(0)), "slstm_block.slstm.num_heads", "got 0");
        only(withSlstm(slstm().withNumHeads(5)), "slstm_block.slstm.num_heads", "num_heads = 5",
                "embedding_dim = 64");
    }

    @Test
    void slstmConvKernelMayBeZeroButNotNegative() {
        assertEquals(List.of(), ConfigValidator.check(withSlstm(slstm().withConv1dKernelSize(0))));
        only(withSlstm(slstm().withConv1dKernelSize(-1)), "slstm_block.slstm.conv1d_kernel_size", "≥ 0", "got -1");
    }

    @Test
    void powerlawBiasInitNeedsHeadDimTwo() {
        only(withSlstm(slstm().withNumHeads(64)), "slstm_block.slstm.bias_init", "head dim 1", "embedding_dim 64",
                "num_heads 64");
        assertEquals(List.of(), ConfigValidator.check(withSlstm(slstm().withNumHeads(64).withBiasInit(BiasInit.ZEROS))));
    }

    @Test
    void slstmEnumsMustBeSet() {
        only(withSlstm(slstm().withBackend(null)), "slstm_block.slstm.backend", "not set");
        only(withSlstm(slstm().withBiasInit(null)), "slstm_block.slstm.bias_init", "not set");
        only(withSlstm(slstm().withRecurrentWeightInit(null)), "slstm_block.slstm.recurrent_weight_init", "not set");
    }

    @Test
    void feedForwardFactorsMustBePositive() {
        only(withFfn(FeedForwardConfig.DEFAULTS.withProjFactor(0)), "slstm_block.feedforward.proj_factor", "got 0.0");
        only(withFfn(FeedForwardConfig.DEFAULTS.withProjFactor(-1.3)), "slstm_block.feedforward.proj_factor", "got -1.3");
        only(withFfn(FeedForwardConfig.DEFAULTS.withRoundProjUpToMultipleOf(-64)),
                "slstm_block.feedforward.round_proj_up_to_multiple_of", "got -64");
        only(withFfn(FeedForwardConfig.DEFAULTS.withProjFactor(0.5).withRoundProjUpDimUp(false)),
                "slstm_block.feedforward.proj_factor", "hidden dim of 0", "0.5");
        only(withFfn(FeedForwardConfig.DEFAULTS.withActFn(null)), "slstm_block.feedforward.act_fn", "not set", "gelu");
        assertEquals(List.of(), ConfigValidator.check(lm().feedForward(null).buildUnchecked()));
    }

    @Test
    void unknownNamesAreRejectedByTheEnums() {
        ConfigException e = assertThrows(ConfigException.class, () -> Activation.fromOfficial("tanhh"));
        assertTrue(e.getMessage().contains("tanhh") && e.getMessage().contains("gelu"), e.getMessage());
        assertEquals(Activation.SWISH, Activation.fromOfficial("silu"));
        assertThrows(ConfigException.class, () -> BiasInit.fromOfficial("ones"));
        assertThrows(ConfigException.class, () -> SlstmBackend.fromOfficial("triton"));
        assertThrows(ConfigException.class, () -> RecurrentWeightInit.fromOfficial("orthogonal"));
        assertThrows(ConfigException.class, () -> WeightMode.fromOfficial("split"));
    }

    // ------------------------------------------------------------------ xLSTM-7B

    @Test
    void largeSizesMustBePositive() {
        only(large().numHeads(0).buildUnchecked(), "num_heads", "got 0");
        only(large().chunkSize(0).buildUnchecked(), "chunk_size", "got 0");
        only(large().ffnRoundUpToMultipleOf(0).buildUnchecked(), "ffn_round_up_to_multiple_of", "got 0");
        only(large().qkDimFactor(0).buildUnchecked(), "qk_dim_factor", "got 0.0");
        only(large().vDimFactor(-1).buildUnchecked(), "v_dim_factor", "got -1.0");
        only(large().ffnProjFactor(0).buildUnchecked(), "ffn_proj_factor", "got 0.0");
    }

    @Test
    void largeDimsMustBeWholeNumbers() {
        only(large().qkDimFactor(0.3).buildUnchecked(), "qk_dim_factor", "0.3", "64", "19.2", "not a whole number");
        only(large().vDimFactor(0.9).buildUnchecked(), "v_dim_factor", "0.9", "57.6");
        only(large().qkDimFactor(0.01).buildUnchecked(), "qk_dim_factor", "0.64");
    }

    @Test
    void largeHeadsMustDivideQkAndVDims() {
        // D=64, qk 32, v 64; 6 heads divide neither
        XlstmLargeConfig c = large().numHeads(6).buildUnchecked();
        only(c, "num_heads", "num_heads = 6", "q/k dim 32");
        only(c, "num_heads", "num_heads = 6", "v dim 64");
        // 64 heads divide v (64) but not q/k (32)
        only(large().numHeads(64).buildUnchecked(), "num_heads", "q/k dim 32");
    }

    @Test
    void largeFeedForwardMustNotRoundToZero() {
        // 64·0.005 = 0.32: (0.32 + 63) // 64 = 0 in the official rounding
        only(large().ffnProjFactor(0.005).buildUnchecked(), "ffn_proj_factor", "hidden dim of 0", "0.005");
    }

    @Test
    void epsilonsMustBePositive() {
        only(large().eps(0).buildUnchecked(), "eps", "got 0.0");
        only(large().normEps(-1e-6).buildUnchecked(), "norm_eps", "got -1.0E-6");
        only(large().eps(Double.NaN).buildUnchecked(), "eps", "NaN");
    }

    @Test
    void softCapsArePositiveOrOff() {
        only(large().gateSoftCap(0).buildUnchecked(), "gate_soft_cap", "got 0.0", "null for no cap");
        only(large().outputLogitSoftCap(-30).buildUnchecked(), "output_logit_soft_cap", "got -30.0");
        only(large().gateSoftCap(Double.NaN).buildUnchecked(), "gate_soft_cap", "NaN");
        assertFalse(large().gateSoftCap(XlstmLargeConfig.NO_SOFT_CAP).buildUnchecked().hasGateSoftCap());
        assertTrue(large().buildUnchecked().hasOutputLogitSoftCap());
    }

    @Test
    void largeTyingIsRejected() {
        only(large().extra("tie_word_embeddings", true).buildUnchecked(), "tie_word_embeddings", "lm_head");
        assertEquals(List.of(), ConfigValidator.check(large().extra("tie_word_embeddings", false).buildUnchecked()));
    }

    @Test
    void ffnRoundingFollowsTheOfficialFloorDivisionNotCeil() {
        assertEquals(10944, XlstmLargeConfig.xlstm7b().ffnHiddenDim());
        assertEquals(192, XlstmLargeConfig.defaults(64, 4, 2, 50).ffnHiddenDim());
        // 128.5 lies less than 1 above 128: official (x + 63) // 64 · 64 = 128, ceil would give 192
        assertEquals(128, UpProjection.roundUpToNextMultipleOf(128.5, 64));
        assertEquals(192, UpProjection.roundUpToNextMultipleOf(129.0, 64));
        assertEquals(128, UpProjection.roundUpToNextMultipleOf(128.0, 64));
    }

    @Test
    void extrasKeepNullsOrderAndNormaliseNumbers() {
        Map<String, Object> m = new java.util.LinkedHashMap<>();
        m.put("z", 5L);
        m.put("a", null);
        m.put("f", 0.1f);
        m.put("nested", Map.of("k", List.of((short) 1, 2L)));
        Map<String, Object> e = Extras.copyOf(m);
        assertEquals(List.of("z", "a", "f", "nested"), List.copyOf(e.keySet()));
        assertEquals(5, e.get("z"));
        assertNull(e.get("a"));
        assertTrue(e.containsKey("a"));
        assertEquals(0.1, e.get("f"));
        assertEquals(Map.of("k", List.of(1, 2)), e.get("nested"));
        assertThrows(UnsupportedOperationException.class, () -> e.put("x", 1));
        assertThrows(IllegalArgumentException.class, () -> Extras.copyOf(Map.of("bad", new Object())));
        assertEquals("z=5,a=null", Extras.copyOf(m).entrySet().stream().limit(2).map(Object::toString)
                .collect(Collectors.joining(",")));
    }
}
