package org.xlstm.jvm.nn;

import org.xlstm.jvm.backend.Ops;
import org.xlstm.jvm.config.BiasInit;
import org.xlstm.jvm.config.RecurrentWeightInit;
import org.xlstm.jvm.config.SlstmBackend;
import org.xlstm.jvm.tensor.Tensor;
import org.xlstm.jvm.tensor.Workspace;

/**
 * The sLSTM cell (official sLSTMCell): per head, recurrent matrices on h_{t−1} for the gates i, f, z, o, exponential
 * input/forget gating with the stabiliser state m, normaliser n (XLSTM.md §4).
 *
 * <p>Stored layouts (XLSTM.md §5): the logical recurrent kernel R_ext is (NH, DH_in, 4, DH_out) and the bias
 * (NH, 4, DH). The "cuda" backend stores exactly that ((NH, DH, 4·DH) and a head-major flat bias); "vanilla" stores
 * R as (NH, 4·DH_out, DH_in) and a gate-major (4, NH, DH) bias. Both are converted here to the logical layout, which
 * the kernels use.
 */
public final class SlstmCell {
    private final Tensor recurrent; // (NH, DH_in, 4, DH_out)
    private final Tensor bias;      // (NH, 4, DH)
    private final int heads, dim;
    /** The official tensors when they are stored in another layout (vanilla), else null: the above are views. */
    private final Tensor storedR, storedB;
    private long derivedFromR, derivedFromB;

    public SlstmCell(Tensor recurrent, Tensor bias) {
        this(recurrent, bias, null, null);
    }

    private SlstmCell(Tensor recurrent, Tensor bias, Tensor storedR, Tensor storedB) {
        this.recurrent = recurrent;
        this.bias = bias;
        this.heads = recurrent.dim(0);
        this.dim = heads * recurrent.dim(1);
        this.storedR = storedR;
        this.storedB = storedB;
        // vanilla layout: the kernel's copies are derived (with the backend) before the first use
        derivedFromR = derivedFromB = -1;
    }

    public static SlstmCell load(ParamSource p, String prefix, int dim, int heads, SlstmBackend backend,
                                 BiasInit biasInit, RecurrentWeightInit recurrentInit, int blockIdx, int numBlocks) {
        int dh = dim / heads;
        Init rInit = recurrentInit == RecurrentWeightInit.ZEROS ? Init.zeros() : Init.uniform(1.0 / Math.sqrt(dim));
        float[] biasExt = initialBias(biasInit, heads, dh, dim, blockIdx, numBlocks, new java.util.SplittableRandom(blockIdx));
        Tensor canonicalR, canonicalB;
        if (backend == SlstmBackend.CUDA) {
            Tensor r = p.get(prefix + "._recurrent_kernel_", rInit, heads, dh, 4 * dh);
            Tensor b = p.get(prefix + "._bias_", Init.values(biasExt), 4 * dim);
            canonicalR = r.view(heads, dh, 4, dh);
            canonicalB = b.view(heads, 4, dh);
        } else {
            Tensor r = p.get(prefix + "._recurrent_kernel_", rInit, heads, 4 * dh, dh);
            Tensor b = p.get(prefix + "._bias_", Init.values(permuteBias(biasExt, heads, dh, true)), 4 * dim);
            canonicalR = p.derived(heads, dh, 4, dh);
            canonicalB = p.derived(heads, 4, dh);
            return new SlstmCell(canonicalR, canonicalB, r, b);
        }
        return new SlstmCell(canonicalR, canonicalB);
    }

    /**
     * Vanilla layout: the kernel's copies follow the official tensors (also after they changed in place in
     * training). Stored R (NH, 4, DH_out, DH_in) → logical (NH, DH_in, 4, DH_out); stored bias gate-major
     * (4, NH, DH) → head-major (NH, 4, DH). Done by the backend, so it works wherever the parameters live.
     */
    private synchronized void refresh(Ops ops) {
        if (storedR == null || (storedR.version() == derivedFromR && storedB.version() == derivedFromB)) return;
        int dh = dim / heads;
        ops.permute(storedR.view(heads, 4, dh, dh), new int[] {0, 3, 1, 2}, recurrent);
        ops.permute(storedB.view(4, heads, dh), new int[] {1, 0, 2}, bias);
        recurrent.markModified();
        bias.markModified();
        derivedFromR = storedR.version();
        derivedFromB = storedB.version();
    }

    /** head-major (NH, 4, DH) ↔ gate-major (4, NH, DH). */
    private static float[] permuteBias(float[] in, int heads, int dh, boolean headToGateMajor) {
        float[] out = new float[in.length];
        for (int h = 0; h < heads; h++)
            for (int g = 0; g < 4; g++)
                for (int j = 0; j < dh; j++) {
                    int hm = (h * 4 + g) * dh + j, gm = (g * heads + h) * dh + j;
                    if (headToGateMajor) out[gm] = in[hm];
                    else out[hm] = in[gm];
                }
        return out;
    }

    /** The official gate-bias initialisations, in the logical (NH, 4, DH) layout. */
    static float[] initialBias(BiasInit init, int heads, int dh, int hidden, int blockIdx, int numBlocks,
                               java.util.SplittableRandom rnd) {
        float[] b = new float[heads * 4 * dh];
        for (int h = 0; h < heads; h++)
            for (int g = 0; g < 4; g++)
                for (int j = 0; j < dh; j++) {
                    double v = 0;
                    switch (init) {
                        case POWERLAW_BLOCKDEPENDENT -> {
                            if (g == 1) {
                                double ratio = numBlocks > 1 ? (double) blockIdx / (numBlocks - 1) : 0.0;
                                double x = dh > 1 ? (double) j / (dh - 1) : 0.0;
                                v = -(-5.0 + 12.0 * Math.pow(x, 0.3 + 1.3 * ratio));
                            }
                        }
                        case SMALL_INIT -> {
                            if (g == 1) v = dh > 1 ? 3.0 + 3.0 * j / (dh - 1) : 3.0;
                        }
                        case STANDARD -> v = (rnd.nextDouble() * 2 - 1) / Math.sqrt(hidden);
                        case ZEROS -> v = 0;
                    }
                    b[(h * 4 + g) * dh + j] = (float) v;
                }
        return b;
    }

    public int heads() { return heads; }

    public SlstmState newState(Ops ops, int batch) { return new SlstmState(ops, batch, dim); }

    /** Gate inputs {@code [B, S, D]} each (i, f, z, o) → h sequence {@code [B, S, D]}; the state (if any) is carried. */
    public void forward(Ops ops, Workspace ws, Tensor xi, Tensor xf, Tensor xz, Tensor xo, SlstmState state, Tensor y) {
        refresh(ops);
        SlstmState st = state != null ? state : SlstmState.temporary(ops, ws, xi.dim(0), dim);
        ops.slstmRecurrent(xi, xf, xz, xo, recurrent, bias, st.h(), st.c(), st.n(), st.m(), y);
    }

    // ---------------------------------------------------------------- training

    /**
     * Backward through time from the zero state: dy → gate-input gradients (written); the recurrent-kernel and
     * bias gradients are added in the official stored layout (permuted back for the vanilla layout).
     */
    public void backward(Training tr, Tensor xi, Tensor xf, Tensor xz, Tensor xo, Tensor dy,
                         Tensor dxi, Tensor dxf, Tensor dxz, Tensor dxo) {
        refresh(tr.ops());
        Gradients grads = tr.grads();
        if (storedR == null) {
            tr.grad().slstmBackward(xi, xf, xz, xo, recurrent, bias, dy, dxi, dxf, dxz, dxo, grads.of(recurrent), grads.of(bias));
            return;
        }
        Tensor dr = tr.ws().takeZeroed(recurrent.shape()), db = tr.ws().takeZeroed(bias.shape());
        tr.grad().slstmBackward(xi, xf, xz, xo, recurrent, bias, dy, dxi, dxf, dxz, dxo, dr, db);
        // back to the stored layouts, added to the official gradients
        int dh = dim / heads;
        Tensor gr = grads.of(storedR).view(heads, 4, dh, dh), gb = grads.of(storedB).view(4, heads, dh);
        Tensor pr = tr.ws().take(gr.shape()), pb = tr.ws().take(gb.shape());
        tr.ops().permute(dr, new int[] {0, 2, 3, 1}, pr);
        tr.ops().permute(db, new int[] {1, 0, 2}, pb);
        tr.ops().add(gr, pr, gr);
        tr.ops().add(gb, pb, gb);
    }
}
