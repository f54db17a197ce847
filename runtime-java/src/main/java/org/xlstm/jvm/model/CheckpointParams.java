package org.xlstm.jvm.model;

import java.lang.foreign.Arena;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.xlstm.jvm.io.DType;
import org.xlstm.jvm.io.SafeTensors;
import org.xlstm.jvm.io.TensorInfo;
import org.xlstm.jvm.nn.Init;
import org.xlstm.jvm.nn.ParamSource;
import org.xlstm.jvm.tensor.Shapes;
import org.xlstm.jvm.tensor.Tensor;

/**
 * Parameters from a safetensors checkpoint under their official names. Loading never stops at the first problem:
 * a missing or mis-shaped tensor is recorded and replaced by zeros so that the whole architecture is walked;
 * {@link #finish()} then adds every tensor of the file that no layer asked for and throws one
 * {@link WeightLoadException} naming each problem with both shapes.
 */
public final class CheckpointParams implements ParamSource {
    private final SafeTensors file;
    private final Arena arena;
    private final String source;
    private final Map<String, int[]> requested = new LinkedHashMap<>();
    private final Set<String> allowed = new HashSet<>();
    private final List<String> problems = new ArrayList<>();
    /**
     * Other names the same tensor goes by in published checkpoints: the Hugging Face port of xLSTM-7B
     * ({@code model_type} "xlstm") calls the embedding {@code backbone.embeddings.weight}; the official
     * {@code xlstm_large} state_dict calls it {@code embedding.weight}. Everything else is named alike.
     */
    private static final Map<String, String> ALIASES = Map.of("embedding.weight", "backbone.embeddings.weight");

    private final boolean zeroCopy;

    public CheckpointParams(SafeTensors file, Arena arena, String source) {
        this(file, arena, source, false);
    }

    /**
     * @param zeroCopy float32 tensors become read-only views of the memory-mapped file instead of copies; the
     *                 caller must keep {@code file} open for as long as the model lives
     */
    public CheckpointParams(SafeTensors file, Arena arena, String source, boolean zeroCopy) {
        this.file = file;
        this.arena = arena;
        this.source = source;
        this.zeroCopy = zeroCopy;
    }

    @Override
    public Arena arena() { return arena; }

    @Override
    public void allow(String name) { allowed.add(name); }

    @Override
    public Tensor get(String name, Init init, int... shape) {
        if (!file.contains(name) && ALIASES.containsKey(name) && file.contains(ALIASES.get(name)))
            name = ALIASES.get(name);
        requested.put(name, shape.clone());
        if (!file.contains(name)) {
            problems.add("missing tensor '" + name + "': expected shape " + Shapes.format(shape));
            return Tensor.allocate(arena, shape);
        }
        TensorInfo info = file.info(name);
        long[] expected = Arrays.stream(shape).asLongStream().toArray();
        if (!Arrays.equals(info.shape(), expected)) {
            problems.add("tensor '" + name + "' has the wrong shape: expected " + Shapes.format(shape) + ", found "
                    + Shapes.format(info.shape()));
            return Tensor.allocate(arena, shape);
        }
        if (!info.dtype().isFloating()) {
            problems.add("tensor '" + name + "' has dtype " + info.dtype() + "; a floating-point type is needed");
            return Tensor.allocate(arena, shape);
        }
        if (zeroCopy && info.dtype() == DType.F32 && ByteOrder.nativeOrder() == ByteOrder.LITTLE_ENDIAN)
            return Tensor.wrap(file.segment(name), shape);
        Tensor t = Tensor.allocate(arena, shape);
        if (info.dtype() == DType.F32 && ByteOrder.nativeOrder() == ByteOrder.LITTLE_ENDIAN)
            java.lang.foreign.MemorySegment.copy(file.segment(name), 0, t.segment(), 0, t.size() * 4);
        else
            t.copyFrom(file.floats(name));
        return t;
    }

    /** The official names and shapes the architecture asked for, in order. */
    public Map<String, int[]> requested() { return requested; }

    /** Throws if any tensor was missing, mis-shaped, or present without being part of the architecture. */
    public void finish() {
        List<String> all = new ArrayList<>(problems);
        for (String name : file.names())
            if (!requested.containsKey(name) && !allowed.contains(name))
                all.add("unexpected tensor '" + name + "' " + Shapes.format(file.info(name).shape())
                        + ": not a parameter of this architecture");
        if (!all.isEmpty()) throw new WeightLoadException(source, all);
    }
}
