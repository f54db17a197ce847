package org.xlstm.jvm.backend.cuda;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.Function;
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

    // ------------------------------------------------------------------ greedy decoding on the device

    /** Tokens a greedy graph records per row between two reads by the host (kernels/src/greedy.cu's ring). */
    static final int RING = 1024;
    /** Blocks per row of the arg-max kernel (each a slice of the vocabulary, one atomicMax). */
    private static final int ARGMAX_BLOCKS = 64;

    /** A greedy loop's graph: embedding of keys' tokens, the step, the arg-max into keys (greedy.cu). */
    static final class Greedy {
        final int rows;
        final DeviceBuffer keys, fed, pos;
        CudaGraph graph;
        Tensor logits;
        /**
         * Set while capturing, by an LM-head kernel that took the arg-max of its output into the keys itself: that
         * output's device address (0: none did, or a kernel came after it; the loop launches its own arg-max).
         */
        long argmaxTaken;

        Greedy(CudaOps ops, int rows) {
            this.rows = rows;
            keys = ops.context().allocate((long) rows * Long.BYTES);
            fed = ops.context().allocate((long) rows * RING * Integer.BYTES);
            pos = ops.context().allocate((long) rows * Integer.BYTES);
        }

        void close() {
            if (graph != null) graph.close();
            keys.close();
            fed.close();
            pos.close();
        }
    }

    private final Map<Key, Greedy> greedyEntries = new LinkedHashMap<>(16, 0.75f, true) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<Key, Greedy> eldest) {
            if (size() <= CAPACITY) return false;
            eldest.getValue().close();
            return true;
        }
    };

    /** While a greedy loop runs its steps: nested {@link #run} calls run the step directly (no graph of their own). */
    private boolean direct;
    /** While a greedy step is captured: where its embedding takes the tokens from (null otherwise). */
    private Greedy capturingGreedy;

    Greedy capturingGreedy() { return capturingGreedy; }

    /**
     * {@link org.xlstm.jvm.backend.Ops#greedySteps} on the device. The first call for a (model, state, rows) runs one
     * step eagerly (kernels load, workspace and allocator reach their steady sizes) with its arg-max into the keys,
     * then captures embedding(keys) → step → arg-max(keys) as a graph; every later token is one replay, queued back
     * to back. The host reads the ring of fed tokens every {@link #RING} tokens and the last arg-max from the keys.
     */
    synchronized int[][] greedy(Object model, Object state, int[] first, int count, Function<int[], Tensor> step) {
        int rows = first.length;
        int[][] out = new int[rows][count];
        if (count == 0) return out;
        Key key = new Key(model, state);
        Greedy g = greedyEntries.get(key);
        if (g != null && g.rows != rows) {
            greedyEntries.remove(key).close();
            g = null;
        }
        // the sequence per row of everything fed after `first`, then the last arg-max: out is its first `count`
        int[][] seq = new int[rows][count + 1];
        int have = 0, replays;
        boolean wasDirect = direct;
        direct = true;
        try (Arena host = Arena.ofConfined()) {
            if (g == null) {
                Greedy fresh = new Greedy(ops, rows);
                g = fresh;
                greedyEntries.put(key, g);
                ops.context().fillInts(g.keys.ptr(), 0, 2L * rows, ops.stream());
                argmax(step.apply(first), g.keys.ptr(), rows);   // eager: the first step, its arg-max into the keys
                capturingGreedy = g;
                try {
                    g.graph = ops.stream().capture(() -> greedyStep(fresh, first, step));
                } finally {
                    capturingGreedy = null;
                }
                replays = count - 1;
            } else {
                MemorySegment seed = host.allocate(ValueLayout.JAVA_LONG, rows);
                for (int r = 0; r < rows; r++) seed.setAtIndex(ValueLayout.JAVA_LONG, r, (1L << 32) | (~first[r] & 0xffffffffL));
                ops.context().copyToDevice(g.keys.ptr(), seed, (long) rows * Long.BYTES, ops.stream());
                replays = count;
                have = -1;   // the ring's first token is `first` itself
            }
            MemorySegment ring = host.allocate(ValueLayout.JAVA_INT, (long) rows * RING);
            while (replays > 0) {
                int n = Math.min(replays, RING);
                ops.context().fillInts(g.pos.ptr(), 0, rows, ops.stream());
                for (int i = 0; i < n; i++) g.graph.launch(ops.stream());
                ops.stream().synchronize();
                ops.context().copyToHost(ring, g.fed.ptr(), (long) rows * RING * Integer.BYTES);
                for (int r = 0; r < rows; r++)
                    for (int i = 0; i < n; i++) {
                        int at = have + i;
                        if (at >= 0) seq[r][at] = ring.getAtIndex(ValueLayout.JAVA_INT, (long) r * RING + i);
                    }
                have += n;
                replays -= n;
            }
            ops.stream().synchronize();
            MemorySegment keys = host.allocate(ValueLayout.JAVA_LONG, rows);
            ops.context().copyToHost(keys, g.keys.ptr(), (long) rows * Long.BYTES);
            for (int r = 0; r < rows; r++) seq[r][have] = ~(int) keys.getAtIndex(ValueLayout.JAVA_LONG, r);
        } finally {
            direct = wasDirect;
        }
        for (int r = 0; r < rows; r++) System.arraycopy(seq[r], 0, out[r], 0, count);
        return out;
    }

    /** Captures one greedy token: embedding of the keys' tokens (not `first`), the step, the arg-max into the keys. */
    private void greedyStep(Greedy g, int[] first, Function<int[], Tensor> step) {
        g.argmaxTaken = 0;
        g.logits = step.apply(first);
        // unless the step's last kernel wrote these logits and took their arg-max as it did
        if (g.argmaxTaken != CudaOps.output(g.logits)) argmax(g.logits, g.keys.ptr(), g.rows);
    }

    /** keys[r] = max(keys[r], the arg-max key of logits row r) (kernels/src/greedy.cu). */
    private void argmax(Tensor logits, long keys, int rows) {
        int v = logits.dim(-1);
        if (logits.size() != (long) rows * v)
            throw new IllegalStateException("a greedy step must return logits [" + rows + ", vocab]; got " + logits.size() + " values");
        ops.context().kernel("greedy", "xlstm_argmax_key_f32").launchDependent(ARGMAX_BLOCKS, rows, 1, 256, 1, 1, 0,
                ops.stream(), CudaOps.output(logits), keys, v);
    }

    long capturingIds() { return capturingIds; }

    synchronized Tensor run(Object model, Object state, int[] tokens, Supplier<Tensor> step) {
        if (!ENABLED || direct) return step.get();
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
        for (Greedy g : greedyEntries.values()) g.close();
        greedyEntries.clear();
        staging.close();
    }
}
