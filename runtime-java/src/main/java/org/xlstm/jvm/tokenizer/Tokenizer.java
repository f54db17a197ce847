package org.xlstm.jvm.tokenizer;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;

/** Text ↔ token ids. Implementations are immutable and safe to share between threads. */
public interface Tokenizer {
    /** Encodes without adding special tokens (special tokens written in the text are recognised). */
    int[] encode(String text);

    /** Decodes ids; special tokens are kept as their text. Invalid UTF-8 becomes U+FFFD, as in Hugging Face. */
    String decode(int[] ids);

    /** Number of ids this tokenizer can produce (highest id + 1). */
    int vocabSize();

    /** The id of a special token such as "<|endoftext|>", if this tokenizer has it. */
    Optional<Integer> specialTokenId(String content);

    /**
     * The tokenizer a checkpoint directory carries: {@code tokenizer.json} (Hugging Face), else empty.
     */
    static Optional<Tokenizer> fromCheckpointDir(Path dir) {
        Path json = dir.resolve("tokenizer.json");
        if (!Files.isRegularFile(json)) return Optional.empty();
        try {
            return Optional.of(BpeTokenizer.fromHuggingFaceJson(json));
        } catch (IOException e) {
            throw new UncheckedIOException(json + ": " + e.getMessage(), e);
        }
    }
}
