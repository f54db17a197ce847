package org.xlstm.jvm.backend.cuda;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.Supplier;
import org.xlstm.jvm.cuda.CudaGraph;
import org.xlstm.jvm.cuda.DeviceBuffer;
import org.xlstm.jvm.tensor.Tensor;

/**
 * Decode steps replayed from CUDA graphs ({@link CudaOps#repeatedStep}). A step of the xLSTM-7B architecture
 * launches a few hundred small kernels; launched one by one from Java that is ~1 ms of host time per token, as one
 * graph it is a single launch.
 *
 * <p>Per (model instance, state): the first call runs eagerly (kernels load, the workspace and the allocator's
 * cache reach their steady sizes), the second is captured into a graph, every later call copies the new token ids
 * into the graph's device token buffer (which the captured embedding kernel reads) and replays it. Addresses the
 * graph baked in stay valid: the workspace never frees or moves its chunks, the state is held here, and the scratch
 * blocks a step takes from the caching allocator are written before they are read within the step (all work is on
 * one stream, so whoever else uses those blocks between replays is done before the next replay starts).
 *
 * <p>At most {@link #CAPACITY} graphs are kept (least recently used go); {@code -Dxlstm.cudaGraphs=false} turns
 * replay off (to compare).
 */
final class StepGraphs implements AutoCloseable {
    static final int CAPACITY = 16;
    static final boolean ENABLED = !"false".equalsIgnoreCase(System.getProperty("xlstm.cudaGraphs", "true"));

    private final CudaOps ops;
    private final Arena staging = Arena.ofShared();

    /** Identity of (model, state). */
    private record Key(Object model, Object state) {
        @Override
        public boolean equals(Object o) { return o instanceof Key k && k.model == model && k.state == state; }

        @Override
        public int hashCode() { return System.identityHashCode(model) * 31 + System.identityHashCode(state); }
    }

    private static final class Graph {
        int tokens = -1;
        CudaGraph graph;
        DeviceBuffer ids;
        MemorySegment host;
        Tensor output;

        void reset(int n) {
            if (graph != null) graph.close();
            graph = null;
            if (ids != null) ids.close();
            ids = null;
            tokens = n;
        }
    }

    private final Map<Key, Graph> entries = new LinkedHashMap<>(16, 0.75f, true) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<Key, Graph> eldest) {
            if (size() <= CAPACITY) return false;
            eldest.getValue().reset(-1);
            return true;
        }
    };

    /**
     * States that made one eager step (with the model they stepped), held weakly: a state used once and dropped
     * costs nothing here, only a second step of the same pair is captured (and then held until evicted).
     */
    private final java.util.WeakHashMap<Object, java.lang.ref.WeakReference<Object>> seenOnce = new java.util.WeakHashMap<>();

    /** While a step is captured: the device address of the token ids the embedding must read (0 otherwise). */
    private long capturingIds;

    StepGraphs(CudaOps ops) { this.ops = ops; }

    long capturingIds() { return capturingIds; }

    synchronized Tensor run(Object model, Object state, int[] tokens, Supplier<Tensor> step) {
        if (!ENABLED) return step.get();
        Key key = new Key(model, state);
        Graph e = entries.get(key);
        if (e == null) {
            java.lang.ref.WeakReference<Object> seen = seenOnce.get(state);
            if (seen == null || seen.get() != model) {
                seenOnce.put(state, new java.lang.ref.WeakReference<>(model));
                return step.get();   // eager: kernels load, workspace and allocator cache reach their steady sizes
            }
            seenOnce.remove(state);
            e = new Graph();
            e.tokens = tokens.length;
            entries.put(key, e);
        }
        if (e.tokens != tokens.length) {
            e.reset(tokens.length);
            return step.get();
        }
        if (e.ids == null) {
            e.ids = ops.context().allocate(Math.max(1, tokens.length) * (long) Integer.BYTES);
            e.host = staging.allocate(ValueLayout.JAVA_INT, Math.max(1, tokens.length));
        }
        MemorySegment.copy(tokens, 0, e.host, ValueLayout.JAVA_INT, 0, tokens.length);
        ops.context().copyToDevice(e.ids.ptr(), e.host, (long) tokens.length * Integer.BYTES, ops.stream());
        if (e.graph == null) {
            capturingIds = e.ids.ptr();
            Graph g = e;
            try {
                e.graph = ops.stream().capture(() -> g.output = step.get());
            } finally {
                capturingIds = 0;
            }
        }
        e.graph.launch(ops.stream());
        return e.output;
    }

    @Override
    public synchronized void close() {
        for (Graph e : entries.values()) e.reset(-1);
        entries.clear();
        staging.close();
    }
}
