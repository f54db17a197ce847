package org.xlstm.jvm.tokenizer;

import java.nio.charset.StandardCharsets;
import java.util.Optional;

/** The byte-level tokenizer: one id per UTF-8 byte (0–255). Used by the synthetic tasks and text-file training. */
public final class ByteTokenizer implements Tokenizer {
    public static final ByteTokenizer INSTANCE = new ByteTokenizer();

    private ByteTokenizer() {}

    @Override
    public int[] encode(String text) {
        byte[] b = text.getBytes(StandardCharsets.UTF_8);
        int[] ids = new int[b.length];
        for (int i = 0; i < b.length; i++) ids[i] = b[i] & 0xFF;
        return ids;
    }

    @Override
    public String decode(int[] ids) {
        byte[] b = new byte[ids.length];
        for (int i = 0; i < ids.length; i++) {
            if (ids[i] < 0 || ids[i] > 255)
                throw new IllegalArgumentException("byte tokenizer: id " + ids[i] + " at position " + i + " is not a byte (0-255)");
            b[i] = (byte) ids[i];
        }
        return new String(b, StandardCharsets.UTF_8);
    }

    @Override
    public int vocabSize() { return 256; }

    @Override
    public Optional<Integer> specialTokenId(String content) { return Optional.empty(); }
}
