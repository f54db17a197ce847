package org.xlstm.jvm.data;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import org.xlstm.jvm.tokenizer.ByteTokenizer;
import org.xlstm.jvm.tokenizer.Tokenizer;

/**
 * A tokenized text for language modelling, split into a training part and a validation part (the last
 * {@code validationFraction} of the tokens, so the two never share a window). Training batches are windows of S+1
 * tokens at random offsets, inputs the first S and targets the last S (next-token prediction, every position
 * scored); validation batches are consecutive non-overlapping windows from the start of the validation part.
 */
public final class TextDataset {
    public static final double DEFAULT_VALIDATION_FRACTION = 0.1;

    private final int[] tokens;
    private final int trainEnd;
    private final int vocabSize;
    private final String name;

    private TextDataset(int[] tokens, double validationFraction, int vocabSize, String name) {
        if (!(validationFraction >= 0 && validationFraction < 1))
            throw new IllegalArgumentException("validation fraction must be in [0, 1), got " + validationFraction);
        this.tokens = tokens;
        this.trainEnd = tokens.length - (int) Math.ceil(tokens.length * validationFraction);
        this.vocabSize = vocabSize;
        this.name = name;
        for (int i = 0; i < tokens.length; i++)
            if (tokens[i] < 0 || tokens[i] >= vocabSize)
                throw new IllegalArgumentException(name + ": token " + tokens[i] + " at position " + i + " is outside the vocabulary [0, " + vocabSize + ")");
    }

    public static TextDataset of(int[] tokens, int vocabSize, double validationFraction, String name) {
        return new TextDataset(tokens.clone(), validationFraction, vocabSize, name);
    }

    /**
     * Reads and tokenizes a file. With the byte tokenizer the file's raw bytes are the tokens (any encoding, no
     * decoding step); other tokenizers read it as UTF-8.
     */
    public static TextDataset load(Path file, Tokenizer tokenizer, double validationFraction) {
        try {
            int[] ids;
            if (tokenizer instanceof ByteTokenizer) {
                byte[] b = Files.readAllBytes(file);
                ids = new int[b.length];
                for (int i = 0; i < b.length; i++) ids[i] = b[i] & 0xFF;
            } else {
                ids = tokenizer.encode(Files.readString(file, StandardCharsets.UTF_8));
            }
            return new TextDataset(ids, validationFraction, tokenizer.vocabSize(), file.toString());
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read text data " + file + ": " + e.getMessage(), e);
        }
    }

    public int vocabSize() { return vocabSize; }

    public int trainTokens() { return trainEnd; }

    public int validationTokens() { return tokens.length - trainEnd; }

    /** Random windows from the training part; batch i is fixed by (seed, i). */
    public BatchSource train(int batchSize, int seqLen, long seed) {
        int windows = trainEnd - seqLen;  // start offsets 0 .. trainEnd - seqLen - 1 keep S+1 tokens inside
        if (batchSize <= 0 || seqLen <= 0)
            throw new IllegalArgumentException("batch size and sequence length must be positive, got " + batchSize + ", " + seqLen);
        if (windows < 1)
            throw new IllegalArgumentException(name + ": the training part has " + trainEnd + " tokens, fewer than one window of "
                    + (seqLen + 1) + " (context length + 1)");
        return new BatchSource() {
            @Override
            public Batch batch(long index) {
                SplittableRandom rng = new SplittableRandom(Seeds.derive(seed, index));
                int[] in = new int[batchSize * seqLen];
                int[] out = new int[batchSize * seqLen];
                for (int b = 0; b < batchSize; b++) {
                    int start = rng.nextInt(windows);
                    System.arraycopy(tokens, start, in, b * seqLen, seqLen);
                    System.arraycopy(tokens, start + 1, out, b * seqLen, seqLen);
                }
                return new Batch(in, out, batchSize, seqLen);
            }

            @Override public int batchSize() { return batchSize; }
            @Override public int seqLen() { return seqLen; }
            @Override public int vocabSize() { return vocabSize; }

            @Override
            public String describe() {
                return "text(" + name + ", train tokens=" + trainEnd + ", batch=" + batchSize + ", length=" + seqLen + ", seed=" + seed + ")";
            }
        };
    }

    /**
     * Consecutive windows of the validation part, at most {@code maxBatches} batches (all whole windows if fewer);
     * a last, partly filled batch is dropped so that every batch has B rows.
     */
    public List<Batch> validation(int batchSize, int seqLen, int maxBatches) {
        int available = (tokens.length - trainEnd - 1) / seqLen;
        int batches = Math.min(maxBatches, available / batchSize);
        if (batches < 1)
            throw new IllegalArgumentException(name + ": the validation part has " + (tokens.length - trainEnd)
                    + " tokens, fewer than one batch of " + batchSize + " windows of " + (seqLen + 1));
        List<Batch> out = new ArrayList<>(batches);
        int pos = trainEnd;
        for (int i = 0; i < batches; i++) {
            int[] in = new int[batchSize * seqLen];
            int[] tg = new int[batchSize * seqLen];
            for (int b = 0; b < batchSize; b++, pos += seqLen) {
                System.arraycopy(tokens, pos, in, b * seqLen, seqLen);
                System.arraycopy(tokens, pos + 1, tg, b * seqLen, seqLen);
            }
            out.add(new Batch(in, tg, batchSize, seqLen));
        }
        return out;
    }

    /** A copy of the tokens in [from, to), e.g. a prompt. */
    public int[] tokens(int from, int to) { return Arrays.copyOfRange(tokens, from, to); }

    @Override
    public String toString() { return "TextDataset(" + name + ", " + tokens.length + " tokens)"; }
}
