package org.xlstm.jvm.config;

import static org.junit.jupiter.api.Assertions.*;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.xlstm.jvm.config.OfficialConfigs.Format;

class OfficialConfigsTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    private static ModelConfig json(String text) { return OfficialConfigs.read(text, Format.JSON, "test.json"); }

    private static ModelConfig yaml(String text) { return OfficialConfigs.read(text, Format.YAML, "exp.yaml"); }

    private static XlstmConfig yamlSection(String text) { return (XlstmConfig) yaml(text); }

    private static ConfigFileException fails(Format f, String text) {
        return assertThrows(ConfigFileException.class, () -> OfficialConfigs.read(text, f, f == Format.JSON ? "bad.json" : "bad.yaml"));
    }

    private static void assertMentions(Exception e, String... fragments) {
        for (String f : fragments) assertTrue(e.getMessage().contains(f), "\"" + f + "\" missing from: " + e.getMessage());
    }

    // ------------------------------------------------------------------ fixtures

    @Test
    void everyFixtureReadsValidatesAndRoundTrips() throws Exception {
        for (Path dir : FixtureCases.all()) {
            ModelConfig c = OfficialConfigs.readDirectory(dir);
            assertEquals(List.of(), ConfigValidator.check(c), dir.toString());
            assertEquals(c, OfficialConfigs.loadDirectory(dir));
            assertEquals(c, json(OfficialConfigs.toJson(c)), dir + " via JSON");
            assertEquals(c, yaml(OfficialConfigs.toYaml(c)), dir + " via YAML");
        }
    }

    /** Whatever a fixture's config.json says, our written JSON says too (same key path, same value). */
    @Test
    void writtenJsonKeepsEveryFixtureValue() throws Exception {
        for (Path dir : FixtureCases.all()) {
            Map<String, Object> in = flatten(JSON.readValue(dir.resolve("config.json").toFile(), Map.class));
            Map<String, Object> out = flatten(JSON.readValue(OfficialConfigs.toJson(OfficialConfigs.readDirectory(dir)), Map.class));
            for (Map.Entry<String, Object> e : in.entrySet()) {
                assertTrue(out.containsKey(e.getKey()), dir + ": " + e.getKey() + " not written");
                Object a = e.getValue(), b = out.get(e.getKey());
                if (a instanceof Number x && b instanceof Number y) assertEquals(x.doubleValue(), y.doubleValue(), dir + ": " + e.getKey());
                else assertEquals(a, b, dir + ": " + e.getKey());
            }
        }
    }

    private static Map<String, Object> flatten(Map<?, ?> m) {
        Map<String, Object> out = new TreeMap<>();
        flatten("", m, out);
        return out;
    }

    private static void flatten(String prefix, Object v, Map<String, Object> out) {
        if (v instanceof Map<?, ?> m && !m.isEmpty()) m.forEach((k, x) -> flatten(prefix + (prefix.isEmpty() ? "" : ".") + k, x, out));
        else out.put(prefix, v);
    }

    // ------------------------------------------------------------------ LM layout and defaults

    @Test
    void missingKeysTakeOfficialDefaults() {
        XlstmConfig c = (XlstmConfig) json("{\"vocab_size\": 10, \"context_length\": 8, \"mlstm_block\": {}}");
        assertEquals(XlstmConfig.defaults(10, 8), c);
        assertEquals(MlstmLayerConfig.DEFAULTS, c.mlstmBlock().mlstm());
        assertNull(c.slstmBlock());
        assertEquals(1, c.numBlocks());
        assertEquals(128, c.embeddingDim());
        assertTrue(c.addPostBlocksNorm());
        // Official defaults for both blocks are None: readable, but not a possible architecture.
        XlstmConfig none = (XlstmConfig) json("{\"vocab_size\": 10}");
        assertNull(none.mlstmBlock());
        assertNull(none.slstmBlock());
        assertEquals(-1, none.contextLength());
        ConfigFileException e = assertThrows(ConfigFileException.class,
                () -> OfficialConfigs.load("{\"vocab_size\": 10}", Format.JSON, "c.json"));
        assertMentions(e, "c.json", "neither mlstm_block nor slstm_block");
    }

    @Test
    void slstmAtAllEmptyBlocksAndNullFeedForward() {
        XlstmConfig c = (XlstmConfig) json("""
                {"vocab_size": 10, "num_blocks": 3, "slstm_at": "all", "slstm_block": {}, "mlstm_block": null}""");
        assertEquals(List.of(0, 1, 2), c.slstmAt());
        assertEquals(SlstmBlockConfig.DEFAULTS, c.slstmBlock());
        assertEquals(FeedForwardConfig.DEFAULTS, c.slstmBlock().feedforward());
        assertNull(c.mlstmBlock());

        XlstmConfig noFfn = (XlstmConfig) json("""
                {"vocab_size": 10, "slstm_block": {"slstm": {"num_heads": 2}, "feedforward": null}}""");
        assertNull(noFfn.slstmBlock().feedforward());
        assertEquals(2, noFfn.slstmBlock().slstm().numHeads());
        assertEquals(noFfn, json(OfficialConfigs.toJson(noFfn)));
        assertTrue(OfficialConfigs.toJson(noFfn).contains("\"feedforward\": null"));
    }

    @Test
    void unknownKeysAreKeptInTheirSectionInFileOrder() {
        XlstmConfig c = (XlstmConfig) json("""
                {"vocab_size": 10, "context_length": 8, "zeta": 1, "alpha": {"nested": [1, 2.5, null]},
                 "mlstm_block": {"_num_blocks": null, "mlstm": {"embedding_dim": 64, "num_heads": 2}},
                 "slstm_block": {"slstm": {"function": "slstm", "gradient_recurrent_clipval": null},
                                 "feedforward": {"dropout": 0.1}}}""");
        assertEquals(List.of("zeta", "alpha"), List.copyOf(c.extras().keySet()));
        assertEquals(Map.of("nested", java.util.Arrays.asList(1, 2.5, null)), c.extras().get("alpha"));
        assertTrue(c.mlstmBlock().extras().containsKey("_num_blocks"));
        assertEquals(64, c.mlstmBlock().mlstm().extras().get("embedding_dim"));
        assertEquals("slstm", c.slstmBlock().slstm().extras().get("function"));
        assertTrue(c.slstmBlock().slstm().extras().containsKey("gradient_recurrent_clipval"));
        assertEquals(0.1, c.slstmBlock().feedforward().extras().get("dropout"));
        assertEquals(c, json(OfficialConfigs.toJson(c)));
        assertEquals(c, yaml(OfficialConfigs.toYaml(c)));
    }

    @Test
    void writtenJsonHasEveryFieldExplicitly() throws Exception {
        XlstmConfig c = (XlstmConfig) json("{\"vocab_size\": 10, \"context_length\": 8, \"mlstm_block\": {}, \"slstm_block\": {}}");
        Map<?, ?> m = JSON.readValue(OfficialConfigs.toJson(c), Map.class);
        for (String k : List.of("vocab_size", "context_length", "num_blocks", "embedding_dim", "slstm_at", "mlstm_block",
                "slstm_block", "add_post_blocks_norm", "bias", "dropout", "tie_weights", "weight_decay_on_embedding",
                "add_embedding_dropout"))
            assertTrue(m.containsKey(k), k);
        Map<?, ?> mlstm = (Map<?, ?>) ((Map<?, ?>) m.get("mlstm_block")).get("mlstm");
        assertEquals(Map.of("num_heads", 4, "proj_factor", 2.0, "conv1d_kernel_size", 4, "qkv_proj_blocksize", 4,
                "round_proj_up_dim_up", true, "round_proj_up_to_multiple_of", 64), mlstm);
        Map<?, ?> slstm = (Map<?, ?>) ((Map<?, ?>) m.get("slstm_block")).get("slstm");
        assertEquals("cuda", slstm.get("backend"));
        assertEquals("powerlaw_blockdependent", slstm.get("bias_init"));
        Map<?, ?> ff = (Map<?, ?>) ((Map<?, ?>) m.get("slstm_block")).get("feedforward");
        assertEquals("ffn_gated", ff.get("ff_type"));
        assertEquals(1.3, ff.get("proj_factor"));
        // floats stay floats for Python (dacite rejects an int where a float is declared)
        assertTrue(OfficialConfigs.toJson(c).contains("\"dropout\": 0.0"));
    }

    // ------------------------------------------------------------------ xLSTM-7B

    @Test
    void largeIsDetectedByMarkerModelTypeOrKeys() {
        String sizes = "\"embedding_dim\": 64, \"num_heads\": 4, \"num_blocks\": 2, \"vocab_size\": 50";
        assertInstanceOf(XlstmLargeConfig.class, json("{" + sizes + ", \"architecture\": \"xlstm_large\"}"));
        assertInstanceOf(XlstmLargeConfig.class, json("{" + sizes + ", \"model_type\": \"xlstm\"}"));
        assertInstanceOf(XlstmLargeConfig.class, json("{" + sizes + ", \"qk_dim_factor\": 0.5}"));
        assertInstanceOf(XlstmLargeConfig.class, json("{" + sizes + ", \"ffn_proj_factor\": 2.0}"));
        XlstmLargeConfig d = (XlstmLargeConfig) json("{" + sizes + ", \"architecture\": \"xlstm_large\"}");
        assertEquals(XlstmLargeConfig.defaults(64, 4, 2, 50), d);
        assertTrue(d.extras().isEmpty(), d.extras().toString());
    }

    /** Keys as in a Hugging Face xLSTM config (the published xLSTM-7B one uses these names). */
    @Test
    void huggingFaceConfigKeepsItsKeysAndWritesConsistentAliases() throws Exception {
        String hf = """
                {
                  "architectures": ["xLSTMForCausalLM"],
                  "model_type": "xlstm",
                  "embedding_dim": 4096, "num_heads": 8, "num_blocks": 32, "vocab_size": 50304,
                  "use_bias": false, "norm_eps": 1e-06, "norm_reduction_force_float32": true, "add_out_norm": true,
                  "qk_dim_factor": 0.5, "v_dim_factor": 1.0, "ffn_proj_factor": 2.667, "ffn_round_up_to_multiple_of": 64,
                  "gate_soft_cap": 15.0, "output_logit_soft_cap": 30.0, "weight_mode": "single",
                  "chunkwise_kernel": "chunkwise--triton_xl_chunk", "mode": "inference", "chunk_size": 64,
                  "return_last_states": true, "eps": 1e-06, "max_inference_chunksize": 16384,
                  "bos_token_id": 0, "eos_token_id": 2, "pad_token_id": 1, "tie_word_embeddings": false,
                  "torch_dtype": "float32", "transformers_version": "4.48.0", "use_cache": true
                }""";
        XlstmLargeConfig c = (XlstmLargeConfig) json(hf);
        assertEquals(4096, c.embeddingDim());
        assertEquals(32, c.numBlocks());
        assertEquals(2.667, c.ffnProjFactor());
        assertEquals(10944, c.ffnHiddenDim());
        assertEquals(List.of("xLSTMForCausalLM"), c.extras().get("architectures"));
        assertEquals(0, c.extras().get("bos_token_id"));
        assertEquals(false, c.extras().get("tie_word_embeddings"));
        assertEquals(List.of(), ConfigValidator.check(c));
        String out = OfficialConfigs.toJson(c);
        Map<?, ?> m = JSON.readValue(out, Map.class);
        assertEquals(4096, m.get("hidden_size"));
        assertEquals(32, m.get("num_hidden_layers"));
        assertEquals("xlstm", m.get("model_type"));
        assertEquals(c, json(out));

        // hidden_size / num_hidden_layers stand in for the official names, and must agree with them
        XlstmLargeConfig alias = (XlstmLargeConfig) json("""
                {"model_type": "xlstm", "hidden_size": 128, "num_hidden_layers": 3, "num_heads": 4, "vocab_size": 9}""");
        assertEquals(128, alias.embeddingDim());
        assertEquals(3, alias.numBlocks());
        ConfigFileException e = fails(Format.JSON, """
                {"model_type": "xlstm", "hidden_size": 128, "embedding_dim": 64, "num_blocks": 3,
                 "num_heads": 4, "vocab_size": 9}""");
        assertMentions(e, "hidden_size = 128", "embedding_dim = 64", "bad.json:1:");
    }

    @Test
    void largeNeedsItsSizesAndSoftCapNullMeansNoCap() throws Exception {
        ConfigFileException e = fails(Format.JSON, "{\"architecture\": \"xlstm_large\", \"num_heads\": 4}");
        assertMentions(e, "embedding_dim", "num_blocks", "vocab_size", "is missing");
        XlstmLargeConfig c = (XlstmLargeConfig) json("""
                {"embedding_dim": 64, "num_heads": 4, "num_blocks": 2, "vocab_size": 50, "architecture": "xlstm_large",
                 "gate_soft_cap": null, "output_logit_soft_cap": 20}""");
        assertFalse(c.hasGateSoftCap());
        assertEquals(20.0, c.outputLogitSoftCap());
        Map<?, ?> m = JSON.readValue(OfficialConfigs.toJson(c), Map.class);
        assertTrue(m.containsKey("gate_soft_cap"));
        assertNull(m.get("gate_soft_cap"));
        assertEquals(c, json(OfficialConfigs.toJson(c)));
        assertEquals(c, yaml(OfficialConfigs.toYaml(c)));
    }

    // ------------------------------------------------------------------ YAML experiments and interpolation

    /** Shaped like the official experiments/*.yaml: a model section that interpolates from dataset and itself. */
    private static final String EXPERIMENT = """
            training:
              batch_size: 256
              lr_decay_until_steps: ${.num_steps}
              num_steps: 20000
            model:
              num_blocks: 2
              embedding_dim: 64
              mlstm_block:
                mlstm:
                  num_heads: 1
              slstm_block:
                slstm:
                  num_heads: 1
              slstm_at: [1]
              context_length: ${dataset.kwargs.context_length}
              vocab_size: ${dataset.kwargs.vocab_size}
            dataset:
              name: form_language
              kwargs:
                vocab_size: 3
                context_length: 256
            """;

    @Test
    void experimentYamlTakesTheModelSectionWithInterpolations() {
        XlstmConfig c = (XlstmConfig) yaml(EXPERIMENT);
        assertEquals(3, c.vocabSize());
        assertEquals(256, c.contextLength());
        assertEquals(List.of(1), c.slstmAt());
        assertEquals(1, c.mlstmBlock().mlstm().numHeads());
        assertEquals(1, c.slstmBlock().slstm().numHeads());
        assertEquals(FeedForwardConfig.DEFAULTS, c.slstmBlock().feedforward());
        assertTrue(c.extras().isEmpty(), c.extras().toString());
        assertEquals(List.of(), ConfigValidator.check(c));
        // a YAML that is itself the model section
        String bare = OfficialConfigs.toYaml(c).replace("model:\n", "").replaceAll("(?m)^  ", "");
        assertEquals(c, yaml(bare));
        // an empty slstm_block: {} is the default sLSTM block (official parity_xlstm10 uses it)
        XlstmConfig empty = (XlstmConfig) yaml(EXPERIMENT.replace("""
                  slstm_block:
                    slstm:
                      num_heads: 1
                """, "  slstm_block: {}\n").replace("slstm_at: [1]", "slstm_at: []"));
        assertEquals(SlstmBlockConfig.DEFAULTS, empty.slstmBlock());
        assertEquals(List.of(), empty.slstmAt());
    }

    @Test
    void interpolationForms() {
        XlstmConfig c = (XlstmConfig) yaml("""
                sizes:
                  dims: [32, 64]
                  heads: 2
                  deep:
                    k: ${...name}
                    sib: ${.k}
                    up: ${..heads}
                name: exp-${sizes.heads}-${sizes.dims[1]}
                literal: \\${not.a.ref}
                model:
                  vocab_size: ${sizes.dims.0}
                  context_length: ${.vocab_size}
                  embedding_dim: ${sizes.dims[1]}
                  mlstm_block: ${blocks.m}
                  note: ${sizes.deep.k}
                  lit: ${literal}
                blocks:
                  m:
                    mlstm:
                      num_heads: ${sizes.heads}
                """);
        assertEquals(32, c.vocabSize());
        assertEquals(32, c.contextLength());
        assertEquals(64, c.embeddingDim());
        assertEquals(2, c.mlstmBlock().mlstm().numHeads());
        assertEquals("exp-2-64", c.extras().get("note"));
        assertEquals(Map.of("k", "exp-2-2", "sib", "exp-2-2", "up", 2), yamlSection("""
                sizes:
                  heads: 2
                  dims: [1, 2]
                  deep:
                    k: ${...name}
                    sib: ${.k}
                    up: ${..heads}
                name: exp-${sizes.heads}-${sizes.dims[1]}
                model:
                  vocab_size: 1
                  x_deep: ${sizes.deep}
                """).extras().get("x_deep"));
        assertEquals("${not.a.ref}", c.extras().get("lit"));
    }

    @Test
    void interpolationErrorsNameKeyAndLine() {
        ConfigFileException missing = fails(Format.YAML, "model:\n  num_blocks: 2\n  vocab_size: ${data.vocab}\n");
        assertMentions(missing, "bad.yaml:3:", "vocab_size", "${data.vocab}", "data.vocab", "does not exist");
        ConfigFileException cycle = fails(Format.YAML, "a: ${b}\nb: ${a}\nmodel:\n  vocab_size: ${a}\n");
        assertMentions(cycle, "circular");
        ConfigFileException resolver = fails(Format.YAML, "model:\n  vocab_size: ${oc.env:VOCAB}\n");
        assertMentions(resolver, "resolver", "bad.yaml:2:");
    }

    // ------------------------------------------------------------------ errors with file, key and line

    @Test
    void wrongTypesNameKeyAndLine() {
        ConfigFileException e = fails(Format.JSON, """
                {
                  "vocab_size": 10,
                  "mlstm_block": {
                    "mlstm": {"num_heads": "four", "proj_factor": true}
                  },
                  "slstm_at": [0, 1.5],
                  "bias": "yes"
                }""");
        assertEquals(4, e.errors().size(), e.getMessage());
        assertMentions(e, "bad.json", "mlstm_block.mlstm.num_heads", "\"four\"", "bad.json:4:",
                "mlstm_block.mlstm.proj_factor", "expected a number, got true", "slstm_at[1]", "1.5", "bad.json:6:",
                "bias", "expected true or false", "bad.json:7:");
        ConfigFileException y = fails(Format.YAML, "model:\n  vocab_size: 10\n  mlstm_block:\n    mlstm:\n      num_heads: four\n");
        assertMentions(y, "bad.yaml:5:", "model.mlstm_block.mlstm.num_heads", "\"four\"");
        assertEquals("mlstm_block.mlstm.num_heads", y.errors().getFirst().field());
        ConfigFileException section = fails(Format.JSON, "{\"mlstm_block\": [1, 2]}");
        assertMentions(section, "mlstm_block", "expected a map", "got a list");
        ConfigFileException big = fails(Format.JSON, "{\"num_blocks\": 3000000000}");
        assertMentions(big, "num_blocks", "32 bits", "3000000000");
    }

    @Test
    void unknownNamesAreLocated() {
        ConfigFileException e = fails(Format.JSON, """
                {"slstm_block": {"slstm": {"backend": "triton"},
                                 "feedforward": {"act_fn": "tanhh", "ff_type": "moe"}}}""");
        assertMentions(e, "slstm_block.slstm.backend", "triton", "bad.json:1:", "slstm_block.feedforward.act_fn",
                "tanhh", "bad.json:2:", "ff_type", "moe");
        ConfigFileException w = fails(Format.JSON, "{\"qk_dim_factor\": 0.5, \"embedding_dim\": 64, \"num_heads\": 4, "
                + "\"num_blocks\": 2, \"vocab_size\": 50, \"weight_mode\": \"split\"}");
        assertMentions(w, "weight_mode", "split");
    }

    @Test
    void syntaxErrorsGiveTheLine() {
        ConfigFileException j = fails(Format.JSON, "{\n  \"vocab_size\": 10,\n  \"num_blocks\": ,\n}");
        assertMentions(j, "JSON syntax error", "bad.json:3:");
        ConfigFileException y = fails(Format.YAML, "model:\n  vocab_size: 10\n  mlstm_block: [1, 2\n  num_blocks: 2\n");
        assertMentions(y, "YAML syntax error", "bad.yaml:");
        ConfigFileException dup = fails(Format.JSON, "{\"vocab_size\": 10,\n\"vocab_size\": 11}");
        assertMentions(dup, "duplicate key", "vocab_size", "bad.json:2:", "first at bad.json:1:");
        assertMentions(fails(Format.JSON, ""), "empty");
        assertMentions(fails(Format.JSON, "[1, 2]"), "map of settings", "a list");
        assertMentions(fails(Format.JSON, "{\"vocab_size\": 1} {}"), "after the end");
    }

    @Test
    void loadPointsArchitectureErrorsAtTheirLines() {
        ConfigFileException e = assertThrows(ConfigFileException.class, () -> OfficialConfigs.load("""
                {
                  "vocab_size": 10,
                  "context_length": 8,
                  "num_blocks": 2,
                  "slstm_at": [5],
                  "mlstm_block": {"mlstm": {"num_heads": 3}},
                  "slstm_block": {}
                }""", Format.JSON, "arch.json"));
        assertMentions(e, "arch.json", "slstm_at", "arch.json:5:", "mlstm_block.mlstm.num_heads", "num_heads = 3",
                "arch.json:6:");
        assertEquals("arch.json", e.source());
    }

    @Test
    void filesAndDirectories(@TempDir Path tmp) throws Exception {
        ConfigFileException nf = assertThrows(ConfigFileException.class, () -> OfficialConfigs.read(tmp.resolve("nope.json")));
        assertMentions(nf, "nope.json");
        assertMentions(assertThrows(ConfigFileException.class, () -> OfficialConfigs.readDirectory(tmp)), "config.json", tmp.toString());

        ModelConfig c = new RandomConfigs(7).lm();
        OfficialConfigs.write(c, tmp.resolve("a/config.json"));
        assertEquals(c, OfficialConfigs.readDirectory(tmp.resolve("a")));
        OfficialConfigs.write(c, tmp.resolve("b/config.yaml"));
        assertEquals(c, OfficialConfigs.readDirectory(tmp.resolve("b")));
        assertTrue(Files.readString(tmp.resolve("b/config.yaml")).startsWith("model:"));
        // no extension: sniffed
        Files.writeString(tmp.resolve("cfg"), OfficialConfigs.toJson(c));
        assertEquals(c, OfficialConfigs.read(tmp.resolve("cfg")));
        // type errors in a file name the file
        Files.writeString(tmp.resolve("bad.json"), "{\n\"vocab_size\": \"x\"}");
        assertMentions(assertThrows(ConfigFileException.class, () -> OfficialConfigs.read(tmp.resolve("bad.json"))),
                tmp.resolve("bad.json") + ":2:", "vocab_size");
    }

    // ------------------------------------------------------------------ property: lossless round trip

    @Test
    void randomValidConfigsRoundTripThroughJsonAndYaml() {
        RandomConfigs random = new RandomConfigs(20261123L);
        for (int i = 0; i < 400; i++) {
            ModelConfig c = random.next();
            assertEquals(List.of(), ConfigValidator.check(c), "generator made an invalid config: " + c);
            String j = OfficialConfigs.toJson(c);
            assertEquals(c, json(j), "JSON round trip #" + i + ":\n" + j);
            String y = OfficialConfigs.toYaml(c);
            assertEquals(c, yaml(y), "YAML round trip #" + i + ":\n" + y);
            assertEquals(j, OfficialConfigs.toJson(json(j)), "JSON text is stable #" + i);
        }
    }
}
