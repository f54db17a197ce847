package org.xlstm.jvm.io;

import static org.junit.jupiter.api.Assertions.*;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SafeTensorsTest {
    @TempDir Path tmp;

    private static float[] randomFloats(int n, long seed) {
        Random r = new Random(seed);
        float[] v = new float[n];
        for (int i = 0; i < n; i++) v[i] = (float) r.nextGaussian();
        return v;
    }

    @Test
    void roundTripsEveryWrittenDtypeAndMetadata() {
        float[] a = randomFloats(24, 1);
        double[] d = {1.5, -2.25, Math.PI};
        long[] ids = {0, 7, -3, Long.MAX_VALUE};
        Map<String, TensorData> m = new LinkedHashMap<>();
        m.put("a", TensorData.f32(new long[] {2, 3, 4}, a));
        m.put("d", TensorData.f64(new long[] {3}, d));
        m.put("ids", TensorData.i64(new long[] {2, 2}, ids));
        m.put("empty", TensorData.f32(new long[] {0, 5}, new float[0]));
        Path f = tmp.resolve("x.safetensors");
        SafeTensorsWriter.write(f, m, Map.of("format", "pt"));
        try (SafeTensors st = SafeTensors.open(f)) {
            assertEquals(List.of("a", "d", "ids", "empty"), List.copyOf(st.names()));
            assertArrayEquals(a, st.floats("a"));
            assertArrayEquals(new long[] {2, 3, 4}, st.info("a").shape());
            assertArrayEquals(d, st.doubles("d"));
            assertArrayEquals(ids, st.longs("ids"));
            assertEquals(0, st.floats("empty").length);
            assertEquals("pt", st.metadata().get("format"));
            assertEquals(0, st.info("a").byteOffset() % 8, "data section is 8-byte aligned");
        }
    }

    @Test
    void bf16AndF16ConvertLikeTorch() {
        float[] v = {1.0f, -2.5f, 3.140625f, 1e-3f, 65504f};
        Path f = tmp.resolve("h.safetensors");
        ByteBuffer h = ByteBuffer.allocate(v.length * 2).order(ByteOrder.LITTLE_ENDIAN);
        for (float x : v) h.putShort(Float.floatToFloat16(x));
        h.flip();
        SafeTensorsWriter.write(f, Map.of("b", TensorData.bf16(new long[] {5}, v), "h", new TensorData(DType.F16, new long[] {5}, h)), null);
        try (SafeTensors st = SafeTensors.open(f)) {
            float[] b = st.floats("b");
            float[] hf = st.floats("h");
            for (int i = 0; i < v.length; i++) {
                assertEquals(v[i], b[i], Math.abs(v[i]) * 1.0 / 128, "bf16 keeps 8 bits of mantissa");
                assertEquals(v[i], hf[i], Math.abs(v[i]) * 1.0 / 1024, "f16 keeps 11 bits");
            }
            assertEquals(1.0f, b[0]);
            assertEquals(-2.5f, b[1]);
        }
        // Round to nearest even: 1 + 2^-8 lies exactly between two bf16 values and rounds to the even one (1.0).
        assertEquals(1.0f, Bf16.toFloat(Bf16.fromFloat(1.0f + 1.0f / 256)));
        assertEquals(1.0f + 1.0f / 64, Bf16.toFloat(Bf16.fromFloat(1.0f + 3.0f / 256)));
    }

    @Test
    void readsEveryFixtureCheckpoint() throws IOException {
        Path fixtures = Path.of(System.getProperty("xlstm.fixtures", "../../shared/fixtures"));
        List<Path> cases;
        try (Stream<Path> s = Files.list(fixtures)) {
            cases = s.filter(p -> Files.isRegularFile(p.resolve("model.safetensors"))).toList();
        }
        assertFalse(cases.isEmpty(), "no fixture case found under " + fixtures);
        for (Path c : cases) {
            try (SafeTensors st = SafeTensors.open(c)) {
                assertFalse(st.names().isEmpty());
                for (String n : st.names()) {
                    float[] v = st.floats(n);
                    assertEquals(st.info(n).numel(), v.length, n);
                    for (float x : v) assertTrue(Float.isFinite(x), n);
                }
            }
            try (SafeTensors ex = SafeTensors.open(c.resolve("expected.safetensors"))) {
                long[] ids = ex.longs("input_ids");
                assertEquals(ex.info("input_ids").numel(), ids.length);
            }
        }
    }

    @Test
    void missingTensorNamesItAndSimilarOnes() {
        Path f = tmp.resolve("m.safetensors");
        SafeTensorsWriter.write(f, Map.of("blocks.0.proj_up.weight", TensorData.f32(new long[] {1}, new float[] {1})), null);
        try (SafeTensors st = SafeTensors.open(f)) {
            SafeTensorsException e = assertThrows(SafeTensorsException.class, () -> st.floats("blocks.1.proj_up.weight"));
            assertTrue(e.getMessage().contains("'blocks.1.proj_up.weight'"), e.getMessage());
            assertTrue(e.getMessage().contains("blocks.0.proj_up.weight"), e.getMessage());
            assertThrows(SafeTensorsException.class, () -> st.longs("blocks.0.proj_up.weight"));
        }
    }

    private Path rawFile(String header, int dataBytes) throws IOException {
        byte[] h = header.getBytes(StandardCharsets.UTF_8);
        ByteBuffer b = ByteBuffer.allocate(8 + h.length + dataBytes).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(h.length).put(h);
        Path f = Files.createTempFile(tmp, "raw", ".safetensors");
        Files.write(f, b.array());
        return f;
    }

    @Test
    void rejectsCorruptFilesWithTheReason() throws IOException {
        assertMessage(rawFile("{\"t\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]}}", 8), "outside the data section");
        assertMessage(rawFile("{\"t\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,16]}}", 16), "needs 12");
        assertMessage(rawFile("{\"t\":{\"dtype\":\"Q4\",\"shape\":[4],\"data_offsets\":[0,16]}}", 16), "unsupported dtype");
        assertMessage(rawFile("{not json", 0), "not valid JSON");
        assertMessage(rawFile("{\"t\":{\"dtype\":\"F32\",\"shape\":[4]}}", 16), "data_offsets");
        Path shortFile = Files.write(tmp.resolve("short.safetensors"), new byte[] {1, 2, 3});
        assertMessage(shortFile, "too short");
        ByteBuffer huge = ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN).putLong(1L << 40).putLong(0);
        assertMessage(Files.write(tmp.resolve("huge.safetensors"), huge.array()), "does not fit");
    }

    private static void assertMessage(Path f, String part) {
        SafeTensorsException e = assertThrows(SafeTensorsException.class, () -> SafeTensors.open(f).close());
        assertTrue(e.getMessage().contains(part), e.getMessage());
        assertTrue(e.getMessage().contains(f.toString()), "names the file: " + e.getMessage());
    }

    @Test
    void opensShardedCheckpointsThroughTheIndex() throws IOException {
        float[] a = randomFloats(6, 2), b = randomFloats(4, 3);
        SafeTensorsWriter.write(tmp.resolve("model-00001-of-00002.safetensors"), Map.of("a", TensorData.f32(new long[] {2, 3}, a)), null);
        SafeTensorsWriter.write(tmp.resolve("model-00002-of-00002.safetensors"), Map.of("b", TensorData.f32(new long[] {4}, b)), null);
        Files.writeString(tmp.resolve("model.safetensors.index.json"), """
                {"metadata": {"total_size": 40}, "weight_map": {
                  "a": "model-00001-of-00002.safetensors", "b": "model-00002-of-00002.safetensors"}}""");
        try (SafeTensors st = SafeTensors.open(tmp)) {
            assertArrayEquals(a, st.floats("a"));
            assertArrayEquals(b, st.floats("b"));
            assertTrue(st.info("b").file().endsWith("model-00002-of-00002.safetensors"));
        }
        Files.writeString(tmp.resolve("model.safetensors.index.json"), """
                {"weight_map": {"a": "model-00002-of-00002.safetensors", "b": "model-00002-of-00002.safetensors"}}""");
        SafeTensorsException e = assertThrows(SafeTensorsException.class, () -> SafeTensors.open(tmp).close());
        assertTrue(e.getMessage().contains("'a'"), e.getMessage());
    }

    @Test
    void opensUnindexedShardsAsTheOfficialXlstm7bSaverWritesThem() {
        float[] a = randomFloats(6, 5), b = randomFloats(4, 6);
        SafeTensorsWriter.write(tmp.resolve("model_0.safetensors"), Map.of("a", TensorData.f32(new long[] {6}, a)), null);
        SafeTensorsWriter.write(tmp.resolve("model_1.safetensors"), Map.of("b", TensorData.f32(new long[] {4}, b)), null);
        try (SafeTensors st = SafeTensors.open(tmp)) {
            assertArrayEquals(a, st.floats("a"));
            assertArrayEquals(b, st.floats("b"));
        }
        SafeTensorsException e = assertThrows(SafeTensorsException.class, () -> SafeTensors.open(tmp.resolve("empty-dir-x")).close());
        assertTrue(e.getMessage().contains("no such"), e.getMessage());
    }

    @Test
    void atomicWriteLeavesThePreviousFileWholeWhenTheNewOneFails() throws IOException {
        Path f = tmp.resolve("w.safetensors");
        SafeTensorsWriter.write(f, Map.of("x", TensorData.f32(new long[] {2}, new float[] {1, 2})), null);
        byte[] before = Files.readAllBytes(f);
        // A crash after the new bytes are written but before the rename: the target must stay as it was.
        assertThrows(IllegalStateException.class, () -> SafeTensorsWriter.write(f,
                Map.of("x", TensorData.f32(new long[] {2}, new float[] {3, 4})), null,
                () -> { throw new IllegalStateException("simulated crash"); }));
        assertArrayEquals(before, Files.readAllBytes(f));
        try (var s = Files.list(tmp)) {
            assertEquals(1, s.count(), "no temporary file left behind");
        }
    }
}
