package org.xlstm.jvm.io;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Reads safetensors files by memory-mapping them: tensors are views of the mapping, never copied unless converted.
 * Opens a single file, or a checkpoint directory holding {@code model.safetensors}, a sharded checkpoint
 * ({@code model.safetensors.index.json} naming the shard of each tensor), or unindexed shards
 * ({@code model_0.safetensors, model_1.safetensors, ...}, as the official xLSTM-7B code saves them). Every header is bounds-checked: the header
 * length, each tensor's byte range against the file and against its dtype × shape.
 *
 * <p>Thread-safe for reading once opened; {@link #close()} unmaps every shard (views must not be used after).
 */
public final class SafeTensors implements AutoCloseable {
    private static final ObjectMapper JSON = new ObjectMapper();
    /** Headers beyond this are certainly corrupt (the format's own readers cap at 100 MB). */
    private static final long MAX_HEADER = 100L << 20;
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfDouble F64 = ValueLayout.JAVA_DOUBLE_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfLong I64 = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfInt I32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfShort I16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private final Arena arena;
    private final Map<String, TensorInfo> infos;
    private final Map<Path, MemorySegment> mappings;
    private final Map<String, String> metadata;

    private SafeTensors(Arena arena, Map<String, TensorInfo> infos, Map<Path, MemorySegment> mappings,
                        Map<String, String> metadata) {
        this.arena = arena;
        this.infos = infos;
        this.mappings = mappings;
        this.metadata = metadata;
    }

    /** Opens a .safetensors file, or a directory with model.safetensors or model.safetensors.index.json. */
    public static SafeTensors open(Path fileOrDir) {
        if (Files.isDirectory(fileOrDir)) {
            Path index = fileOrDir.resolve("model.safetensors.index.json");
            Path single = fileOrDir.resolve("model.safetensors");
            if (Files.isRegularFile(index)) return openSharded(index);
            if (Files.isRegularFile(single)) return openFiles(List.of(single), null);
            // The official xLSTM-7B saver also writes shards without an index: model_0.safetensors, model_1...
            List<Path> shards;
            try (var s = Files.list(fileOrDir)) {
                shards = s.filter(p -> p.getFileName().toString().matches("model[-_].*\\.safetensors")).sorted().toList();
            } catch (IOException e) {
                throw new SafeTensorsException(fileOrDir + ": cannot list: " + e.getMessage(), e);
            }
            if (!shards.isEmpty()) return openFiles(shards, null);
            throw new SafeTensorsException(fileOrDir + ": no model.safetensors, model.safetensors.index.json or "
                    + "model_*.safetensors shards in this directory");
        }
        if (!Files.isRegularFile(fileOrDir)) throw new SafeTensorsException(fileOrDir + ": no such file");
        if (fileOrDir.getFileName().toString().endsWith(".index.json")) return openSharded(fileOrDir);
        return openFiles(List.of(fileOrDir), null);
    }

    private static SafeTensors openSharded(Path index) {
        JsonNode root;
        try {
            root = JSON.readTree(index.toFile());
        } catch (IOException e) {
            throw new SafeTensorsException(index + ": unreadable index: " + e.getMessage(), e);
        }
        JsonNode map = root.get("weight_map");
        if (map == null || !map.isObject()) throw new SafeTensorsException(index + ": no \"weight_map\" object");
        Map<String, Path> shardOf = new LinkedHashMap<>();
        List<Path> shards = new ArrayList<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = map.fields(); it.hasNext(); ) {
            var e = it.next();
            Path shard = index.resolveSibling(e.getValue().asText());
            shardOf.put(e.getKey(), shard);
            if (!shards.contains(shard)) shards.add(shard);
        }
        return openFiles(shards, shardOf);
    }

    private static SafeTensors openFiles(List<Path> files, Map<String, Path> expectedShard) {
        Arena arena = Arena.ofShared();
        try {
            Map<String, TensorInfo> infos = new LinkedHashMap<>();
            Map<Path, MemorySegment> mappings = new HashMap<>();
            Map<String, String> metadata = new LinkedHashMap<>();
            for (Path f : files) {
                if (!Files.isRegularFile(f)) throw new SafeTensorsException(f + ": shard named in the index is missing");
                MemorySegment seg;
                try (FileChannel ch = FileChannel.open(f, StandardOpenOption.READ)) {
                    seg = ch.map(FileChannel.MapMode.READ_ONLY, 0, ch.size(), arena);
                }
                mappings.put(f, seg);
                parseHeader(f, seg, infos, metadata);
            }
            if (expectedShard != null) {
                for (var e : expectedShard.entrySet()) {
                    TensorInfo info = infos.get(e.getKey());
                    if (info == null)
                        throw new SafeTensorsException("index names tensor '" + e.getKey() + "' in " + e.getValue()
                                + " but that shard does not hold it");
                    if (!info.file().equals(e.getValue()))
                        throw new SafeTensorsException("tensor '" + e.getKey() + "' is in " + info.file()
                                + " but the index says " + e.getValue());
                }
            }
            return new SafeTensors(arena, Collections.unmodifiableMap(infos), mappings, Collections.unmodifiableMap(metadata));
        } catch (IOException e) {
            arena.close();
            throw new SafeTensorsException("cannot map " + files + ": " + e.getMessage(), e);
        } catch (RuntimeException e) {
            arena.close();
            throw e;
        }
    }

    private static void parseHeader(Path f, MemorySegment seg, Map<String, TensorInfo> infos, Map<String, String> metadata) {
        long size = seg.byteSize();
        if (size < 8) throw new SafeTensorsException(f + ": " + size + " bytes is too short for a safetensors file");
        long n = seg.get(I64, 0);
        if (n < 2 || n > MAX_HEADER || n > size - 8)
            throw new SafeTensorsException(f + ": header length " + n + " does not fit the file (" + size + " bytes)");
        byte[] header = seg.asSlice(8, n).toArray(ValueLayout.JAVA_BYTE);
        JsonNode root;
        try {
            root = JSON.readTree(new String(header, StandardCharsets.UTF_8));
        } catch (JsonProcessingException e) {
            throw new SafeTensorsException(f + ": header is not valid JSON: " + e.getOriginalMessage(), e);
        }
        if (root == null || !root.isObject()) throw new SafeTensorsException(f + ": header is not a JSON object");
        long dataStart = 8 + n;
        long dataLen = size - dataStart;
        for (Iterator<Map.Entry<String, JsonNode>> it = root.fields(); it.hasNext(); ) {
            var e = it.next();
            String name = e.getKey();
            JsonNode t = e.getValue();
            if (name.equals("__metadata__")) {
                t.fields().forEachRemaining(m -> metadata.put(m.getKey(), m.getValue().asText()));
                continue;
            }
            if (infos.containsKey(name))
                throw new SafeTensorsException(f + ": tensor '" + name + "' appears twice (also in " + infos.get(name).file() + ")");
            JsonNode dt = t.get("dtype"), sh = t.get("shape"), off = t.get("data_offsets");
            if (dt == null || sh == null || off == null || !sh.isArray() || !off.isArray() || off.size() != 2)
                throw new SafeTensorsException(f + ": tensor '" + name + "' lacks dtype, shape or data_offsets [begin, end]");
            DType dtype = DType.parse(dt.asText(), name, f);
            long[] shape = new long[sh.size()];
            long numel = 1;
            for (int i = 0; i < shape.length; i++) {
                shape[i] = sh.get(i).asLong(-1);
                if (shape[i] < 0 || !sh.get(i).canConvertToLong())
                    throw new SafeTensorsException(f + ": tensor '" + name + "' has a bad shape " + sh);
                numel = Math.multiplyExact(numel, shape[i]);
            }
            long begin = off.get(0).asLong(-1), end = off.get(1).asLong(-1);
            if (begin < 0 || end < begin || end > dataLen)
                throw new SafeTensorsException(f + ": tensor '" + name + "' byte range [" + begin + ", " + end
                        + ") lies outside the data section of " + dataLen + " bytes (file truncated?)");
            if (end - begin != numel * dtype.bytes())
                throw new SafeTensorsException(f + ": tensor '" + name + "' holds " + (end - begin) + " bytes but "
                        + dtype + java.util.Arrays.toString(shape) + " needs " + numel * dtype.bytes());
            infos.put(name, new TensorInfo(name, dtype, shape, f, dataStart + begin, end - begin));
        }
    }

    /** Tensor names in header order (shards in index order). */
    public Set<String> names() { return infos.keySet(); }

    public boolean contains(String name) { return infos.containsKey(name); }

    public Map<String, TensorInfo> infos() { return infos; }

    /** The tensor's description; an error naming the tensor (and close names) if absent. */
    public TensorInfo info(String name) {
        TensorInfo i = infos.get(name);
        if (i == null) {
            String hint = infos.keySet().stream().filter(k -> k.endsWith(tail(name)) || name.endsWith(tail(k)))
                    .limit(3).reduce((a, b) -> a + ", " + b).map(s -> " (similar: " + s + ")").orElse("");
            throw new SafeTensorsException("tensor '" + name + "' is not in the checkpoint" + hint);
        }
        return i;
    }

    private static String tail(String name) {
        int dot = name.lastIndexOf('.', name.lastIndexOf('.') - 1);
        return dot < 0 ? name : name.substring(dot);
    }

    /** Raw little-endian bytes of the tensor: a read-only view of the mapping. */
    public MemorySegment segment(String name) {
        TensorInfo i = info(name);
        return mappings.get(i.file()).asSlice(i.byteOffset(), i.byteLength()).asReadOnly();
    }

    /** The tensor as float32 (converted from F64/F16/BF16; integers are rejected). */
    public float[] floats(String name) {
        TensorInfo i = info(name);
        MemorySegment s = segment(name);
        int n = checkedCount(i);
        float[] out = new float[n];
        switch (i.dtype()) {
            case F32 -> MemorySegment.copy(s, F32, 0, out, 0, n);
            case F64 -> { for (int k = 0; k < n; k++) out[k] = (float) s.getAtIndex(F64, k); }
            case F16 -> { for (int k = 0; k < n; k++) out[k] = Float.float16ToFloat(s.getAtIndex(I16, k)); }
            case BF16 -> { for (int k = 0; k < n; k++) out[k] = Bf16.toFloat(s.getAtIndex(I16, k)); }
            default -> throw new SafeTensorsException("tensor '" + name + "' is " + i.dtype() + ", not a floating type");
        }
        return out;
    }

    /** The tensor as float64 (from any floating dtype). */
    public double[] doubles(String name) {
        TensorInfo i = info(name);
        if (i.dtype() != DType.F64) {
            float[] f = floats(name);
            double[] d = new double[f.length];
            for (int k = 0; k < f.length; k++) d[k] = f[k];
            return d;
        }
        int n = checkedCount(i);
        double[] out = new double[n];
        MemorySegment.copy(segment(name), F64, 0, out, 0, n);
        return out;
    }

    /** The tensor as int64 (from I64/I32/I16/I8/U8). */
    public long[] longs(String name) {
        TensorInfo i = info(name);
        MemorySegment s = segment(name);
        int n = checkedCount(i);
        long[] out = new long[n];
        switch (i.dtype()) {
            case I64 -> MemorySegment.copy(s, I64, 0, out, 0, n);
            case I32 -> { for (int k = 0; k < n; k++) out[k] = s.getAtIndex(I32, k); }
            case I16 -> { for (int k = 0; k < n; k++) out[k] = s.getAtIndex(I16, k); }
            case I8 -> { for (int k = 0; k < n; k++) out[k] = s.get(ValueLayout.JAVA_BYTE, k); }
            case U8 -> { for (int k = 0; k < n; k++) out[k] = s.get(ValueLayout.JAVA_BYTE, k) & 0xFF; }
            default -> throw new SafeTensorsException("tensor '" + name + "' is " + i.dtype() + ", not an integer type");
        }
        return out;
    }

    private static int checkedCount(TensorInfo i) {
        if (i.numel() > Integer.MAX_VALUE - 8)
            throw new SafeTensorsException("tensor '" + i.name() + "' has " + i.numel()
                    + " elements, too many for a Java array; use segment()");
        return (int) i.numel();
    }

    public Map<String, String> metadata() { return metadata; }

    @Override
    public void close() { arena.close(); }
}
