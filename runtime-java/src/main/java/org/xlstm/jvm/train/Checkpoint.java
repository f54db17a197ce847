package org.xlstm.jvm.train;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Consumer;
import java.util.stream.Stream;
import org.xlstm.jvm.config.ModelConfig;
import org.xlstm.jvm.config.OfficialConfigs;
import org.xlstm.jvm.io.DType;
import org.xlstm.jvm.io.SafeTensors;
import org.xlstm.jvm.io.SafeTensorsWriter;
import org.xlstm.jvm.io.TensorData;

/**
 * A training checkpoint directory:
 * <ul>
 *   <li>{@code config.json} — the model in the official layout ({@link OfficialConfigs#toJson}), when there is one;</li>
 *   <li>{@code recipe.xlstm.kts} — the recipe source, when the run came from a recipe;</li>
 *   <li>{@code model.safetensors} — parameters under their official names (F32), a tied head under its alias too,
 *       as the official state_dict lists it;</li>
 *   <li>{@code optimizer.safetensors} — AdamW moments {@code exp_avg.<name>}, {@code exp_avg_sq.<name>};</li>
 *   <li>{@code trainer.json} — step, data position, seeds, schedule, settings (what the trainer needs to resume).</li>
 * </ul>
 * Written atomically: everything goes into a fresh directory beside the target and is forced to disk, the previous
 * checkpoint is renamed to {@code <name>.old}, the new one renamed into place, then the old one deleted. A crash at
 * any point leaves a whole checkpoint: the new one, or the previous one (under its name or, between the two renames,
 * as {@code .old}, which {@link #open} falls back to and puts back).
 */
public final class Checkpoint {
    public static final String CONFIG = "config.json";
    public static final String RECIPE = "recipe.xlstm.kts";
    public static final String MODEL = "model.safetensors";
    public static final String OPTIMIZER = "optimizer.safetensors";
    public static final String TRAINER = "trainer.json";
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final ValueLayout.OfFloat LE_F32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    /** Points of a write where tests simulate a crash. */
    enum Stage { FILES_WRITTEN, PREVIOUS_MOVED_ASIDE, NEW_IN_PLACE }

    private Checkpoint() {}

    /**
     * What to save.
     *
     * @param config     the model's configuration, or null (a model without one, e.g. in tests)
     * @param recipe     the recipe source, or null
     * @param parameters every parameter once
     * @param aliases    extra state-dict names → the parameter they share (a tied {@code lm_head.weight})
     * @param optimizer  the optimizer whose moments to save, or null
     * @param trainer    the trainer's state, written as trainer.json
     * @param extraFiles further text files by name (the trainer keeps a copy of metrics.jsonl)
     */
    public record Snapshot(ModelConfig config, String recipe, List<Parameter> parameters, Map<String, String> aliases,
                           AdamW optimizer, JsonNode trainer, Map<String, String> extraFiles) {
        public Snapshot(ModelConfig config, String recipe, List<Parameter> parameters, Map<String, String> aliases,
                        AdamW optimizer, JsonNode trainer) {
            this(config, recipe, parameters, aliases, optimizer, trainer, Map.of());
        }
    }

    public static void write(Path dir, Snapshot snapshot) {
        write(dir, snapshot, stage -> {});
    }

    /** As {@link #write(Path, Snapshot)}; {@code hook} runs at each stage (tests throw from it to simulate a crash). */
    static void write(Path dir, Snapshot snapshot, Consumer<Stage> hook) {
        Path target = dir.toAbsolutePath().normalize();
        Path parent = target.getParent();
        String name = target.getFileName().toString();
        Path old = parent.resolve(name + ".old");
        Path tmp = null;
        try {
            Files.createDirectories(parent);
            removeStaleTemporaries(parent, name);
            tmp = Files.createTempDirectory(parent, "." + name + ".tmp-");
            writeFiles(tmp, snapshot);
            fsync(tmp);
        } catch (IOException | RuntimeException e) {
            if (tmp != null) deleteQuietly(tmp);
            throw e instanceof IOException io ? new UncheckedIOException("cannot write checkpoint " + target + ": " + io.getMessage(), io)
                    : (RuntimeException) e;
        }
        hook.accept(Stage.FILES_WRITTEN);
        try {
            if (Files.exists(target)) {
                if (Files.exists(old)) deleteRecursively(old);  // the target is whole, so a left-over .old is stale
                move(target, old);
                fsync(parent);
            }
            hook.accept(Stage.PREVIOUS_MOVED_ASIDE);
            move(tmp, target);
            fsync(parent);
            hook.accept(Stage.NEW_IN_PLACE);
            if (Files.exists(old)) deleteRecursively(old);
        } catch (IOException e) {
            // A failure (not a crash): put the previous checkpoint back if it is not in place.
            try {
                if (!Files.exists(target) && Files.exists(old)) move(old, target);
            } catch (IOException ignored) {
                // open() still finds it as .old
            }
            deleteQuietly(tmp);
            throw new UncheckedIOException("cannot write checkpoint " + target + ": " + e.getMessage(), e);
        }
    }

    private static void writeFiles(Path tmp, Snapshot s) throws IOException {
        if (s.config() != null) writeText(tmp.resolve(CONFIG), OfficialConfigs.toJson(s.config()));
        if (s.recipe() != null) writeText(tmp.resolve(RECIPE), s.recipe());
        Map<String, TensorData> model = new LinkedHashMap<>();
        Map<String, Parameter> byName = new LinkedHashMap<>();
        for (Parameter p : s.parameters()) {
            if (byName.put(p.name(), p) != null) throw new IllegalArgumentException("parameter " + p.name() + " listed twice");
            model.put(p.name(), tensor(p.shape(), MemorySegment.ofArray(p.valueArray())));
        }
        for (var e : s.aliases().entrySet()) {
            Parameter p = byName.get(e.getValue());
            if (p == null) throw new IllegalArgumentException("alias " + e.getKey() + " names no parameter: " + e.getValue());
            model.put(e.getKey(), model.get(p.name()));
        }
        SafeTensorsWriter.write(tmp.resolve(MODEL), model, Map.of("format", "pt"));
        if (s.optimizer() != null) {
            Map<String, TensorData> opt = new LinkedHashMap<>();
            Map<String, float[]> m = s.optimizer().expAvg(), v = s.optimizer().expAvgSq();
            for (Parameter p : s.optimizer().parameters()) {
                opt.put("exp_avg." + p.name(), tensor(p.shape(), MemorySegment.ofArray(m.get(p.name()))));
                opt.put("exp_avg_sq." + p.name(), tensor(p.shape(), MemorySegment.ofArray(v.get(p.name()))));
            }
            SafeTensorsWriter.write(tmp.resolve(OPTIMIZER), opt, Map.of("step", Long.toString(s.optimizer().steps())));
        }
        for (var e : s.extraFiles().entrySet()) {
            String n = e.getKey();
            if (n.contains("/") || n.contains("\\") || n.startsWith(".") || List.of(CONFIG, RECIPE, MODEL, OPTIMIZER, TRAINER).contains(n))
                throw new IllegalArgumentException("extra checkpoint file name " + n + " is not a plain new file name");
            writeText(tmp.resolve(n), e.getValue());
        }
        writeText(tmp.resolve(TRAINER), JSON.writerWithDefaultPrettyPrinter().writeValueAsString(s.trainer()) + "\n");
    }

    private static TensorData tensor(int[] shape, MemorySegment floats) {
        long n = floats.byteSize() / 4;
        ByteBuffer b = ByteBuffer.allocate(Math.toIntExact(n * 4)).order(ByteOrder.LITTLE_ENDIAN);
        MemorySegment.copy(floats, Parameter.F32, 0, MemorySegment.ofBuffer(b), LE_F32, 0, n);
        long[] dims = new long[shape.length];
        for (int i = 0; i < shape.length; i++) dims[i] = shape[i];
        return new TensorData(DType.F32, dims, b);
    }

    // ------------------------------------------------------------------ reading

    /** A checkpoint found on disk. Close it to unmap its tensors. */
    public static final class Loaded implements AutoCloseable {
        private final Path dir;
        private final SafeTensors model;
        private final SafeTensors optimizer;
        private final JsonNode trainer;

        private Loaded(Path dir, SafeTensors model, SafeTensors optimizer, JsonNode trainer) {
            this.dir = dir;
            this.model = model;
            this.optimizer = optimizer;
            this.trainer = trainer;
        }

        public Path dir() { return dir; }

        public JsonNode trainer() { return trainer; }

        public SafeTensors model() { return model; }

        public Optional<String> configJson() { return readIfPresent(dir.resolve(CONFIG)); }

        public Optional<String> recipe() { return readIfPresent(dir.resolve(RECIPE)); }

        /** A further text file written through {@link Snapshot#extraFiles()}. */
        public Optional<String> text(String name) { return readIfPresent(dir.resolve(name)); }

        /**
         * Copies the saved values into {@code parameters}. Every parameter must be there with its shape; the only
         * other tensors allowed are the {@code aliases} (a tied head).
         */
        public void loadParameters(List<Parameter> parameters, Map<String, String> aliases) {
            List<String> problems = new ArrayList<>();
            for (Parameter p : parameters) {
                if (!model.contains(p.name())) { problems.add(p.name() + " is missing"); continue; }
                long[] shape = model.info(p.name()).shape();
                if (!sameShape(shape, p.shape()))
                    problems.add(p.name() + " has shape " + java.util.Arrays.toString(shape) + ", the model " + java.util.Arrays.toString(p.shape()));
            }
            for (String n : model.names())
                if (parameters.stream().noneMatch(p -> p.name().equals(n)) && !aliases.containsKey(n))
                    problems.add(n + " is not a parameter of this model");
            if (!problems.isEmpty())
                throw new IllegalArgumentException(dir.resolve(MODEL) + " does not fit the model: " + String.join("; ", problems));
            for (Parameter p : parameters) p.setValue(model.floats(p.name()));
        }

        /** Restores the optimizer's moments and update count. */
        public void restoreOptimizer(AdamW opt) {
            if (optimizer == null) throw new IllegalArgumentException(dir + " has no " + OPTIMIZER + " to resume the optimizer from");
            Map<String, float[]> m = new LinkedHashMap<>(), v = new LinkedHashMap<>();
            for (String n : optimizer.names()) {
                if (n.startsWith("exp_avg_sq.")) v.put(n.substring("exp_avg_sq.".length()), optimizer.floats(n));
                else if (n.startsWith("exp_avg.")) m.put(n.substring("exp_avg.".length()), optimizer.floats(n));
                else throw new IllegalArgumentException(dir.resolve(OPTIMIZER) + ": unexpected tensor " + n);
            }
            String step = optimizer.metadata().get("step");
            if (step == null) throw new IllegalArgumentException(dir.resolve(OPTIMIZER) + " has no \"step\" in its metadata");
            try {
                opt.restore(Long.parseLong(step), m, v);
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException(dir.resolve(OPTIMIZER) + ": " + e.getMessage(), e);
            }
        }

        @Override
        public void close() {
            model.close();
            if (optimizer != null) optimizer.close();
        }
    }

    /**
     * Opens the checkpoint at {@code dir}, finishing an interrupted write first: if {@code dir} is absent but
     * {@code dir.old} exists (a crash between the two renames), the old one is moved back and used; a left-over
     * {@code .old} beside a whole {@code dir} is deleted.
     */
    public static Loaded open(Path dir) {
        Path target = dir.toAbsolutePath().normalize();
        Path old = target.resolveSibling(target.getFileName() + ".old");
        try {
            if (!Files.exists(target) && Files.isDirectory(old)) move(old, target);
            else if (Files.isDirectory(target) && Files.exists(old)) deleteRecursively(old);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot recover checkpoint " + target + " from " + old + ": " + e.getMessage(), e);
        }
        if (!Files.isDirectory(target)) throw new IllegalArgumentException("no checkpoint at " + target);
        for (String f : List.of(MODEL, TRAINER))
            if (!Files.isRegularFile(target.resolve(f)))
                throw new IllegalArgumentException(target + " is not a checkpoint: " + f + " is missing");
        JsonNode trainer;
        try {
            trainer = JSON.readTree(target.resolve(TRAINER).toFile());
        } catch (IOException e) {
            throw new UncheckedIOException(target.resolve(TRAINER) + ": " + e.getMessage(), e);
        }
        SafeTensors model = SafeTensors.open(target.resolve(MODEL));
        SafeTensors opt = Files.isRegularFile(target.resolve(OPTIMIZER)) ? SafeTensors.open(target.resolve(OPTIMIZER)) : null;
        return new Loaded(target, model, opt, trainer);
    }

    /** Whether {@code dir} (or its {@code .old}) holds a checkpoint. */
    public static boolean exists(Path dir) {
        Path target = dir.toAbsolutePath().normalize();
        return Files.isRegularFile(target.resolve(TRAINER))
                || Files.isRegularFile(target.resolveSibling(target.getFileName() + ".old").resolve(TRAINER));
    }

    // ------------------------------------------------------------------ files

    private static boolean sameShape(long[] a, int[] b) {
        if (a.length != b.length) return false;
        for (int i = 0; i < a.length; i++) if (a[i] != b[i]) return false;
        return true;
    }

    private static Optional<String> readIfPresent(Path f) {
        try {
            return Files.isRegularFile(f) ? Optional.of(Files.readString(f, StandardCharsets.UTF_8)) : Optional.empty();
        } catch (IOException e) {
            throw new UncheckedIOException(f + ": " + e.getMessage(), e);
        }
    }

    private static void writeText(Path f, String text) throws IOException {
        try (FileChannel ch = FileChannel.open(f, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
            ByteBuffer b = ByteBuffer.wrap(text.getBytes(StandardCharsets.UTF_8));
            while (b.hasRemaining()) ch.write(b);
            ch.force(true);
        }
    }

    private static void move(Path from, Path to) throws IOException {
        try {
            Files.move(from, to, StandardCopyOption.ATOMIC_MOVE);
        } catch (AtomicMoveNotSupportedException e) {
            Files.move(from, to);
        }
    }

    /** Forces a directory's entries to disk (where the platform allows opening a directory). */
    private static void fsync(Path dir) {
        try (FileChannel ch = FileChannel.open(dir, StandardOpenOption.READ)) {
            ch.force(true);
        } catch (IOException e) {
            // Some platforms cannot open directories; the renames are still atomic there.
        }
    }

    private static void removeStaleTemporaries(Path parent, String name) throws IOException {
        try (DirectoryStream<Path> s = Files.newDirectoryStream(parent, "." + name + ".tmp-*")) {
            for (Path p : s) deleteRecursively(p);
        }
    }

    static void deleteRecursively(Path p) throws IOException {
        if (!Files.exists(p)) return;
        try (Stream<Path> s = Files.walk(p)) {
            for (Path q : s.sorted(Comparator.reverseOrder()).toList()) Files.deleteIfExists(q);
        }
    }

    private static void deleteQuietly(Path p) {
        try {
            deleteRecursively(p);
        } catch (IOException ignored) {
            // best effort: the next write removes stale temporaries
        }
    }
}
