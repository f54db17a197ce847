package org.xlstm.jvm.model;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.function.Supplier;
import org.xlstm.jvm.backend.Ops;
import org.xlstm.jvm.config.ModelConfig;
import org.xlstm.jvm.config.OfficialConfigs;
import org.xlstm.jvm.io.SafeTensors;
import org.xlstm.jvm.nn.Init;
import org.xlstm.jvm.nn.ParamSource;
import org.xlstm.jvm.tensor.Tensor;

/**
 * One set of weights, any number of model instances. A {@link LanguageModel} is single-caller (it owns a
 * workspace); to serve many threads, each thread gets its own instance, and all instances read the same parameter
 * tensors. The first instance is built from the real source (checkpoint or initialiser) while the tensors it asks
 * for are recorded; later instances replay them, so they cost no I/O and no weight memory.
 *
 * <p>Parameters are immutable once loaded: backends may cache derived forms of them (packed matrices, device
 * copies) in {@link Tensor#backendCache()}. float32 checkpoint tensors are not copied at all: they are read-only
 * views of the memory-mapped file, which stays open until {@link #close()}; other dtypes (bf16, f16) are converted.
 */
public final class SharedWeights implements AutoCloseable {
    private final ModelConfig config;
    private final Ops ops;
    private final int chunkSize;
    private final Arena arena = Arena.ofShared();
    private final Map<String, Tensor> recorded = new HashMap<>();
    private final SafeTensors mapped;
    private final LanguageModel first;
    private boolean firstTaken;

    private SharedWeights(ModelConfig config, Ops ops, int chunkSize, SafeTensors mapped,
                          java.util.function.Function<Arena, ParamSource> source, Runnable finish) {
        this.config = config;
        this.ops = ops;
        this.chunkSize = chunkSize;
        this.mapped = mapped;
        try {
            ParamSource recording = recording(source.apply(arena));
            first = Models.build(config, recording, ops, borrowed(arena), chunkSize);
            finish.run();
        } catch (RuntimeException e) {
            close();
            throw e;
        }
    }

    /** A checkpoint directory: config.json and model.safetensors (or a sharded index). */
    public static SharedWeights open(Path dir, Ops ops) {
        return load(OfficialConfigs.loadDirectory(dir), dir, ops, 0);
    }

    /** {@code config} with the weights of {@code weights} (a .safetensors file or a checkpoint directory). */
    public static SharedWeights load(ModelConfig config, Path weights, Ops ops, int chunkSize) {
        if (!Files.exists(weights)) throw new IllegalArgumentException("weights not found: " + weights);
        SafeTensors st = SafeTensors.open(weights);
        try {
            CheckpointParams[] params = new CheckpointParams[1];
            return new SharedWeights(config, ops, chunkSize, st, a -> params[0] = new CheckpointParams(st, a, weights.toString(), true),
                    () -> params[0].finish());
        } catch (RuntimeException e) {
            st.close();
            throw e;
        }
    }

    /** Freshly initialised by the official rules, seeded. */
    public static SharedWeights initialized(ModelConfig config, long seed, Ops ops) {
        return new SharedWeights(config, ops, 0, null, a -> new InitParams(a, seed), () -> {});
    }

    public ModelConfig config() { return config; }

    public Ops ops() { return ops; }

    /** A model instance over these weights; single-caller, close it (or give it back to a pool) when done. */
    public synchronized LanguageModel newInstance() {
        if (!firstTaken) {
            firstTaken = true;
            return first;
        }
        ParamSource replay = new ParamSource() {
            @Override
            public Tensor get(String name, Init init, int... shape) {
                Tensor t = recorded.get(name);
                if (t == null) throw new IllegalStateException("parameter " + name + " was not loaded by the first instance");
                return t;
            }

            @Override
            public void allow(String name) {}

            @Override
            public Arena arena() { return borrowed(arena); }
        };
        return Models.build(config, replay, ops, borrowed(arena), chunkSize);
    }

    private ParamSource recording(ParamSource inner) {
        return new ParamSource() {
            @Override
            public Tensor get(String name, Init init, int... shape) {
                Tensor t = inner.get(name, init, shape);
                recorded.put(name, t);
                return t;
            }

            @Override
            public void allow(String name) { inner.allow(name); }

            @Override
            public Arena arena() { return borrowed(arena); }
        };
    }

    /** The weights' arena as seen by instances: allocation goes through, closing is the owner's business. */
    private static Arena borrowed(Arena owner) {
        return new Arena() {
            @Override
            public MemorySegment allocate(long byteSize, long byteAlignment) { return owner.allocate(byteSize, byteAlignment); }

            @Override
            public MemorySegment.Scope scope() { return owner.scope(); }

            @Override
            public void close() {}
        };
    }

    @Override
    public synchronized void close() {
        try {
            if (arena.scope().isAlive()) arena.close();
        } finally {
            if (mapped != null) mapped.close();
        }
    }

    /** A loaded parameter by official name (for inspection and tests), or null. */
    public Tensor parameter(String name) { return recorded.get(name); }

    /** How many parameter tensors the instances share. */
    public int parameterCount() { return recorded.size(); }

}
