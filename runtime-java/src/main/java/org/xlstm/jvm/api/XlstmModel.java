package org.xlstm.jvm.api;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.NoSuchElementException;
import java.util.Optional;
import java.util.Spliterator;
import java.util.Spliterators;
import java.util.concurrent.ConcurrentLinkedDeque;
import java.util.stream.Stream;
import java.util.stream.StreamSupport;
import org.xlstm.jvm.backend.Ops;
import org.xlstm.jvm.backend.cpu.CpuOps;
import org.xlstm.jvm.config.ModelConfig;
import org.xlstm.jvm.generate.GenerationOptions;
import org.xlstm.jvm.generate.Sampler;
import org.xlstm.jvm.model.LanguageModel;
import org.xlstm.jvm.model.SharedWeights;
import org.xlstm.jvm.nn.Mode;
import org.xlstm.jvm.tensor.Tensor;
import org.xlstm.jvm.tokenizer.ByteTokenizer;
import org.xlstm.jvm.tokenizer.Tokenizer;

/**
 * An xLSTM language model for applications: load a checkpoint (ours, the official xLSTM layout or an xLSTM-7B
 * Hugging Face folder) or initialise an architecture, then run it, step it, or generate.
 *
 * <pre>{@code
 * try (XlstmModel model = XlstmModel.load(Path.of("checkpoints/my-model"))) {
 *     String text = model.generate("Once upon a time", GenerationOptions.builder().maxNewTokens(50).topK(40).build());
 * }
 * }</pre>
 *
 * <p><b>Threads.</b> A model is safe to share: any number of threads may call any method at once. Weights are
 * loaded once (float32 checkpoints are memory-mapped, not copied) and shared; each concurrent call borrows its own
 * scratch workspace from a pool. {@link XlstmState} objects are not thread-safe: use one state per thread (or
 * guard it). {@link #close()} must not overlap other calls.
 */
public final class XlstmModel implements AutoCloseable {
    private final SharedWeights weights;
    private final Tokenizer tokenizer;
    /** Model instances not in use; each has its own workspace and all share the weights. */
    private final ConcurrentLinkedDeque<LanguageModel> idle;
    private final List<LanguageModel> all;

    private XlstmModel(SharedWeights weights, Tokenizer tokenizer) {
        this(weights, tokenizer, new ConcurrentLinkedDeque<>(), java.util.Collections.synchronizedList(new ArrayList<>()));
    }

    private XlstmModel(SharedWeights weights, Tokenizer tokenizer, ConcurrentLinkedDeque<LanguageModel> idle,
                       List<LanguageModel> all) {
        this.weights = weights;
        this.tokenizer = tokenizer;
        this.idle = idle;
        this.all = all;
    }

    /** A checkpoint directory (config.json + safetensors), on the CPU; its tokenizer.json is used if present. */
    public static XlstmModel load(Path dir) { return load(dir, new CpuOps()); }

    /** As {@link #load(Path)} on the given backend. */
    public static XlstmModel load(Path dir, Ops ops) {
        SharedWeights w = SharedWeights.open(dir, ops);
        try {
            return new XlstmModel(w, Tokenizer.fromCheckpointDir(dir).orElse(null));
        } catch (RuntimeException e) {
            w.close();
            throw e;
        }
    }

    /** An architecture with freshly initialised weights (official initialisation, seeded), on the CPU. */
    public static XlstmModel create(ModelConfig config, long seed) { return create(config, seed, new CpuOps()); }

    /** As {@link #create(ModelConfig, long)} on the given backend (e.g. {@code Backends.create("cuda")}). */
    public static XlstmModel create(ModelConfig config, long seed, Ops ops) {
        return new XlstmModel(SharedWeights.initialized(config, seed, ops), null);
    }

    /**
     * The same model (same weights, same pool) with another tokenizer, for text generation. Closing either closes
     * both.
     */
    public XlstmModel withTokenizer(Tokenizer t) { return new XlstmModel(weights, t, idle, all); }

    public ModelConfig config() { return weights.config(); }

    public int vocabSize() { return weights.config().vocabSize(); }

    /** The tokenizer the checkpoint carries, if any. */
    public Optional<Tokenizer> tokenizer() { return Optional.ofNullable(tokenizer); }

    /**
     * Writes a checkpoint folder the official code can read: {@code config.json} (official layout) and
     * {@code model.safetensors} (official names; a tied lm_head is written under both names, as the official
     * state_dict does), atomically per file. {@link #load(Path)} reads it back.
     */
    public void save(Path dir) {
        try {
            java.nio.file.Files.createDirectories(dir);
            Map<String, org.xlstm.jvm.io.TensorData> tensors = new LinkedHashMap<>();
            for (org.xlstm.jvm.config.ParamSpec p : org.xlstm.jvm.config.ParameterShapes.of(config())) {
                Tensor t = weights.parameter(p.name());
                if (t == null && p.tiedToOther()) t = weights.parameter("token_embedding.weight");
                if (t == null) throw new IllegalStateException("no loaded tensor for parameter " + p.name());
                tensors.put(p.name(), org.xlstm.jvm.io.TensorData.f32(p.shape(), t.toArray()));
            }
            org.xlstm.jvm.io.SafeTensorsWriter.write(dir.resolve("model.safetensors"), tensors, Map.of("format", "pt"));
            Path cfg = dir.resolve("config.json"), tmp = dir.resolve(".config.json.tmp");
            java.nio.file.Files.writeString(tmp, org.xlstm.jvm.config.OfficialConfigs.toJson(config()));
            java.nio.file.Files.move(tmp, cfg, java.nio.file.StandardCopyOption.REPLACE_EXISTING,
                    java.nio.file.StandardCopyOption.ATOMIC_MOVE);
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException("cannot save to " + dir + ": " + e.getMessage(), e);
        }
    }

    // ------------------------------------------------------------------ forward and state

    /** Logits {@code [B][S][V]} of a batch of equal-length rows, from the zero state (parallel/chunkwise form). */
    public float[][][] forward(int[][] tokens) {
        LanguageModel m = borrow();
        try {
            Tensor logits = m.forward(tokens, null, Mode.CHUNKWISE, null);
            int b = tokens.length, s = tokens[0].length, v = vocabSize();
            float[][][] out = new float[b][s][v];
            for (int i = 0; i < b; i++)
                for (int t = 0; t < s; t++) m.ops().read(logits, (long) (i * s + t) * v, out[i][t], 0, v);
            return out;
        } finally {
            giveBack(m);
        }
    }

    /** A zero state for {@code batch} sequences. */
    public XlstmState newState(int batch) {
        LanguageModel m = borrow();
        try {
            return new XlstmState(this, m.newState(batch), 0);
        } finally {
            giveBack(m);
        }
    }

    /** Runs tokens through a state and returns the last position's logits per row. */
    float[][] run(int[][] tokens, org.xlstm.jvm.model.ModelState state, boolean step) {
        LanguageModel m = borrow();
        try {
            Tensor logits = m.forward(tokens, state, step ? Mode.STEP : Mode.CHUNKWISE, null);
            int b = tokens.length, s = tokens[0].length, v = vocabSize();
            float[][] out = new float[b][v];
            for (int i = 0; i < b; i++)
                m.ops().read(logits, (long) (i * s + s - 1) * v, out[i], 0, v);
            return out;
        } finally {
            giveBack(m);
        }
    }

    /** {@link LanguageModel#greedy} on a state: {@code count} arg-maxes per row (on a GPU without host round trips). */
    int[][] greedy(int[] first, org.xlstm.jvm.model.ModelState state, int count) {
        LanguageModel m = borrow();
        try {
            return m.greedy(first, state, count);
        } finally {
            giveBack(m);
        }
    }

    private LanguageModel borrow() {
        LanguageModel m = idle.pollFirst();
        if (m != null) return m;
        m = weights.newInstance();
        all.add(m);
        return m;
    }

    private void giveBack(LanguageModel m) { idle.addFirst(m); }

    // ------------------------------------------------------------------ generation

    /** Generates a continuation of {@code prompt}; returns the new tokens (a stop token included). */
    public int[] generate(int[] prompt, GenerationOptions options) {
        return generate(prompt, options, NO_LISTENER);
    }

    /** The listener of the overloads without one: plain greedy decoding then runs as one device loop. */
    private static final TokenListener NO_LISTENER = (row, token) -> true;

    /** As {@link #generate(int[], GenerationOptions)}, calling {@code listener} with each token as it comes. */
    public int[] generate(int[] prompt, GenerationOptions options, TokenListener listener) {
        return generate(new int[][] {prompt}, options, listener).getFirst();
    }

    /**
     * Continues several prompts. Prompts of equal length run together as one batch; each row samples with its own
     * RNG (seed + row), so a row's output does not depend on the others.
     */
    public List<int[]> generate(int[][] prompts, GenerationOptions options, TokenListener listener) {
        if (prompts.length == 0) return List.of();
        Map<Integer, List<Integer>> byLength = new LinkedHashMap<>();
        for (int r = 0; r < prompts.length; r++) {
            if (prompts[r].length == 0) throw new IllegalArgumentException("prompt " + r + " is empty");
            byLength.computeIfAbsent(prompts[r].length, k -> new ArrayList<>()).add(r);
        }
        int[][] results = new int[prompts.length][];
        for (List<Integer> rows : byLength.values()) {
            int[][] group = new int[rows.size()][];
            for (int i = 0; i < group.length; i++) group[i] = prompts[rows.get(i)];
            int[][] out = generateGroup(group, rows, options, listener);
            for (int i = 0; i < group.length; i++) results[rows.get(i)] = out[i];
        }
        return Arrays.asList(results);
    }

    public List<int[]> generate(int[][] prompts, GenerationOptions options) {
        return generate(prompts, options, NO_LISTENER);
    }

    private int[][] generateGroup(int[][] prompts, List<Integer> rowIds, GenerationOptions o, TokenListener listener) {
        int b = prompts.length, v = vocabSize();
        Sampler[] samplers = new Sampler[b];
        int[][] history = new int[b][];
        int[] length = new int[b];
        boolean[] done = new boolean[b];
        List<List<Integer>> out = new ArrayList<>();
        StopText[] stops = new StopText[b];
        for (int i = 0; i < b; i++) {
            samplers[i] = new Sampler(o.toBuilder().seed(o.seed() + rowIds.get(i)).build());
            history[i] = Arrays.copyOf(prompts[i], prompts[i].length + o.maxNewTokens());
            length[i] = prompts[i].length;
            out.add(new ArrayList<>());
            stops[i] = o.stopStrings().isEmpty() ? null : new StopText(requireTokenizer("stop strings"), o.stopStrings());
        }
        if (o.maxNewTokens() == 0) return new int[b][0];
        XlstmState state = newState(b);
        float[][] logits = state.prefill(prompts);
        if (listener == NO_LISTENER && o.greedy() && o.repetitionPenalty() == 1f && o.stopTokens().isEmpty()
                && o.stopStrings().isEmpty()) {
            // nothing to decide per token on the host: the arg-max loop runs in the backend (LanguageModel.greedy)
            int[] first = new int[b];
            for (int i = 0; i < b; i++) first[i] = samplers[i].next(logits[i], 0, v, history[i], length[i]);
            int[][] rest = state.greedy(first, o.maxNewTokens() - 1);
            int[][] res = new int[b][o.maxNewTokens()];
            for (int i = 0; i < b; i++) {
                res[i][0] = first[i];
                System.arraycopy(rest[i], 0, res[i], 1, rest[i].length);
            }
            return res;
        }
        int[] next = new int[b];
        for (int n = 0; n < o.maxNewTokens(); n++) {
            boolean any = false;
            for (int i = 0; i < b; i++) {
                if (done[i]) continue;
                int t = samplers[i].next(logits[i], 0, v, history[i], length[i]);
                history[i][length[i]++] = t;
                out.get(i).add(t);
                next[i] = t;
                boolean go = listener.onToken(rowIds.get(i), t);
                if (!go || o.stopTokens().contains(t) || (stops[i] != null && stops[i].add(t))) done[i] = true;
                else any = true;
            }
            if (!any || n == o.maxNewTokens() - 1) break;
            logits = state.step(next);   // finished rows are fed their last token; their output is ignored
        }
        int[][] res = new int[b][];
        for (int i = 0; i < b; i++) res[i] = out.get(i).stream().mapToInt(Integer::intValue).toArray();
        return res;
    }

    /** Tokens one at a time as they are generated; the stream is lazy and sequential. */
    public Stream<Integer> stream(int[] prompt, GenerationOptions options) {
        Iterator<Integer> it = new Iterator<>() {
            private final Sampler sampler = new Sampler(options);
            private final int[] history = Arrays.copyOf(prompt, prompt.length + options.maxNewTokens());
            private final StopText stop = options.stopStrings().isEmpty() ? null
                    : new StopText(requireTokenizer("stop strings"), options.stopStrings());
            private int length = prompt.length, produced;
            private XlstmState state;
            private float[] logits;
            private boolean finished = options.maxNewTokens() == 0;

            @Override
            public boolean hasNext() { return !finished; }

            @Override
            public Integer next() {
                if (finished) throw new NoSuchElementException();
                if (state == null) {
                    state = newState(1);
                    logits = state.prefill(new int[][] {prompt})[0];
                }
                int t = sampler.next(logits, 0, vocabSize(), history, length);
                history[length++] = t;
                produced++;
                if (produced == options.maxNewTokens() || options.stopTokens().contains(t) || (stop != null && stop.add(t)))
                    finished = true;
                else logits = state.step(t)[0];
                return t;
            }
        };
        return StreamSupport.stream(Spliterators.spliteratorUnknownSize(it, Spliterator.ORDERED | Spliterator.NONNULL), false);
    }

    /**
     * Text in, text out, with the model's tokenizer (or byte-level when the vocabulary has 256 ids or more and the
     * checkpoint carries none). Stop strings cut the text where they begin.
     */
    public String generate(String prompt, GenerationOptions options) {
        Tokenizer t = textTokenizer();
        int[] ids = generate(t.encode(prompt), options);
        String text = t.decode(ids);
        for (String s : options.stopStrings()) {
            int at = text.indexOf(s);
            if (at >= 0) text = text.substring(0, at);
        }
        return text;
    }

    /** The tokenizer for text: the checkpoint's, else byte-level if the vocabulary can hold bytes. */
    public Tokenizer textTokenizer() {
        if (tokenizer != null) return tokenizer;
        if (vocabSize() >= 256) return ByteTokenizer.INSTANCE;
        throw new IllegalStateException("this model has no tokenizer and its vocabulary (" + vocabSize()
                + ") is too small for bytes; give token ids instead of text");
    }

    private Tokenizer requireTokenizer(String what) {
        try {
            return textTokenizer();
        } catch (IllegalStateException e) {
            throw new IllegalStateException(what + " need a tokenizer: " + e.getMessage());
        }
    }

    /** Decodes generated tokens incrementally and reports when a stop string appears. */
    private static final class StopText {
        private final Tokenizer tokenizer;
        private final List<String> stops;
        private final List<Integer> ids = new ArrayList<>();

        StopText(Tokenizer tokenizer, List<String> stops) {
            this.tokenizer = tokenizer;
            this.stops = stops;
        }

        boolean add(int token) {
            ids.add(token);
            String text = tokenizer.decode(ids.stream().mapToInt(Integer::intValue).toArray());
            for (String s : stops) if (text.contains(s)) return true;
            return false;
        }
    }

    @Override
    public void close() {
        synchronized (all) {
            for (LanguageModel m : all) m.close();
            all.clear();
        }
        idle.clear();
        weights.close();
    }
}
