package org.xlstm.jvm.config;

import static org.junit.jupiter.api.Assertions.*;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;

class ParameterShapesTest {

    /** Name by name, shape by shape, against every fixture checkpoint; catches layout mistakes. */
    @Test
    void namesAndShapesMatchEveryFixtureCheckpoint() throws Exception {
        for (Path dir : FixtureCases.all()) {
            ModelConfig c = OfficialConfigs.readDirectory(dir);
            Map<String, SafetensorsHeader.Entry> file = SafetensorsHeader.read(dir.resolve("model.safetensors"));
            Map<String, ParamSpec> ours = ParameterShapes.byName(c);
            Set<String> missing = new TreeSet<>(file.keySet());
            missing.removeAll(ours.keySet());
            Set<String> extra = new TreeSet<>(ours.keySet());
            extra.removeAll(file.keySet());
            assertEquals(Set.of(), missing, dir + ": in the checkpoint, not in ParameterShapes");
            assertEquals(Set.of(), extra, dir + ": in ParameterShapes, not in the checkpoint");
            List<String> wrong = new ArrayList<>();
            ours.forEach((name, spec) -> {
                if (!Arrays.equals(spec.shape(), file.get(name).shape()))
                    wrong.add(name + ": ours " + Arrays.toString(spec.shape()) + ", file " + Arrays.toString(file.get(name).shape()));
            });
            assertEquals(List.of(), wrong, dir.toString());
            assertEquals(List.copyOf(file.keySet()), List.copyOf(ours.keySet()), dir + ": official state_dict order");
        }
    }

    @Test
    void countEqualsTheCheckpointElementCountWithTiedHeadOnce() throws Exception {
        for (Path dir : FixtureCases.all()) {
            ModelConfig c = OfficialConfigs.readDirectory(dir);
            assertEquals(SafetensorsHeader.officialCount(dir.resolve("model.safetensors")), ParameterShapes.count(c), dir.toString());
        }
    }

    private static XlstmConfigBuilder lm() {
        return XlstmConfig.builder().vocabSize(50).contextLength(16).numBlocks(2).embeddingDim(32).slstmAt(1)
                .mlstm(MlstmLayerConfig.DEFAULTS.withNumHeads(2)).slstm(SlstmLayerConfig.DEFAULTS.withNumHeads(2));
    }

    private static Set<String> names(ModelConfig c) { return ParameterShapes.byName(c).keySet(); }

    @Test
    void tiedHeadIsListedButCountedOnce() {
        XlstmConfig tied = lm().tieWeights(true).build();
        ParamSpec head = ParameterShapes.byName(tied).get("lm_head.weight");
        assertTrue(head.tiedToOther());
        assertEquals(0, head.ownParameters());
        assertEquals(ParameterShapes.count(lm().build()) - 50 * 32, ParameterShapes.count(tied));
    }

    @Test
    void optionalTensorsFollowTheirFlags() {
        XlstmConfig plain = lm().build();
        assertFalse(names(plain).contains("xlstm_block_stack.blocks.0.xlstm.proj_up.bias"));
        XlstmConfig bias = lm().bias(true).build();
        for (String n : List.of("proj_up.bias", "q_proj.bias", "k_proj.bias", "v_proj.bias", "proj_down.bias"))
            assertTrue(names(bias).contains("xlstm_block_stack.blocks.0.xlstm." + n), n);
        // the top-level bias never reaches sLSTM gates or the feed-forward
        assertTrue(names(bias).stream().noneMatch(n -> n.startsWith("xlstm_block_stack.blocks.1.") && n.endsWith(".bias")
                && !n.contains("conv")));

        XlstmConfig ffnBias = lm().feedForward(FeedForwardConfig.DEFAULTS.withBias(true)).build();
        assertTrue(names(ffnBias).contains("xlstm_block_stack.blocks.1.ffn.proj_up.bias"));
        assertTrue(names(ffnBias).contains("xlstm_block_stack.blocks.1.ffn.proj_down.bias"));

        XlstmConfig bare = lm().slstm(SlstmLayerConfig.DEFAULTS.withNumHeads(2).withConv1dKernelSize(0).withGroupNormWeight(false))
                .feedForward(null).addPostBlocksNorm(false).build();
        Set<String> n = names(bare);
        assertFalse(n.contains("xlstm_block_stack.blocks.1.xlstm.conv1d.conv.weight"));
        assertFalse(n.contains("xlstm_block_stack.blocks.1.xlstm.group_norm.weight"));
        assertFalse(n.contains("xlstm_block_stack.blocks.1.ffn_norm.weight"));
        assertFalse(n.contains("xlstm_block_stack.post_blocks_norm.weight"));
        assertTrue(n.contains("xlstm_block_stack.blocks.0.xlstm.conv1d.conv.weight"));
    }

    @Test
    void slstmRecurrentKernelLayoutFollowsTheBackend() {
        Map<String, ParamSpec> vanilla = ParameterShapes.byName(lm().slstm(SlstmLayerConfig.DEFAULTS.withNumHeads(2)
                .withBackend(SlstmBackend.VANILLA)).build());
        Map<String, ParamSpec> cuda = ParameterShapes.byName(lm().slstm(SlstmLayerConfig.DEFAULTS.withNumHeads(2)
                .withBackend(SlstmBackend.CUDA)).build());
        String r = "xlstm_block_stack.blocks.1.xlstm.slstm_cell._recurrent_kernel_";
        String b = "xlstm_block_stack.blocks.1.xlstm.slstm_cell._bias_";
        assertArrayEquals(new long[] {2, 64, 16}, vanilla.get(r).shape());
        assertArrayEquals(new long[] {2, 16, 64}, cuda.get(r).shape());
        assertArrayEquals(new long[] {128}, vanilla.get(b).shape());
        assertArrayEquals(new long[] {128}, cuda.get(b).shape());
    }

    @Test
    void largeBiasAndFusedLayouts() {
        XlstmLargeConfig c = XlstmLargeConfig.defaults(64, 4, 2, 50);
        Map<String, ParamSpec> single = ParameterShapes.byName(c);
        assertArrayEquals(new long[] {192, 64}, single.get("backbone.blocks.0.ffn.proj_up_gate.weight").shape());
        assertFalse(single.containsKey("backbone.blocks.0.mlstm_layer.q.bias"));
        assertTrue(single.containsKey("backbone.blocks.0.mlstm_layer.igate_preact.bias"));

        Map<String, ParamSpec> bias = ParameterShapes.byName(c.toBuilder().useBias(true).build());
        for (String n : List.of("norm_mlstm.bias", "mlstm_layer.q.bias", "mlstm_layer.ogate_preact.bias",
                "mlstm_layer.multihead_norm.bias", "mlstm_layer.out_proj.bias", "norm_ffn.bias", "ffn.proj_up_gate.bias",
                "ffn.proj_down.bias"))
            assertTrue(bias.containsKey("backbone.blocks.1." + n), n);
        assertTrue(bias.containsKey("backbone.out_norm.bias"));

        XlstmLargeConfig fusedConfig = c.toBuilder().weightMode(WeightMode.FUSED).build();
        Map<String, ParamSpec> fused = ParameterShapes.byName(fusedConfig);
        assertArrayEquals(new long[] {2 * 32 + 2 * 64, 64}, fused.get("backbone.blocks.0.mlstm_layer.qkv_opreact.weight").shape());
        assertArrayEquals(new long[] {8, 64}, fused.get("backbone.blocks.0.mlstm_layer.ifgate_preact.weight").shape());
        assertArrayEquals(new long[] {8}, fused.get("backbone.blocks.0.mlstm_layer.ifgate_preact.bias").shape());
        assertArrayEquals(new long[] {384, 64}, fused.get("backbone.blocks.0.ffn.proj_up_gate_z.weight").shape());
        assertFalse(fused.containsKey("backbone.blocks.0.mlstm_layer.q.weight"));
        // fusing stores the same scalars
        assertEquals(ParameterShapes.count(c), ParameterShapes.count(fusedConfig));
        assertFalse(names(c.toBuilder().addOutNorm(false).build()).contains("backbone.out_norm.weight"));
    }

    @Test
    void xlstm7bHasAboutSevenBillionParameters() {
        long n = ParameterShapes.count(XlstmLargeConfig.xlstm7b());
        assertTrue(n > 6_860_000_000L && n < 6_880_000_000L, Long.toString(n));
    }

    @Test
    void invalidConfigsAreRejectedAndSpecsAreValues() {
        assertThrows(ConfigException.class, () -> ParameterShapes.of(lm().embeddingDim(31).buildUnchecked()));
        ParamSpec a = new ParamSpec("w", 2, 3);
        assertEquals(a, new ParamSpec("w", new long[] {2, 3}, false));
        assertNotEquals(a, new ParamSpec("w", new long[] {2, 3}, true));
        assertEquals(6, a.numel());
        long[] s = a.shape();
        s[0] = 9;
        assertEquals(2, a.shape()[0], "shape is defensively copied");
        assertEquals("w (2, 3)", a.toString());
    }
}
