package org.xlstm.jvm.nn;

import org.xlstm.jvm.backend.Ops;
import org.xlstm.jvm.config.Activation;
import org.xlstm.jvm.config.WeightMode;
import org.xlstm.jvm.config.XlstmLargeConfig;
import org.xlstm.jvm.tensor.Tensor;
import org.xlstm.jvm.tensor.Workspace;

/**
 * The mLSTM layer of xLSTM-7B (official xlstm_large mLSTMLayer): q, k (D → D·qk_dim_factor), v and the output gate
 * (D → D·v_dim_factor), input and forget gates (D → NH, with bias) soft-capped at gate_soft_cap; the cell with
 * q·k/√DHQK and the kernel's eps, starting from a zero state (m = 0, as mlstm_kernels does); each head's output
 * layer-normed (plain weight, norm_eps), times σ(o); {@code out_proj}. The "fused" weight mode stores q,k,v,o and
 * i,f concatenated; we split them at load time into the same matrices.
 */
public final class MlstmLargeLayer {
    private final Linear q, k, v, o, ig, fg, out;
    private final MultiHeadLayerNorm norm;
    private final int heads, qkDim, vDim, chunkSize;
    private final float gateCap, eps;

    private MlstmLargeLayer(Linear q, Linear k, Linear v, Linear o, Linear ig, Linear fg, Linear out,
                            MultiHeadLayerNorm norm, int heads, int qkDim, int vDim, int chunkSize, float gateCap, float eps) {
        this.q = q;
        this.k = k;
        this.v = v;
        this.o = o;
        this.ig = ig;
        this.fg = fg;
        this.out = out;
        this.norm = norm;
        this.heads = heads;
        this.qkDim = qkDim;
        this.vDim = vDim;
        this.chunkSize = chunkSize;
        this.gateCap = gateCap;
        this.eps = eps;
    }

    /** @param prefix e.g. {@code backbone.blocks.0.mlstm_layer} */
    public static MlstmLargeLayer load(ParamSource p, String prefix, XlstmLargeConfig c, int chunkSize) {
        int d = c.embeddingDim(), nh = c.numHeads(), qk = c.qkDim(), vd = c.vDim();
        boolean bias = c.useBias();
        Init lin = Init.torchDefault(d);
        Linear q, k, v, o, ig, fg;
        if (c.weightMode() == WeightMode.FUSED) {
            Linear qkvo = Linear.load(p, prefix + ".qkv_opreact", 2 * qk + 2 * vd, d, bias, lin);
            q = slice(p, qkvo, 0, qk);
            k = slice(p, qkvo, qk, 2 * qk);
            v = slice(p, qkvo, 2 * qk, 2 * qk + vd);
            o = slice(p, qkvo, 2 * qk + vd, 2 * qk + 2 * vd);
            Linear ifg = Linear.load(p, prefix + ".ifgate_preact", 2 * nh, d, true, lin);
            ig = slice(p, ifg, 0, nh);
            fg = slice(p, ifg, nh, 2 * nh);
        } else {
            q = Linear.load(p, prefix + ".q", qk, d, bias, lin);
            k = Linear.load(p, prefix + ".k", qk, d, bias, lin);
            v = Linear.load(p, prefix + ".v", vd, d, bias, lin);
            o = Linear.load(p, prefix + ".ogate_preact", vd, d, bias, lin);
            ig = Linear.load(p, prefix + ".igate_preact", nh, d, true, lin);
            fg = Linear.load(p, prefix + ".fgate_preact", nh, d, true, lin);
        }
        MultiHeadLayerNorm norm = new MultiHeadLayerNorm(p.get(prefix + ".multihead_norm.weight", Init.ones(), vd),
                bias ? p.get(prefix + ".multihead_norm.bias", Init.zeros(), vd) : null, nh, (float) c.normEps(), false);
        Linear out = Linear.load(p, prefix + ".out_proj", d, vd, bias, Init.torchDefault(vd));
        return new MlstmLargeLayer(q, k, v, o, ig, fg, out, norm, nh, qk, vd, chunkSize, (float) c.gateSoftCap(), (float) c.eps());
    }

    /** Rows of a fused official tensor, as a view: training updates the official tensor and its gradient. */
    private static Linear slice(ParamSource p, Linear fused, int from, int to) {
        return new Linear(fused.weight().slice(from, to), fused.bias() == null ? null : fused.bias().slice(from, to));
    }

    public MlstmState newState(Ops ops, int batch) { return new MlstmState(ops, batch, heads, qkDim / heads, vDim / heads); }

    /**
     * Inference inside the pre-norm residual block: y = residual + layer(norm(x)), x {@code [B, S, D]} (y may alias
     * residual). The norm, the projections and the gates' soft cap run as {@link Ops#rmsNormLinears}, the output gate,
     * the output projection and the residual as {@link Ops#headNormGatedLinearAdd}: each is the plain sequence of
     * operations on the CPU and one kernel when the GPU decodes.
     */
    public void forward(Ops ops, Workspace ws, Tensor x, RmsNorm inNorm, MlstmState state, Mode mode, Tensor residual,
                        Tensor y) {
        int b = x.dim(0), s = x.dim(1);
        Tensor qt = ws.take(b, s, qkDim), kt = ws.take(b, s, qkDim), vt = ws.take(b, s, vDim), ot = ws.take(b, s, vDim);
        Tensor it = ws.take(b, s, heads), ft = ws.take(b, s, heads);
        inNorm.forwardLinears(ops, x, ws.take(x.shape()), new Linear[] {q, k, v, o, ig, fg},
                new Tensor[] {qt, kt, vt, ot, it, ft}, 4, gateCap);
        Tensor h = ws.take(b, s, vDim);
        // mlstm_kernels starts every form from m = 0 (chunkwise, sequence and step kernels alike)
        MlstmCell.run(ops, ws, qt, kt, vt, it, ft, state, mode, chunkSize, eps, 0f, 0f, h);
        norm.forwardGatedLinearAdd(ops, h, ot, Activation.SIGMOID, ws.take(b, s, vDim), out, residual,
                ws.take(y.shape()), y);
    }

    // ---------------------------------------------------------------- training

    /** Saved by {@link #forwardTrain}. */
    public record Tape(Tensor x, Tensor q, Tensor k, Tensor v, Tensor o, Tensor iPre, Tensor fPre, Tensor i, Tensor f,
                       Tensor h, Tensor hn, Tensor gated) {}

    /** Training forward from the zero state (m = 0, as mlstm_kernels), chunkwise: x (normalised) → y. */
    public Tape forwardTrain(Training tr, Tensor x, Tensor y) {
        Ops ops = tr.ops();
        Workspace ws = tr.ws();
        int b = x.dim(0), s = x.dim(1);
        Tensor qt = ws.take(b, s, qkDim), kt = ws.take(b, s, qkDim), vt = ws.take(b, s, vDim), ot = ws.take(b, s, vDim);
        Tensor iPre = ws.take(b, s, heads), fPre = ws.take(b, s, heads);
        q.forward(ops, x, qt);
        k.forward(ops, x, kt);
        v.forward(ops, x, vt);
        o.forward(ops, x, ot);
        ig.forward(ops, x, iPre);
        fg.forward(ops, x, fPre);
        Tensor it = iPre, ft = fPre;
        if (gateCap > 0) {
            it = ws.take(b, s, heads);
            ft = ws.take(b, s, heads);
            ops.softCap(iPre, gateCap, it);
            ops.softCap(fPre, gateCap, ft);
        }
        Tensor h = ws.take(b, s, vDim);
        MlstmState st = MlstmState.temporary(ops, ws, b, heads, qkDim / heads, vDim / heads, 0f);
        ops.mlstmChunkwise(qt, kt, vt, it, ft, st.c(), st.n(), st.m(), chunkSize, eps, h);
        Tensor hn = ws.take(b, s, vDim), gated = ws.take(b, s, vDim);
        norm.forward(ops, h, hn);
        ops.mulActivated(hn, Activation.SIGMOID, ot, gated);
        out.forward(ops, gated, y);
        return new Tape(x, qt, kt, vt, ot, iPre, fPre, it, ft, h, hn, gated);
    }

    /** dy → dx (written); every parameter gradient of the layer added. */
    public void backward(Training tr, Tape t, Tensor dy, Tensor dx) {
        Workspace ws = tr.ws();
        int b = t.x().dim(0), s = t.x().dim(1);
        Tensor dGated = ws.take(b, s, vDim), dhn = ws.take(b, s, vDim), dO = ws.take(b, s, vDim), dh = ws.take(b, s, vDim);
        out.backward(tr, t.gated(), dy, dGated, false);
        tr.grad().mulActivatedBackward(t.hn(), Activation.SIGMOID, t.o(), dGated, dhn, dO);
        norm.backward(tr, t.h(), dhn, dh);
        Tensor dq = ws.take(b, s, qkDim), dk = ws.take(b, s, qkDim), dv = ws.take(b, s, vDim);
        Tensor di = ws.take(b, s, heads), df = ws.take(b, s, heads);
        tr.grad().mlstmChunkwiseBackward(t.q(), t.k(), t.v(), t.i(), t.f(), 0f, chunkSize, eps, dh, dq, dk, dv, di, df);
        if (gateCap > 0) {
            tr.grad().softCapBackward(t.iPre(), gateCap, di, di);
            tr.grad().softCapBackward(t.fPre(), gateCap, df, df);
        }
        q.backward(tr, t.x(), dq, dx, false);
        k.backward(tr, t.x(), dk, dx, true);
        v.backward(tr, t.x(), dv, dx, true);
        o.backward(tr, t.x(), dO, dx, true);
        ig.backward(tr, t.x(), di, dx, true);
        fg.backward(tr, t.x(), df, dx, true);
    }
}
