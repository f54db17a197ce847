package org.xlstm.jvm.backend;

import org.xlstm.jvm.config.Activation;
import org.xlstm.jvm.tensor.Tensor;
import org.xlstm.jvm.tensor.Workspace;

/**
 * Every numerical operation the layers need, and nothing else: the backend boundary. Layers (package
 * {@code org.xlstm.jvm.nn}) only allocate tensors from a {@link Workspace} and call these methods, so a new backend
 * (CUDA, a different CPU strategy) is a new implementation of this interface and no layer changes.
 *
 * <p>Conventions. Tensors are row-major float32. "Rows" are all leading dimensions flattened: an activation
 * {@code [B, S, F]} is an {@code [B·S, F]} matrix. Outputs are written completely and must not alias inputs unless
 * a method says so. Multi-head activations keep the official {@code (B, S, NH·DH)} layout, head-major within a
 * token; per-head kernels read them strided, so no transposes are materialised. Implementations must be
 * deterministic: the same inputs give bit-identical outputs whatever the thread count (no reductions whose order
 * depends on scheduling).
 *
 * <p>Parameters ({@code weight} arguments, the sLSTM recurrent kernel) may be cached by a backend in a derived form
 * (packed for SIMD, uploaded to a device) in {@link Tensor#backendCache()}. Whoever changes a parameter's values in
 * place (an optimizer step) calls {@link Tensor#markModified()}, which makes the cached forms of the tensor and of
 * all its views and slices stale (training models do this before every forward that follows a backward).
 *
 * <p>Two implementations exist: {@link ReferenceOps} (plain loops in double precision, the executable spec) and
 * {@link org.xlstm.jvm.backend.cpu.CpuOps} (Vector API, cache-blocked, multi-threaded). Tests compare them.
 */
public interface Ops {
    String name();

    // ---------------------------------------------------------------- dense algebra

    /**
     * Linear layer: {@code y[r, o] = Σ_i x[r, i]·w[o, i] + b[o]}, i.e. {@code Y = X·Wᵀ + b} with the weight stored
     * (out, in) as PyTorch stores it. x {@code [R, in]}, weight {@code [out, in]}, bias {@code [out]} or null,
     * y {@code [R, out]}.
     */
    void linear(Tensor x, Tensor weight, Tensor bias, Tensor y);

    /**
     * Several linear maps of one input, {@code ys[j] = x·weights[j]ᵀ + biases[j]} (biases may be null or hold
     * nulls): the projections of a layer. A backend may run them as one operation (the CUDA backend does when
     * decoding: one launch reads every weight once). Default: one {@link #linear} each.
     */
    default void linears(Tensor x, Tensor[] weights, Tensor[] biases, Tensor[] ys) {
        for (int j = 0; j < weights.length; j++) linear(x, weights[j], biases == null ? null : biases[j], ys[j]);
    }

    /** Plain product {@code C = A·B}: a {@code [M, K]}, b {@code [K, N]}, c {@code [M, N]}. */
    void matmul(Tensor a, Tensor b, Tensor c);

    // ---------------------------------------------------------------- fused compositions (decoding)
    // Each default is the plain sequence of operations, which every backend computes exactly so; a backend may run
    // the sequence as one operation when it is faster (the CUDA backend does while decoding: a step is a pass over
    // the weights, and each launch costs microseconds). Scratch arguments hold what the default composition needs.

    /**
     * The projections of a normalised input: {@code normed = rmsNorm(x)}, then {@code ys[j] = normed·weights[j]ᵀ +
     * biases[j]}, and {@code ys[j] = softCap(ys[j])} for {@code j >= capFrom} when {@code softCap > 0}. {@code normed}
     * is scratch of x's shape (a fused backend may leave it unwritten).
     */
    default void rmsNormLinears(Tensor x, Tensor normWeight, Tensor normBias, float eps, Tensor normed,
                                Tensor[] weights, Tensor[] biases, Tensor[] ys, int capFrom, float softCap) {
        rmsNorm(x, normWeight, normBias, eps, normed);
        linears(normed, weights, biases, ys);
        if (softCap > 0)
            for (int j = capFrom; j < ys.length; j++) softCap(ys[j], softCap, ys[j]);
    }

    /**
     * A gated feed-forward's first half on a normalised input: {@code y = act(n·gateᵀ + gateBias) ⊙ (n·upᵀ +
     * upBias)} with {@code n = rmsNorm(x)}. {@code normed} (x's shape) and {@code gate} (y's shape) are scratch.
     */
    default void rmsNormGatedLinear(Tensor x, Tensor normWeight, Tensor normBias, float eps, Tensor normed,
                                    Tensor gateWeight, Tensor gateBias, Tensor upWeight, Tensor upBias, Activation act,
                                    Tensor gate, Tensor y) {
        rmsNorm(x, normWeight, normBias, eps, normed);
        linears(normed, new Tensor[] {gateWeight, upWeight}, new Tensor[] {gateBias, upBias}, new Tensor[] {gate, y});
        mulActivated(y, act, gate, y);
    }

    /**
     * A residual connection around a linear map: {@code y = (x·weightᵀ + bias) + residual} (y may alias residual).
     * {@code product} is scratch of y's shape. The operation just before this one must not write {@code residual}
     * (a GPU backend reads it while that operation still runs; in a pre-norm block the norm and the products of x
     * come between the residual's writer and this call).
     */
    default void linearAdd(Tensor x, Tensor weight, Tensor bias, Tensor residual, Tensor product, Tensor y) {
        linear(x, weight, bias, product);
        add(product, residual, y);
    }

    /**
     * An mLSTM layer's output with its residual: {@code y = (headNormGated(h, gate)·weightᵀ + bias) + residual}
     * ({@link #headNormGated}, then {@link #linearAdd}; y may alias residual). {@code gated} (h's shape) and
     * {@code product} (y's shape) are scratch. As for {@link #linearAdd}, the operation just before this one must not
     * write {@code residual}, nor {@code gate} (a GPU reads both before it waits for that operation; in an mLSTM layer
     * the gate comes from the projections and the mLSTM step comes between). And the operation after this one may
     * start on a GPU before the one before this one has ended: before it waits it must read only weights (in an
     * xLSTM-7B block it is the feed-forward's norm and gate/up products, which do).
     */
    default void headNormGatedLinearAdd(Tensor h, int numHeads, Tensor normWeight, Tensor normBias, float eps,
                                        boolean weightIsOffset, Tensor gate, Activation act, Tensor gated, Tensor weight,
                                        Tensor bias, Tensor residual, Tensor product, Tensor y) {
        headNormGated(h, numHeads, normWeight, normBias, eps, weightIsOffset, gate, act, gated);
        linearAdd(gated, weight, bias, residual, product, y);
    }

    /** {@code y = headLayerNorm(h) ⊙ act(gate)} (y distinct from h): an mLSTM layer's output gate. */
    default void headNormGated(Tensor h, int numHeads, Tensor weight, Tensor bias, float eps, boolean weightIsOffset,
                               Tensor gate, Activation act, Tensor y) {
        headLayerNorm(h, numHeads, weight, bias, eps, weightIsOffset, y);
        mulActivated(y, act, gate, y);
    }

    /**
     * Block-diagonal linear map (official LinearHeadwiseExpand): the input row is split into H contiguous blocks and
     * block h maps by {@code y_h = W[h]·x_h}. x {@code [R, H·in]}, weight {@code [H, out, in]}, bias
     * {@code [H·out]} or null, y {@code [R, H·out]}.
     */
    void linearHeadwise(Tensor x, Tensor weight, Tensor bias, Tensor y);

    /** Row lookup: {@code y[r] = table[tokens[r]]}; table {@code [V, D]}, y {@code [tokens.length, D]}. */
    void embedding(int[] tokens, Tensor table, Tensor y);

    // ---------------------------------------------------------------- normalisation

    /**
     * Layer norm over the last dimension (biased variance). The scale is {@code (1 + weight)} when
     * {@code weightIsOffset} (the official xLSTM LayerNorm stores an offset), else {@code weight}; a null weight
     * means scale 1; a null bias means none.
     */
    void layerNorm(Tensor x, Tensor weight, Tensor bias, float eps, boolean weightIsOffset, Tensor y);

    /** RMS norm over the last dimension: {@code x·rsqrt(mean(x²) + eps)·weight + bias} (weight, bias may be null). */
    void rmsNorm(Tensor x, Tensor weight, Tensor bias, float eps, Tensor y);

    /**
     * Layer norm of each head separately (official MultiHeadLayerNorm / group norm with one group per head):
     * x {@code [R, H·DH]}, each DH slice normalised, then scaled per channel by weight {@code [H·DH]} (as offset
     * when {@code weightIsOffset}), plus bias {@code [H·DH]} when not null.
     */
    void headLayerNorm(Tensor x, int numHeads, Tensor weight, Tensor bias, float eps, boolean weightIsOffset, Tensor y);

    // ---------------------------------------------------------------- elementwise

    /** {@code y = act(x)} elementwise (may alias). */
    void activation(Activation act, Tensor x, Tensor y);

    /** {@code y = x ⊙ act(g)} elementwise (y may alias x). */
    void mulActivated(Tensor x, Activation act, Tensor g, Tensor y);

    /** {@code y = a + b} elementwise (y may alias a). */
    void add(Tensor a, Tensor b, Tensor y);

    /** {@code y = a + w ⊙ b} with {@code w [C]} broadcast over the rows of {@code a, b [R, C]} (y may alias a). */
    void addScaled(Tensor a, Tensor w, Tensor b, Tensor y);

    /** Soft cap {@code y = cap·tanh(x/cap)} (may alias). */
    void softCap(Tensor x, float cap, Tensor y);

    /** Concatenation along the last dimension: {@code y [R, Σ Cj]} from parts {@code [R, Cj]}. */
    void concatColumns(Tensor[] parts, Tensor y);

    // ---------------------------------------------------------------- sequence mixing

    /**
     * Depthwise causal convolution over time: {@code y[t] = b + Σ_{j<K} w[K−1−j]·x[t−j]}. x, y {@code [B, S, F]},
     * weight {@code [F, K]}, bias {@code [F]} or null. {@code window [B, K−1, F]} holds the K−1 inputs before
     * x (oldest first) and is updated to the last K−1 inputs; null means zeros before the sequence.
     */
    void causalConv1d(Tensor x, Tensor weight, Tensor bias, Tensor window, Tensor y);

    /**
     * mLSTM cell, parallel (quadratic) form from the zero state, official stabilisation (row maximum of log D).
     * q, k {@code [B, S, NH·DHQK]}, v {@code [B, S, NH·DHV]}, gate pre-activations i, f {@code [B, S, NH]},
     * h {@code [B, S, NH·DHV]}. Scores use {@code q·k/√DHQK}.
     */
    void mlstmParallel(Tensor q, Tensor k, Tensor v, Tensor i, Tensor f, float eps, Tensor h);

    /**
     * mLSTM cell, chunkwise form: within a chunk of {@code chunkSize} steps the parallel form, between chunks the
     * recurrence on the state. Any S (the last chunk may be shorter). Starts from state c {@code [B, NH, DHQK, DHV]},
     * n {@code [B, NH, DHQK]}, m {@code [B, NH]} and leaves the final state there. With m = −∞ and c = n = 0 the
     * result is the parallel form's; with m = 0 it is the recurrent form's (they differ only through eps).
     */
    void mlstmChunkwise(Tensor q, Tensor k, Tensor v, Tensor i, Tensor f, Tensor c, Tensor n, Tensor m,
                        int chunkSize, float eps, Tensor h);

    /**
     * A hint, changing no result: {@code weights} are read soon after the next {@link #mlstmRecurrent}. A backend may
     * bring them closer meanwhile; the CUDA backend has its column-sliced step kernel, which reads little memory of
     * its own, ask the L2 cache for them (in an xLSTM-7B block: the down projection's weights, three kernels later).
     * The next mlstmRecurrent takes the hint, whatever it launches.
     */
    default void prefetchHint(Tensor weights) {}

    /** mLSTM cell, recurrent form: the S steps one at a time from the state (c, n, m), updated in place. */
    void mlstmRecurrent(Tensor q, Tensor k, Tensor v, Tensor i, Tensor f, Tensor c, Tensor n, Tensor m,
                        float eps, Tensor h);

    /**
     * sLSTM cell recurrence with exponential gating and the stabiliser state (XLSTM.md §4). xi, xf, xz, xo
     * {@code [B, S, NH·DH]}: the input parts of the gate pre-activations. r {@code [NH, DH_in, 4, DH_out]}: the
     * recurrent kernel in the logical (cuda-storage) layout, gates ordered i, f, z, o. bias {@code [NH, 4, DH]}.
     * State h, c, n, m {@code [B, NH·DH]} is read and updated. y {@code [B, S, NH·DH]} receives the h_t.
     */
    void slstmRecurrent(Tensor xi, Tensor xf, Tensor xz, Tensor xo, Tensor r, Tensor bias,
                        Tensor h, Tensor c, Tensor n, Tensor m, Tensor y);

    /** Whether models on this backend can train (backward passes); the CUDA backend cannot yet. */
    default boolean supportsTraining() { return true; }

    // ---------------------------------------------------------------- memory (defaults: host memory)

    /** Scratch memory for one model instance's activations, in the memory this backend computes in. */
    default org.xlstm.jvm.tensor.Workspace newWorkspace() { return new org.xlstm.jvm.tensor.Workspace(); }

    /**
     * A long-lived, zero-filled tensor in this backend's memory (recurrent states). Freed when unreachable on the
     * CPU; backends with other memory free it with the model.
     */
    default Tensor allocate(int... shape) { return Tensor.allocate(java.lang.foreign.Arena.ofAuto(), shape); }

    /**
     * Runs {@code step}: one recurrent step of {@code model} over {@code state} whose only host input is
     * {@code tokens} (what the step passes to {@link #embedding}), and returns its output. A backend may make
     * repeated calls with the same model and state cheaper: the CUDA backend records the step's kernels once in a
     * CUDA graph and replays it with the new tokens (decoding launches hundreds of small kernels per token). The
     * step must therefore do the same work every time for one (model, state, tokens.length). Default: just runs it.
     */
    default Tensor repeatedStep(Object model, Object state, int[] tokens, java.util.function.Supplier<Tensor> step) {
        return step.get();
    }

    /**
     * Greedy decoding of {@code count} tokens per row: feeds {@code first} (one token per row) through {@code step}
     * (one recurrent step of {@code model} over {@code state}, returning logits [rows, vocab]), then each step's
     * arg-max (ties: the lowest id, as torch.argmax), {@code count} steps in all; returns the {@code count}
     * arg-maxes per row. The state ends having consumed {@code first} and all but the last arg-max. A backend may run
     * the loop without returning to the host per token (the CUDA backend replays one graph that ends in the arg-max
     * and begins with its embedding). Default: one step at a time, the arg-max read back.
     */
    default int[][] greedySteps(Object model, Object state, int[] first, int count,
                                java.util.function.Function<int[], Tensor> step) {
        int rows = first.length;
        int[][] out = new int[rows][count];
        int[] next = first.clone();
        float[] row = null;
        for (int i = 0; i < count; i++) {
            Tensor logits = step.apply(next);
            int v = logits.dim(-1);
            if (row == null) row = new float[v];
            for (int r = 0; r < rows; r++) {
                read(logits, (long) r * v, row, 0, v);
                next[r] = out[r][i] = argmax(row);
            }
        }
        return out;
    }

    /** The first index of the largest value (a NaN counts as the largest, as in torch.argmax). */
    static int argmax(float[] row) {
        int best = 0;
        float bestV = row[0];
        for (int j = 1; j < row.length && !Float.isNaN(bestV); j++) {
            float x = row[j];
            if (x > bestV || Float.isNaN(x)) {
                bestV = x;
                best = j;
            }
        }
        return best;
    }

    /** Waits until every operation launched so far has finished (a no-op where operations run synchronously). */
    default void synchronize() {}

    /** Whether this backend computes in host memory (tensors the CPU may read); false for a GPU. */
    default boolean hostMemory() { return true; }

    /**
     * A long-lived copy of a host tensor in this backend's memory (parameters kept where they are computed with,
     * e.g. for training on a GPU); the host tensor itself when the backend computes in host memory.
     */
    default Tensor resident(Tensor host) { return host; }

    /**
     * Permutation of dimensions: {@code y} has x's dimensions in the order {@code order} (y's dimension d is x's
     * dimension {@code order[d]}), as torch's {@code x.permute(order).contiguous()}. Used for parameters stored in
     * another layout than the kernels use (the vanilla sLSTM), not on hot paths.
     */
    default void permute(Tensor x, int[] order, Tensor y) {
        int[] xs = x.shape();
        int n = xs.length;
        if (order.length != n) throw new IllegalArgumentException("permutation of " + order.length + " dims for rank " + n);
        long[] xStride = new long[n];
        long st = 1;
        for (int d = n - 1; d >= 0; d--) { xStride[d] = st; st *= xs[d]; }
        int[] ys = new int[n];
        long[] yStrideInX = new long[n];
        for (int d = 0; d < n; d++) { ys[d] = xs[order[d]]; yStrideInX[d] = xStride[order[d]]; }
        int[] idx = new int[n];
        long size = x.size();
        for (long i = 0; i < size; i++) {
            long src = 0;
            for (int d = 0; d < n; d++) src += idx[d] * yStrideInX[d];
            y.set(i, x.get(src));
            for (int d = n - 1; d >= 0; d--) {
                if (++idx[d] < ys[d]) break;
                idx[d] = 0;
            }
        }
    }

    /** Sets every element of {@code t} to {@code value}. */
    default void fill(Tensor t, float value) { t.fill(value); }

    /** {@link #fill} of every tensor (a model's gradients): one launch on a device backend. */
    default void fillEach(java.util.List<Tensor> ts, float value) {
        for (Tensor t : ts) fill(t, value);
    }

    /** {@code dst = src} (same element count). */
    default void copy(Tensor src, Tensor dst) { dst.copyFrom(src); }

    /** Copies {@code length} elements of {@code t} from {@code index} into {@code dst[offset...]} (host memory). */
    default void read(Tensor t, long index, float[] dst, int offset, int length) {
        java.lang.foreign.MemorySegment.copy(t.segment(), java.lang.foreign.ValueLayout.JAVA_FLOAT, index * Float.BYTES, dst,
                offset, length);
    }
}
