package org.xlstm.jvm.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.xlstm.jvm.backend.cpu.CpuOps;
import org.xlstm.jvm.config.ModelConfig;
import org.xlstm.jvm.config.OfficialConfigs;
import org.xlstm.jvm.config.ParamSpec;
import org.xlstm.jvm.config.ParameterShapes;
import org.xlstm.jvm.config.WeightMode;
import org.xlstm.jvm.config.XlstmLargeConfig;
import org.xlstm.jvm.io.SafeTensors;
import org.xlstm.jvm.io.SafeTensorsWriter;
import org.xlstm.jvm.io.TensorData;
import org.xlstm.jvm.nn.Mode;

class WeightLoadingTest {
    static Path fixture(String name) { return Path.of(System.getProperty("xlstm.fixtures")).resolve(name); }

    /** All tensors of a checkpoint as float32 TensorData, in header order. */
    static Map<String, TensorData> readAll(Path file) {
        Map<String, TensorData> out = new LinkedHashMap<>();
        try (SafeTensors st = SafeTensors.open(file)) {
            for (String n : st.names()) out.put(n, TensorData.f32(st.info(n).shape(), st.floats(n)));
        }
        return out;
    }

    @Test
    void everyMissingUnexpectedAndMisshapedTensorIsNamedWithBothShapes(@TempDir Path tmp) throws Exception {
        Path src = fixture("mixed_4blk");
        Map<String, TensorData> t = readAll(src.resolve("model.safetensors"));
        t.remove("xlstm_block_stack.blocks.0.xlstm.proj_up.weight");
        t.remove("xlstm_block_stack.blocks.1.xlstm.slstm_cell._bias_");
        t.put("xlstm_block_stack.blocks.9.extra.weight", TensorData.f32(new long[] {2, 3}, new float[6]));
        t.put("lm_head.weight", TensorData.f32(new long[] {64, 63}, new float[64 * 63]));
        Path file = tmp.resolve("broken.safetensors");
        SafeTensorsWriter.write(file, t, Map.of());
        ModelConfig c = OfficialConfigs.loadDirectory(src);
        WeightLoadException e = assertThrows(WeightLoadException.class, () -> Models.load(c, file, new CpuOps()));
        List<String> p = e.problems();
        assertEquals(4, p.size(), String.join("\n", p));
        String msg = e.getMessage();
        assertTrue(msg.contains("missing tensor 'xlstm_block_stack.blocks.0.xlstm.proj_up.weight': expected shape [256, 64]"), msg);
        assertTrue(msg.contains("missing tensor 'xlstm_block_stack.blocks.1.xlstm.slstm_cell._bias_': expected shape [256]"), msg);
        assertTrue(msg.contains("unexpected tensor 'xlstm_block_stack.blocks.9.extra.weight' [2, 3]"), msg);
        assertTrue(msg.contains("tensor 'lm_head.weight' has the wrong shape: expected [64, 64], found [64, 63]"), msg);
        assertTrue(msg.startsWith(file.toString()), msg);
    }

    @Test
    void cudaLayoutUnderVanillaConfigIsAShapeError() {
        Path src = fixture("mixed_4blk");
        ModelConfig vanilla = OfficialConfigs.loadDirectory(src);
        WeightLoadException e = assertThrows(WeightLoadException.class,
                () -> Models.load(vanilla, fixture("mixed_4blk_cuda_layout").resolve("model.safetensors"), new CpuOps()));
        assertTrue(e.getMessage().contains("'xlstm_block_stack.blocks.1.xlstm.slstm_cell._recurrent_kernel_' has the wrong shape: expected [4, 64, 16], found [4, 16, 64]"),
                e.getMessage());
    }

    @Test
    void tiedLmHeadMayBeAbsentOrPresent(@TempDir Path tmp) {
        Path src = fixture("mlstm_only_bias_tied");
        ModelConfig c = OfficialConfigs.loadDirectory(src);
        Map<String, TensorData> t = readAll(src.resolve("model.safetensors"));
        t.remove("lm_head.weight");
        Path file = tmp.resolve("no_head.safetensors");
        SafeTensorsWriter.write(file, t, Map.of());
        int[][] tok = {{1, 2, 3, 4}};
        try (LanguageModel a = Models.load(c, src, new CpuOps()); LanguageModel b = Models.load(c, file, new CpuOps())) {
            float[] la = a.forward(tok, Mode.PARALLEL).toArray(), lb = b.forward(tok, Mode.PARALLEL).toArray();
            org.junit.jupiter.api.Assertions.assertArrayEquals(la, lb);
        }
    }

    @Test
    void huggingFaceEmbeddingNameIsAccepted(@TempDir Path tmp) {
        Path src = fixture("large_tiny");
        ModelConfig c = OfficialConfigs.loadDirectory(src);
        Map<String, TensorData> t = readAll(src.resolve("model.safetensors"));
        t.put("backbone.embeddings.weight", t.remove("embedding.weight"));
        Path file = tmp.resolve("hf.safetensors");
        SafeTensorsWriter.write(file, t, Map.of());
        int[][] tok = {{1, 2, 3, 4}};
        try (LanguageModel a = Models.load(c, src, new CpuOps()); LanguageModel b = Models.load(c, file, new CpuOps())) {
            org.junit.jupiter.api.Assertions.assertArrayEquals(a.forward(tok, Mode.CHUNKWISE).toArray(),
                    b.forward(tok, Mode.CHUNKWISE).toArray());
        }
    }

    /** The layers ask for exactly the official state_dict (names and shapes) that ParameterShapes derives. */
    @Test
    void requestedParametersAreTheOfficialStateDict() {
        List<ModelConfig> configs = new java.util.ArrayList<>();
        for (String f : List.of("mixed_4blk", "mixed_4blk_cuda_layout", "mlstm_only_bias_tied", "slstm_only_noconv", "large_tiny"))
            configs.add(OfficialConfigs.loadDirectory(fixture(f)));
        configs.add(ModelFormsTest.variant());
        configs.add(ModelFormsTest.large(true));
        configs.add(ModelFormsTest.large(true).toBuilder().weightMode(WeightMode.FUSED).build());
        for (ModelConfig c : configs) {
            RandomParams p = new RandomParams(1, 1.0);
            try (LanguageModel m = Models.build(c, p, new CpuOps(), p.arena(), 0)) {
                Map<String, String> ours = new TreeMap<>(), official = new TreeMap<>();
                p.shapes.forEach((k, v) -> ours.put(k, java.util.Arrays.toString(v)));
                for (ParamSpec s : ParameterShapes.of(c))
                    if (!s.tiedToOther()) official.put(s.name(), java.util.Arrays.toString(java.util.Arrays.stream(s.shape()).mapToInt(x -> (int) x).toArray()));
                assertEquals(official, ours, c.toString());
            }
        }
    }

    /** A fused xLSTM-7B checkpoint (q,k,v,o and i,f and the FFN up-projections concatenated) gives the same logits. */
    @Test
    void fusedWeightModeEqualsSingle(@TempDir Path tmp) throws Exception {
        XlstmLargeConfig single = ModelFormsTest.large(true);
        XlstmLargeConfig fused = single.toBuilder().weightMode(WeightMode.FUSED).build();
        RandomParams p = new RandomParams(5, 1.0);
        Map<String, TensorData> singleT = new LinkedHashMap<>(), fusedT = new LinkedHashMap<>();
        try (LanguageModel m = Models.build(single, p, new CpuOps(), p.arena(), 0)) {
            p.values.forEach((k, v) -> singleT.put(k, TensorData.f32(java.util.Arrays.stream(p.shapes.get(k)).asLongStream().toArray(), v)));
        }
        for (var e : singleT.entrySet()) {
            String k = e.getKey();
            String pre = k.substring(0, k.lastIndexOf('.', k.lastIndexOf('.') - 1) + 1);
            String leaf = k.substring(pre.length());
            if (leaf.matches("(q|k|v|ogate_preact)\\.(weight|bias)")) {
                String kind = leaf.substring(leaf.indexOf('.'));
                if (leaf.startsWith("q.")) fusedT.put(pre + "qkv_opreact" + kind, cat(singleT, pre, kind, "q", "k", "v", "ogate_preact"));
            } else if (leaf.matches("(igate_preact|fgate_preact)\\.(weight|bias)")) {
                String kind = leaf.substring(leaf.indexOf('.'));
                if (leaf.startsWith("igate")) fusedT.put(pre + "ifgate_preact" + kind, cat(singleT, pre, kind, "igate_preact", "fgate_preact"));
            } else if (leaf.matches("(proj_up_gate|proj_up)\\.(weight|bias)")) {
                String kind = leaf.substring(leaf.indexOf('.'));
                if (leaf.startsWith("proj_up_gate")) fusedT.put(pre + "proj_up_gate_z" + kind, cat(singleT, pre, kind, "proj_up_gate", "proj_up"));
            } else fusedT.put(k, e.getValue());
        }
        Path fs = tmp.resolve("fused.safetensors"), ss = tmp.resolve("single.safetensors");
        SafeTensorsWriter.write(fs, fusedT, Map.of());
        SafeTensorsWriter.write(ss, singleT, Map.of());
        int[][] tok = ModelFormsTest.tokens(single.vocabSize(), 1);
        try (LanguageModel a = Models.load(single, ss, new CpuOps()); LanguageModel b = Models.load(fused, fs, new CpuOps())) {
            org.junit.jupiter.api.Assertions.assertArrayEquals(a.forward(tok, Mode.CHUNKWISE).toArray(),
                    b.forward(tok, Mode.CHUNKWISE).toArray());
        }
        assertTrue(Files.size(fs) > 0);
    }

    private static TensorData cat(Map<String, TensorData> t, String pre, String kind, String... names) {
        List<float[]> parts = new java.util.ArrayList<>();
        long rows = 0, cols = -1;
        for (String n : names) {
            TensorData d = t.get(pre + n + kind);
            float[] f = new float[d.data().remaining() / 4];
            d.data().duplicate().order(java.nio.ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(f);
            parts.add(f);
            rows += d.shape()[0];
            cols = d.shape().length > 1 ? d.shape()[1] : -1;
        }
        float[] all = new float[parts.stream().mapToInt(f -> f.length).sum()];
        int o = 0;
        for (float[] f : parts) {
            System.arraycopy(f, 0, all, o, f.length);
            o += f.length;
        }
        return TensorData.f32(cols < 0 ? new long[] {rows} : new long[] {rows, cols}, all);
    }
}
