package org.xlstm.jvm.backend;

import org.xlstm.jvm.config.Activation;
import org.xlstm.jvm.tensor.Tensor;

/**
 * The backward counterpart of {@link Ops}: for each forward operation the gradients of a scalar loss with respect
 * to its inputs and parameters, given the gradient with respect to its output. Same conventions as {@link Ops}
 * (row-major float32, rows = leading dimensions flattened, deterministic whatever the thread count).
 *
 * <p>Accumulation rule: gradients of <em>parameters</em> (arguments named {@code dw}, {@code db}, {@code dTable},
 * {@code dr}, {@code dbias}, {@code dSkip}) are always added to what the tensor holds, so a parameter used several
 * times (a tied embedding) or a batch split in pieces sums up; callers zero them once per step. Gradients of
 * <em>activations</em> ({@code dx}, {@code dq}, …) are overwritten, except where an {@code accumulate} flag says
 * otherwise (an input feeding several layers). Any gradient output may be null when it is not needed.
 *
 * <p>Each method needs only the forward <em>inputs</em> (and parameters); what the forward computed inside is
 * recomputed. This keeps the saved activations of a training step to the layer boundaries.
 *
 * <p>Two implementations: {@link ReferenceGradOps} (double-precision loops, checked against finite differences)
 * and {@link org.xlstm.jvm.backend.cpu.CpuGradOps} (Vector API, multi-threaded), tested against each other.
 */
public interface GradOps {
    String name();

    /** The backward backend that goes with a forward one: the reference with the reference, the CPU one with the CPU one. */
    static GradOps forOps(Ops ops) {
        if (ops instanceof Paired p) return p.gradOps();
        if (ops instanceof ReferenceOps) return new ReferenceGradOps();
        if (ops instanceof org.xlstm.jvm.backend.cpu.CpuOps) return new org.xlstm.jvm.backend.cpu.CpuGradOps();
        throw new IllegalArgumentException("no backward pass for the " + ops.name() + " backend");
    }

    /** A forward backend that brings its own backward one (wrappers, other devices). */
    interface Paired {
        GradOps gradOps();
    }

    // ---------------------------------------------------------------- dense algebra

    /**
     * Backward of {@link Ops#linear}: {@code dx (+)= dy·W}, {@code dw += dyᵀ·x}, {@code db += Σ_rows dy}.
     * x {@code [R, in]}, w {@code [out, in]}, dy {@code [R, out]}.
     */
    void linearBackward(Tensor x, Tensor w, Tensor dy, Tensor dx, boolean accumulateDx, Tensor dw, Tensor db);

    /** Backward of {@link Ops#matmul} {@code C = A·B}: {@code da += dc·Bᵀ}, {@code db += Aᵀ·dc} (both accumulate). */
    void matmulBackward(Tensor a, Tensor b, Tensor dc, Tensor da, Tensor db);

    /** Backward of {@link Ops#linearHeadwise}: per block h, {@code dx_h (+)= W[h]ᵀ·dy_h}, {@code dw[h] += Σ dy_h·x_hᵀ}. */
    void linearHeadwiseBackward(Tensor x, Tensor w, Tensor dy, Tensor dx, boolean accumulateDx, Tensor dw, Tensor db);

    /** Backward of {@link Ops#embedding}: scatter-add {@code dTable[tokens[r]] += dy[r]}. */
    void embeddingBackward(int[] tokens, Tensor dy, Tensor dTable);

    // ---------------------------------------------------------------- normalisation

    /**
     * Backward of {@link Ops#layerNorm} (biased variance, scale {@code 1 + w} when {@code weightIsOffset}):
     * dx overwritten or accumulated, dw and db accumulated.
     */
    void layerNormBackward(Tensor x, Tensor w, float eps, boolean weightIsOffset, Tensor dy, Tensor dx,
                           boolean accumulateDx, Tensor dw, Tensor db);

    /** Backward of {@link Ops#rmsNorm}: dx overwritten or accumulated, dw and db accumulated. */
    void rmsNormBackward(Tensor x, Tensor w, float eps, Tensor dy, Tensor dx, boolean accumulateDx, Tensor dw, Tensor db);

    /** Backward of {@link Ops#headLayerNorm}: dx overwritten, dw and db ({@code [H·DH]}) accumulated. */
    void headLayerNormBackward(Tensor x, int numHeads, Tensor w, float eps, boolean weightIsOffset, Tensor dy,
                               Tensor dx, Tensor dw, Tensor db);

    // ---------------------------------------------------------------- elementwise

    /** {@code dx = dy ⊙ act'(x)} (dx may alias dy). */
    void activationBackward(Activation act, Tensor x, Tensor dy, Tensor dx);

    /** Backward of {@code y = x ⊙ act(g)}: {@code dx = dy ⊙ act(g)}, {@code dg = dy ⊙ x ⊙ act'(g)} (either may alias dy). */
    void mulActivatedBackward(Tensor x, Activation act, Tensor g, Tensor dy, Tensor dx, Tensor dg);

    /**
     * Backward of {@code y = a + w ⊙ b} (w {@code [C]} broadcast over rows) for the b and w parts (the a part is dy
     * itself): {@code db (+)= w ⊙ dy}, {@code dw += Σ_rows dy ⊙ b}.
     */
    void addScaledBackward(Tensor w, Tensor b, Tensor dy, Tensor db, boolean accumulateDb, Tensor dw);

    /** Backward of {@code y = cap·tanh(x/cap)}: {@code dx = dy·(1 − tanh²(x/cap))} (dx may alias dy). */
    void softCapBackward(Tensor x, float cap, Tensor dy, Tensor dx);

    /** Backward of {@link Ops#concatColumns}: each part (+)= its columns of dy. */
    void splitColumns(Tensor dy, Tensor[] parts, boolean accumulate);

    // ---------------------------------------------------------------- sequence mixing

    /**
     * Backward of {@link Ops#causalConv1d} from zero padding (no carried window): x, dy, dx {@code [B, S, F]},
     * w {@code [F, K]}; dx overwritten, dw and db accumulated.
     */
    void causalConv1dBackward(Tensor x, Tensor w, Tensor dy, Tensor dx, Tensor dw, Tensor db);

    /**
     * Backward of {@link Ops#mlstmChunkwise} started from the zero state C = 0, n = 0 with stabiliser {@code m0}
     * (−∞ reproduces the official parallel form, 0 the xLSTM-7B kernels), chunks of {@code chunkSize}. The
     * gradient is that of the function as computed, stabilisers included (as autograd differentiates the official
     * code: through the row maxima, which only matters through eps). dq, dk, dv, di, df are overwritten.
     */
    void mlstmChunkwiseBackward(Tensor q, Tensor k, Tensor v, Tensor i, Tensor f, float m0, int chunkSize, float eps,
                                Tensor dh, Tensor dq, Tensor dk, Tensor dv, Tensor di, Tensor df);

    /**
     * Backward of {@link Ops#slstmRecurrent} from the zero state, through time (BPTT over h, c, n and the
     * stabiliser m), differentiating exactly the official vanilla cell as autograd does: the gradient flows through
     * m = max(ĩ, logσ(f̃) + m), and through the clamps min(exp(·), 1), with torch's rule that a tie passes half
     * the gradient to each side. r {@code [NH, DH, 4, DH]} and bias {@code [NH, 4, DH]} in the logical layout;
     * dxi…dxo overwritten, dr and dbias accumulated.
     */
    void slstmBackward(Tensor xi, Tensor xf, Tensor xz, Tensor xo, Tensor r, Tensor bias, Tensor dy,
                       Tensor dxi, Tensor dxf, Tensor dxz, Tensor dxo, Tensor dr, Tensor dbias);

    // ---------------------------------------------------------------- regularisation

    /**
     * Inverted dropout: {@code y = x·keep/(1 − p)} with keep decided per element by {@link DropoutMask} from
     * {@code seed} (y may alias x). Linear in x with a fixed mask, so the same call on a gradient is its backward.
     */
    void dropout(Tensor x, float p, long seed, Tensor y);

    // ---------------------------------------------------------------- loss

    /**
     * Mean cross-entropy of logits {@code [R, V]} against {@code targets} (R ids, {@code -1} = ignored), as torch's
     * {@code cross_entropy(logits, targets, ignore_index=-1)}: the mean over non-ignored rows (NaN when there is
     * none). When dLogits is not null it receives the gradient of that mean: (softmax − onehot)/count on counted
     * rows, 0 on ignored ones (dLogits may alias logits).
     */
    default double crossEntropy(Tensor logits, int[] targets, Tensor dLogits) {
        return crossEntropy(logits, targets, dLogits, 0);
    }

    /**
     * As {@link #crossEntropy(Tensor, int[], Tensor)} but the sum over counted rows is divided by {@code meanOver}
     * (when positive) instead of their number, gradient likewise: one micro-batch's share of the mean over a whole
     * batch.
     */
    double crossEntropy(Tensor logits, int[] targets, Tensor dLogits, int meanOver);

    /**
     * As {@link #crossEntropy(Tensor, int[], Tensor, int)} of the soft-capped logits {@code cap·tanh(raw/cap)}
     * (the xLSTM-7B output cap), which it also writes to {@code logits} (not null), with {@code dRaw} (may be null)
     * receiving the gradient with respect to {@code raw}. The default composes {@code ops.softCap}, the
     * cross-entropy and {@link #softCapBackward}; a device backend may do the three in one pass over the rows.
     */
    default double crossEntropySoftCapped(Ops ops, Tensor raw, float cap, int[] targets, Tensor logits, Tensor dRaw,
                                          int meanOver) {
        ops.softCap(raw, cap, logits);
        double loss = crossEntropy(logits, targets, dRaw, meanOver);
        if (dRaw != null) softCapBackward(raw, cap, dRaw, dRaw);
        return loss;
    }
    // ---------------------------------------------------------------- optimizer, where the parameters live

    /*
     * Training on a device keeps parameters, gradients and optimizer moments in the device's memory
     * (train.ResidentTraining); these are the few operations the optimizer and the metrics need there. The
     * defaults are plain host loops (CPU backends, tests); a device backend overrides them.
     */

    /** Σ x² over all elements (for the global gradient norm). */
    default double sumOfSquares(Tensor x) {
        double s = 0;
        for (long i = 0; i < x.size(); i++) {
            double v = x.get(i);
            s += v * v;
        }
        return s;
    }

    /**
     * {@link #sumOfSquares(Tensor)} of each tensor, the same numbers: a device backend launches all the sums and reads
     * them back at once, where one call per tensor waits for the device once per tensor (a model's ~200 parameters).
     */
    default double[] sumsOfSquares(java.util.List<Tensor> xs) {
        double[] out = new double[xs.size()];
        for (int i = 0; i < out.length; i++) out[i] = sumOfSquares(xs.get(i));
        return out;
    }

    /** {@link #scale} of every tensor by {@code c}: one launch on a device backend. */
    default void scaleEach(java.util.List<Tensor> xs, float c) {
        for (Tensor x : xs) scale(x, c);
    }

    /**
     * {@link #adamw} of every parameter i with {@code decay[i]} (the other scalars shared): on a device backend one
     * launch for all of them, the same float operations per element.
     */
    default void adamwEach(java.util.List<Tensor> p, java.util.List<Tensor> g, java.util.List<Tensor> m,
                           java.util.List<Tensor> v, float[] decay, float b1, float omb1, float b2, float omb2,
                           float stepSize, float bc2Sqrt, float eps) {
        for (int i = 0; i < p.size(); i++)
            adamw(p.get(i), g.get(i), m.get(i), v.get(i), decay[i], b1, omb1, b2, omb2, stepSize, bc2Sqrt, eps);
    }

    /** {@code x ← c·x} in place (gradient clipping). */
    default void scale(Tensor x, float c) {
        for (long i = 0; i < x.size(); i++) x.set(i, x.get(i) * c);
    }

    /**
     * One AdamW update of parameter p with gradient g and moments m, v, with exactly the float operations of
     * {@code org.xlstm.jvm.train.AdamW} (scalars prepared there): {@code p·decay}, {@code m = fma(g, omb1, m·b1)},
     * {@code v = v·b2 + (g·omb2)·g}, {@code p −= (m / (√v / bc2Sqrt + eps))·stepSize}.
     */
    default void adamw(Tensor p, Tensor g, Tensor m, Tensor v, float decay, float b1, float omb1, float b2, float omb2,
                       float stepSize, float bc2Sqrt, float eps) {
        for (long i = 0; i < p.size(); i++) {
            float gi = g.get(i);
            float pi = p.get(i) * decay;
            float mi = Math.fma(gi, omb1, m.get(i) * b1);
            float vi = v.get(i) * b2 + gi * omb2 * gi;
            float denom = (float) Math.sqrt(vi) / bc2Sqrt + eps;
            p.set(i, pi - mi / denom * stepSize);
            m.set(i, mi);
            v.set(i, vi);
        }
    }

    /**
     * Per row of logits {@code [R, V]}: the first arg-max into {@code argmax[r]}, and for scored rows
     * ({@code targets[r] >= 0}) the negative log-likelihood {@code logsumexp − logit[target]} into {@code nll[r]}
     * (0 for ignored rows). What accuracy and loss metrics need, without copying the logits off a device.
     */
    default void rowArgmaxAndNll(Tensor logits, int[] targets, int[] argmax, double[] nll) {
        int v = logits.dim(-1);
        long rows = logits.size() / v;
        for (int r = 0; r < rows; r++) {
            long base = (long) r * v;
            float mx = Float.NEGATIVE_INFINITY;
            int am = 0;
            for (int c = 0; c < v; c++) {
                float x = logits.get(base + c);
                if (x > mx) { mx = x; am = c; }
            }
            argmax[r] = am;
            if (targets[r] < 0) { nll[r] = 0; continue; }
            double s = 0;
            for (int c = 0; c < v; c++) s += Math.exp(logits.get(base + c) - mx);
            nll[r] = mx + Math.log(s) - logits.get(base + targets[r]);
        }
    }
}
