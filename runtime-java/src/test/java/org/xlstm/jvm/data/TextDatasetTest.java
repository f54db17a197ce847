package org.xlstm.jvm.data;

import static org.junit.jupiter.api.Assertions.*;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.xlstm.jvm.tokenizer.ByteTokenizer;

class TextDatasetTest {
    @TempDir Path tmp;

    /** Training tokens below 100, validation tokens from 100 up: any leak across the split shows. */
    private static TextDataset marked(int n) {
        int[] tokens = new int[n];
        int trainEnd = n - (int) Math.ceil(n * 0.1);
        for (int i = 0; i < n; i++) tokens[i] = i < trainEnd ? i % 100 : 100 + i % 100;
        return TextDataset.of(tokens, 256, 0.1, "marked");
    }

    @Test
    void lastTenthIsValidationAndWindowsNeverCrossIt() {
        TextDataset d = marked(5000);
        assertEquals(4500, d.trainTokens());
        assertEquals(500, d.validationTokens());
        BatchSource train = d.train(8, 32, 1);
        for (int i = 0; i < 200; i++) {
            Batch b = train.batch(i);
            for (int r = 0; r < 8; r++)
                for (int t = 0; t < 32; t++) {
                    int x = b.inputs()[r * 32 + t], y = b.targets()[r * 32 + t];
                    assertTrue(x < 100 && y < 100, "training window reaches the validation part");
                    assertEquals((x + 1) % 100, y, "target is the next token");
                    if (t > 0) assertEquals(x, b.targets()[r * 32 + t - 1], "window is contiguous");
                }
        }
        List<Batch> val = d.validation(2, 32, 100);
        assertEquals(499 / 32 / 2, val.size());
        int expected = 100 + 4500 % 100;
        for (Batch b : val)
            for (int i = 0; i < b.inputs().length; i++, expected = 100 + (expected - 99) % 100) {
                assertEquals(expected, b.inputs()[i], "consecutive windows of the validation part");
                assertEquals(100 + (expected - 99) % 100, b.targets()[i]);
            }
        assertEquals(3, d.validation(2, 32, 3).size());
    }

    @Test
    void sameSeedSameWindows() {
        TextDataset d = marked(3000);
        assertEquals(d.train(4, 16, 9).batch(11), d.train(4, 16, 9).batch(11));
        assertNotEquals(d.train(4, 16, 9).batch(11), d.train(4, 16, 10).batch(11));
        assertNotEquals(d.train(4, 16, 9).batch(11), d.train(4, 16, 9).batch(12));
    }

    @Test
    void byteTokenizerReadsRawBytesOfAnyEncoding() throws Exception {
        Path f = tmp.resolve("data.bin");
        byte[] bytes = new byte[2000];
        for (int i = 0; i < bytes.length; i++) bytes[i] = (byte) (i * 37);  // not valid UTF-8
        Files.write(f, bytes);
        TextDataset d = TextDataset.load(f, ByteTokenizer.INSTANCE, 0.1);
        assertEquals(256, d.vocabSize());
        assertEquals(1800, d.trainTokens());
        int[] first = d.tokens(0, 4);
        assertArrayEquals(new int[] {0, 37, 74, 111}, first);
        assertEquals(bytes[1999] & 0xFF, d.tokens(1999, 2000)[0]);
    }

    @Test
    void tooLittleTextIsReportedWithSizes() {
        TextDataset d = marked(50);
        var e = assertThrows(IllegalArgumentException.class, () -> d.train(1, 64, 0));
        assertTrue(e.getMessage().contains("45 tokens, fewer than one window of 65"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> d.validation(1, 8, 1));
        assertTrue(e.getMessage().contains("5 tokens"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> TextDataset.of(new int[] {1, 300}, 256, 0.1, "x"));
        assertTrue(e.getMessage().contains("token 300 at position 1"), e.getMessage());
    }
}
