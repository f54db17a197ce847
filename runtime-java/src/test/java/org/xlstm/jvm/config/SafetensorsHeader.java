package org.xlstm.jvm.config;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Test-side reader of a safetensors header (8-byte little-endian length, then JSON), written independently of the
 * production reader so that parameter counts are checked against the file, not against our own code.
 */
public final class SafetensorsHeader {
    public record Entry(String dtype, long[] shape, long begin, long end) {
        public long numel() { return Arrays.stream(shape).reduce(1, Math::multiplyExact); }
    }

    private SafetensorsHeader() {}

    public static Map<String, Entry> read(Path file) throws IOException {
        try (RandomAccessFile f = new RandomAccessFile(file.toFile(), "r")) {
            byte[] len = new byte[8];
            f.readFully(len);
            long n = ByteBuffer.wrap(len).order(ByteOrder.LITTLE_ENDIAN).getLong();
            byte[] json = new byte[Math.toIntExact(n)];
            f.readFully(json);
            JsonNode root = new ObjectMapper().readTree(json);
            Map<String, Entry> out = new LinkedHashMap<>();
            for (Map.Entry<String, JsonNode> e : root.properties()) {
                if (e.getKey().equals("__metadata__")) continue;
                JsonNode v = e.getValue();
                long[] shape = new long[v.get("shape").size()];
                for (int i = 0; i < shape.length; i++) shape[i] = v.get("shape").get(i).asLong();
                out.put(e.getKey(), new Entry(v.get("dtype").asText(), shape,
                        8 + n + v.get("data_offsets").get(0).asLong(), 8 + n + v.get("data_offsets").get(1).asLong()));
            }
            return out;
        }
    }

    /** Whether two tensors hold identical bytes (a tied matrix saved twice). */
    public static boolean sameBytes(Path file, Entry a, Entry b) throws IOException {
        if (a.end() - a.begin() != b.end() - b.begin()) return false;
        try (RandomAccessFile f = new RandomAccessFile(file.toFile(), "r")) {
            byte[] x = new byte[Math.toIntExact(a.end() - a.begin())];
            byte[] y = new byte[x.length];
            f.seek(a.begin());
            f.readFully(x);
            f.seek(b.begin());
            f.readFully(y);
            return Arrays.equals(x, y);
        }
    }

    /**
     * The official parameter count of a checkpoint: all elements, with lm_head.weight counted once when it holds
     * the same values as the embedding (tied weights are saved under both names).
     */
    public static long officialCount(Path file) throws IOException {
        Map<String, Entry> h = read(file);
        long n = h.values().stream().mapToLong(Entry::numel).sum();
        Entry head = h.get("lm_head.weight");
        Entry emb = h.get("token_embedding.weight");
        if (head != null && emb != null && sameBytes(file, head, emb)) n -= head.numel();
        return n;
    }
}
