package org.xlstm.jvm.api;

import static org.junit.jupiter.api.Assertions.*;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.xlstm.jvm.config.XlstmConfig;
import org.xlstm.jvm.generate.GenerationOptions;
import org.xlstm.jvm.io.SafeTensors;
import org.xlstm.jvm.io.SafeTensorsWriter;
import org.xlstm.jvm.io.TensorData;
import org.xlstm.jvm.tokenizer.BpeTokenizer;

/** Checkpoint folders as they come: HF-style sharded xLSTM-7B layout, carried tokenizers, our own saves. */
class CheckpointFoldersTest {
    @TempDir Path tmp;

    private static double relErr(float[][][] a, float[][][] b) {
        double num = 0, den = 0;
        for (int i = 0; i < a.length; i++) for (int t = 0; t < a[i].length; t++) for (int v = 0; v < a[i][t].length; v++) {
            double d = a[i][t][v] - b[i][t][v];
            num += d * d;
            den += (double) b[i][t][v] * b[i][t][v];
        }
        return Math.sqrt(num / den);
    }

    @Test
    void anHfStyleShardedXlstm7bFolderLoadsAndComputesTheSameLogits() throws Exception {
        Path large = XlstmModelTest.cases().stream().filter(p -> p.getFileName().toString().startsWith("large")).findFirst()
                .orElseThrow(() -> new AssertionError("no large_* fixture"));
        Path hf = tmp.resolve("xlstm-7b-style");
        Files.createDirectories(hf);
        // two shards, bf16-free (the fixture is float32), and the index that names each tensor's shard
        Map<String, TensorData> a = new LinkedHashMap<>(), b = new LinkedHashMap<>();
        StringBuilder index = new StringBuilder("{\"metadata\": {}, \"weight_map\": {");
        try (SafeTensors st = SafeTensors.open(large)) {
            int i = 0;
            for (String n : st.names()) {
                long[] shape = st.info(n).shape();
                boolean first = i++ % 2 == 0;
                (first ? a : b).put(n, TensorData.f32(shape, st.floats(n)));
                index.append(i > 1 ? "," : "").append('"').append(n).append("\": \"model-0000").append(first ? 1 : 2)
                        .append("-of-00002.safetensors\"");
            }
        }
        index.append("}}");
        SafeTensorsWriter.write(hf.resolve("model-00001-of-00002.safetensors"), a, null);
        SafeTensorsWriter.write(hf.resolve("model-00002-of-00002.safetensors"), b, null);
        Files.writeString(hf.resolve("model.safetensors.index.json"), index);
        // a Hugging Face style config.json (model_type xlstm, HF key names) for the same architecture
        var c = (org.xlstm.jvm.config.XlstmLargeConfig) org.xlstm.jvm.config.OfficialConfigs.loadDirectory(large);
        Files.writeString(hf.resolve("config.json"), """
                {"model_type": "xlstm", "architectures": ["xLSTMForCausalLM"], "vocab_size": %d, "hidden_size": %d,
                 "num_hidden_layers": %d, "num_heads": %d, "qk_dim_factor": 0.5, "v_dim_factor": 1.0,
                 "gate_soft_cap": 15.0, "output_logit_soft_cap": 30.0, "chunk_size": %d, "tie_word_embeddings": false,
                 "torch_dtype": "bfloat16"}""".formatted(c.vocabSize(), c.embeddingDim(), c.numBlocks(), c.numHeads(), c.chunkSize()));
        int[][] tokens = {{1, 5, 9, 2, 7, 3, 3, 8}};
        try (XlstmModel original = XlstmModel.load(large); XlstmModel sharded = XlstmModel.load(hf)) {
            assertTrue(relErr(sharded.forward(tokens), original.forward(tokens)) < 1e-6);
        }
    }

    @Test
    void aCarriedTokenizerTurnsTextIntoTokensAndBack() throws Exception {
        Path tokJson = XlstmModelTest.fixtures().resolveSibling("tokenizers").resolve("gpt-neox-20b").resolve("tokenizer.json");
        assertTrue(Files.isRegularFile(tokJson), "tokenizer not found at " + tokJson);
        var config = XlstmConfig.builder().vocabSize(50304).contextLength(32).embeddingDim(16).numBlocks(1)
                .mlstm(org.xlstm.jvm.config.MlstmLayerConfig.DEFAULTS.withNumHeads(2)).build();
        Path dir = tmp.resolve("with-tokenizer");
        try (XlstmModel m = XlstmModel.create(config, 3)) {
            m.save(dir);
        }
        Files.copy(tokJson, dir.resolve("tokenizer.json"));
        try (XlstmModel m = XlstmModel.load(dir)) {
            assertTrue(m.tokenizer().orElseThrow() instanceof BpeTokenizer);
            GenerationOptions o = GenerationOptions.greedy(6);
            String text = m.generate("Hello, world", o);
            int[] ids = m.generate(m.tokenizer().get().encode("Hello, world"), o);
            assertEquals(m.tokenizer().get().decode(ids), text, "text generation = ids generation + decode");
            assertEquals(6, ids.length);
        }
    }

    @Test
    void saveThenLoadGivesTheSameModelAndTheOfficialNames() throws Exception {
        Path fixture = XlstmModelTest.cases().stream().filter(p -> p.getFileName().toString().contains("tied")).findFirst()
                .orElse(XlstmModelTest.cases().getFirst());
        Path out = tmp.resolve("saved");
        int[][] tokens = {{1, 2, 3, 4, 5}};
        try (XlstmModel m = XlstmModel.load(fixture)) {
            m.save(out);
            try (XlstmModel back = XlstmModel.load(out); SafeTensors orig = SafeTensors.open(fixture);
                 SafeTensors saved = SafeTensors.open(out)) {
                assertEquals(List.copyOf(orig.names()).stream().sorted().toList(), List.copyOf(saved.names()).stream().sorted().toList());
                assertEquals(0.0, relErr(back.forward(tokens), m.forward(tokens)));
            }
        }
    }
}
