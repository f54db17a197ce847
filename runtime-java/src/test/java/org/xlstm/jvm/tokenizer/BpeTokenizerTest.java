package org.xlstm.jvm.tokenizer;

import static org.junit.jupiter.api.Assertions.*;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Every reference pair made with Hugging Face tokenizers must match exactly, both ways. */
class BpeTokenizerTest {
    static Path dir;
    static BpeTokenizer tok;
    static List<JsonNode> pairs;

    @BeforeAll
    static void load() throws Exception {
        Path fixtures = Path.of(System.getProperty("xlstm.fixtures", "../../shared/fixtures"));
        dir = fixtures.resolveSibling("tokenizers").resolve("gpt-neox-20b");
        assertTrue(Files.isRegularFile(dir.resolve("tokenizer.json")), "tokenizer not found at " + dir);
        tok = BpeTokenizer.fromHuggingFaceJson(dir.resolve("tokenizer.json"));
        ObjectMapper om = new ObjectMapper();
        pairs = Files.readAllLines(dir.resolve("reference_pairs.jsonl")).stream().filter(l -> !l.isBlank())
                .map(l -> { try { return om.readTree(l); } catch (Exception e) { throw new RuntimeException(e); } }).toList();
        assertFalse(pairs.isEmpty());
    }

    private static int[] ids(JsonNode p) {
        int[] ids = new int[p.get("ids").size()];
        for (int i = 0; i < ids.length; i++) ids[i] = p.get("ids").get(i).asInt();
        return ids;
    }

    @Test
    void encodesEveryReferencePairExactly() {
        for (JsonNode p : pairs) {
            String text = p.get("text").asText();
            assertArrayEquals(ids(p), tok.encode(text), () -> "encode " + text);
        }
    }

    @Test
    void decodesEveryReferencePairExactly() {
        for (JsonNode p : pairs) assertEquals(p.get("decoded").asText(), tok.decode(ids(p)), () -> "decode " + p.get("text"));
    }

    @Test
    void knowsItsSpecialTokensAndSize() {
        assertEquals(0, tok.specialTokenId("<|endoftext|>").orElseThrow());
        assertEquals(50281, tok.vocabSize());
        assertThrows(IllegalArgumentException.class, () -> tok.decode(new int[] {60000}));
    }

    @Test
    void isSafeToShareBetweenThreads() throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(8);
        try {
            List<Future<Boolean>> fs = new java.util.ArrayList<>();
            for (int r = 0; r < 32; r++) {
                fs.add(pool.submit(() -> {
                    for (JsonNode p : pairs)
                        if (!java.util.Arrays.equals(ids(p), tok.encode(p.get("text").asText()))) return false;
                    return true;
                }));
            }
            for (Future<Boolean> f : fs) assertTrue(f.get());
        } finally {
            pool.shutdown();
        }
    }

    @Test
    void byteTokenizerRoundTripsUtf8() {
        String s = "xLSTM ≤ ∞ 🚀";
        int[] ids = ByteTokenizer.INSTANCE.encode(s);
        assertEquals(s.getBytes(java.nio.charset.StandardCharsets.UTF_8).length, ids.length);
        assertEquals(s, ByteTokenizer.INSTANCE.decode(ids));
        assertThrows(IllegalArgumentException.class, () -> ByteTokenizer.INSTANCE.decode(new int[] {300}));
    }
}
