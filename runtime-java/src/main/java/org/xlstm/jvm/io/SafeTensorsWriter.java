package org.xlstm.jvm.io;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.Map;

/**
 * Writes a safetensors file atomically: the bytes go to a temporary file beside the target, are forced to disk,
 * then renamed over the target, so a crash mid-write leaves the previous file whole.
 */
public final class SafeTensorsWriter {
    private static final ObjectMapper JSON = new ObjectMapper();

    private SafeTensorsWriter() {}

    public static void write(Path file, Map<String, TensorData> tensors, Map<String, String> metadata) {
        write(file, tensors, metadata, () -> {});
    }

    /** As {@link #write(Path, Map, Map)}; {@code beforeRename} runs after the bytes are on disk (tests simulate crashes). */
    static void write(Path file, Map<String, TensorData> tensors, Map<String, String> metadata, Runnable beforeRename) {
        ObjectNode header = JSON.createObjectNode();
        if (metadata != null && !metadata.isEmpty()) {
            ObjectNode m = header.putObject("__metadata__");
            metadata.forEach(m::put);
        }
        long offset = 0;
        for (var e : tensors.entrySet()) {
            TensorData t = e.getValue();
            ObjectNode n = header.putObject(e.getKey());
            n.put("dtype", t.dtype().name());
            var shape = n.putArray("shape");
            for (long d : t.shape()) shape.add(d);
            var offs = n.putArray("data_offsets");
            offs.add(offset);
            offset += t.data().remaining();
            offs.add(offset);
        }
        byte[] h = header.toString().getBytes(StandardCharsets.UTF_8);
        // Pad the header with spaces to a multiple of 8 so the data section is aligned, as the reference writer does.
        int padded = (h.length + 7) / 8 * 8;
        ByteBuffer head = ByteBuffer.allocate(8 + padded).order(ByteOrder.LITTLE_ENDIAN);
        head.putLong(padded).put(h);
        while (head.hasRemaining()) head.put((byte) ' ');
        head.flip();
        Path dir = file.toAbsolutePath().getParent();
        try {
            Files.createDirectories(dir);
            Path tmp = Files.createTempFile(dir, "." + file.getFileName(), ".tmp");
            try {
                try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING)) {
                    while (head.hasRemaining()) ch.write(head);
                    for (TensorData t : tensors.values()) {
                        ByteBuffer b = t.data().duplicate();
                        while (b.hasRemaining()) ch.write(b);
                    }
                    ch.force(true);
                }
                beforeRename.run();
                try {
                    Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
                } catch (AtomicMoveNotSupportedException e) {
                    Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING);
                }
            } finally {
                Files.deleteIfExists(tmp);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + file + ": " + e.getMessage(), e);
        }
    }
}
