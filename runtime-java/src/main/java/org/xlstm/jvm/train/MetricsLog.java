package org.xlstm.jvm.train;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.BufferedWriter;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;

/**
 * {@code metrics.jsonl}: one JSON object per line, appended and flushed as training goes, so that a crashed run keeps
 * its curve and other tools can follow it ({@code tail -f}). Training lines carry
 * {@code {"kind":"train","step","loss","lr","grad_norm","tokens_per_s","elapsed_s",...}}, evaluation lines
 * {@code {"kind":"eval","split","step","loss","accuracy","sequence_accuracy"}}.
 */
public final class MetricsLog implements AutoCloseable {
    private static final ObjectMapper JSON = new ObjectMapper();

    private final Path file;
    private final List<JsonNode> records = new ArrayList<>();
    private BufferedWriter out;

    private MetricsLog(Path file, List<JsonNode> kept) throws IOException {
        this.file = file;
        Files.createDirectories(file.toAbsolutePath().getParent());
        try (BufferedWriter w = Files.newBufferedWriter(file, StandardCharsets.UTF_8)) {
            for (JsonNode r : kept) {
                w.write(JSON.writeValueAsString(r));
                w.newLine();
            }
        }
        records.addAll(kept);
        out = Files.newBufferedWriter(file, StandardCharsets.UTF_8, StandardOpenOption.APPEND);
    }

    /** A new, empty log (an existing file is replaced). */
    public static MetricsLog create(Path file) {
        return open(file, List.of());
    }

    /** A log that starts with {@code kept} (the history up to a resumed step). */
    public static MetricsLog open(Path file, List<JsonNode> kept) {
        try {
            return new MetricsLog(file, kept);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + file + ": " + e.getMessage(), e);
        }
    }

    /** The records of a metrics.jsonl file; a torn last line (a crash mid-write) is dropped. */
    public static List<JsonNode> read(Path file) {
        List<JsonNode> out = new ArrayList<>();
        if (!Files.isRegularFile(file)) return out;
        try {
            List<String> lines = Files.readAllLines(file, StandardCharsets.UTF_8);
            for (int i = 0; i < lines.size(); i++) {
                if (lines.get(i).isBlank()) continue;
                try {
                    out.add(JSON.readTree(lines.get(i)));
                } catch (IOException e) {
                    if (i == lines.size() - 1) break;
                    throw new IllegalArgumentException(file + ":" + (i + 1) + ": not a JSON object: " + e.getMessage(), e);
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + file + ": " + e.getMessage(), e);
        }
        return out;
    }

    /** Records with step ≤ {@code step}: what a run resumed at that step keeps. */
    public static List<JsonNode> upTo(List<JsonNode> records, long step) {
        return records.stream().filter(r -> r.path("step").asLong(Long.MAX_VALUE) <= step).toList();
    }

    public ObjectNode newRecord(String kind, long step) {
        return JSON.createObjectNode().put("kind", kind).put("step", step);
    }

    public void append(ObjectNode record) {
        try {
            out.write(JSON.writeValueAsString(record));
            out.newLine();
            out.flush();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot append to " + file + ": " + e.getMessage(), e);
        }
        records.add(record);
    }

    /** Everything logged, in order (kept history first). */
    public List<JsonNode> records() { return List.copyOf(records); }

    /** The file's text as written so far (for the checkpoint's copy). */
    public String text() {
        StringBuilder b = new StringBuilder();
        try {
            for (JsonNode r : records) b.append(JSON.writeValueAsString(r)).append('\n');
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return b.toString();
    }

    public Path file() { return file; }

    @Override
    public void close() {
        try {
            out.close();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
