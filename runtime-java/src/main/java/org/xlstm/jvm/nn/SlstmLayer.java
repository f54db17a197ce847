package org.xlstm.jvm.nn;

import org.xlstm.jvm.backend.Ops;
import org.xlstm.jvm.config.Activation;
import org.xlstm.jvm.config.SlstmLayerConfig;
import org.xlstm.jvm.tensor.Tensor;
import org.xlstm.jvm.tensor.Workspace;

/**
 * The sLSTM layer (official sLSTMLayer): c = SiLU(conv(x)) (or x without convolution); gate inputs from four
 * headwise projections — note the official naming quirk: the module named {@code fgate} feeds the input gate and
 * {@code igate} the forget gate (both on c), {@code zgate} and {@code ogate} act on x; the recurrent cell; then
 * {@code group_norm} (MultiHeadLayerNorm).
 */
public final class SlstmLayer {
    private final CausalConv1d conv; // null without convolution
    private final LinearHeadwiseExpand fgate, igate, zgate, ogate;
    private final SlstmCell cell;
    private final MultiHeadLayerNorm groupNorm;
    private final int dim;

    private SlstmLayer(CausalConv1d conv, LinearHeadwiseExpand fgate, LinearHeadwiseExpand igate,
                       LinearHeadwiseExpand zgate, LinearHeadwiseExpand ogate, SlstmCell cell,
                       MultiHeadLayerNorm groupNorm, int dim) {
        this.conv = conv;
        this.fgate = fgate;
        this.igate = igate;
        this.zgate = zgate;
        this.ogate = ogate;
        this.cell = cell;
        this.groupNorm = groupNorm;
        this.dim = dim;
    }

    public static SlstmLayer load(ParamSource p, String prefix, int dim, SlstmLayerConfig c, int blockIdx, int numBlocks) {
        int heads = c.numHeads();
        CausalConv1d conv = c.conv1dKernelSize() > 0 ? CausalConv1d.load(p, prefix + ".conv1d", dim, c.conv1dKernelSize()) : null;
        Init small = Init.smallInit(dim);
        LinearHeadwiseExpand fg = LinearHeadwiseExpand.load(p, prefix + ".fgate", dim, heads, false, small);
        LinearHeadwiseExpand ig = LinearHeadwiseExpand.load(p, prefix + ".igate", dim, heads, false, small);
        LinearHeadwiseExpand zg = LinearHeadwiseExpand.load(p, prefix + ".zgate", dim, heads, false, small);
        LinearHeadwiseExpand og = LinearHeadwiseExpand.load(p, prefix + ".ogate", dim, heads, false, small);
        SlstmCell cell = SlstmCell.load(p, prefix + ".slstm_cell", dim, heads, c.backend(), c.biasInit(),
                c.recurrentWeightInit(), blockIdx, numBlocks);
        MultiHeadLayerNorm gn = c.groupNormWeight()
                ? MultiHeadLayerNorm.xlstm(p, prefix + ".group_norm", heads, dim)
                : new MultiHeadLayerNorm(null, null, heads, LayerNorm.EPS, true);
        return new SlstmLayer(conv, fg, ig, zg, og, cell, gn, dim);
    }

    public State newState(Ops ops, int batch) { return new State(conv == null ? null : conv.newState(ops, batch), cell.newState(ops, batch)); }

    /** x {@code [B, S, D]} (already normalised) → y {@code [B, S, D]}. */
    public void forward(Ops ops, Workspace ws, Tensor x, State state, Tensor y) {
        int b = x.dim(0), s = x.dim(1);
        Tensor c = x;
        if (conv != null) {
            c = ws.take(b, s, dim);
            conv.forward(ops, x, state == null ? null : state.conv(), c);
            ops.activation(Activation.SWISH, c, c);
        }
        Tensor xi = ws.take(b, s, dim), xf = ws.take(b, s, dim), xz = ws.take(b, s, dim), xo = ws.take(b, s, dim);
        fgate.forward(ops, c, xi); // official quirk: "fgate" feeds the input gate
        igate.forward(ops, c, xf); // ... and "igate" the forget gate
        zgate.forward(ops, x, xz);
        ogate.forward(ops, x, xo);
        Tensor h = ws.take(b, s, dim);
        cell.forward(ops, ws, xi, xf, xz, xo, state == null ? null : state.cell(), h);
        groupNorm.forward(ops, h, y);
    }

    /** Conv window (null without convolution) and cell memory. */
    public record State(ConvState conv, SlstmState cell) implements BlockState {
        public State copy() { return new State(conv == null ? null : conv.copy(), cell.copy()); }
    }

    // ---------------------------------------------------------------- training

    /** Saved by {@link #forwardTrain}. */
    public record Tape(Tensor x, Tensor convPre, Tensor c, Tensor xi, Tensor xf, Tensor xz, Tensor xo, Tensor h,
                       Tensor hDropped, float dropout, long dropSeed) {}

    /** Training forward from the zero state: x (normalised) → y, dropout p on the cell output before the group norm (official position). */
    public Tape forwardTrain(Training tr, Tensor x, Tensor y, float dropout) {
        Ops ops = tr.ops();
        Workspace ws = tr.ws();
        int b = x.dim(0), s = x.dim(1);
        Tensor pre = null, c = x;
        if (conv != null) {
            pre = ws.take(b, s, dim);
            c = ws.take(b, s, dim);
            conv.forward(ops, x, null, pre);
            ops.activation(Activation.SWISH, pre, c);
        }
        Tensor xi = ws.take(b, s, dim), xf = ws.take(b, s, dim), xz = ws.take(b, s, dim), xo = ws.take(b, s, dim);
        fgate.forward(ops, c, xi); // official quirk: "fgate" feeds the input gate
        igate.forward(ops, c, xf); // ... and "igate" the forget gate
        zgate.forward(ops, x, xz);
        ogate.forward(ops, x, xo);
        Tensor h = ws.take(b, s, dim);
        cell.forward(ops, ws, xi, xf, xz, xo, null, h);
        Tensor hd = h;
        long seed = 0;
        if (dropout > 0f) {
            hd = ws.take(b, s, dim);
            ops.copy(h, hd);
            seed = tr.dropoutForward(hd, dropout);
        }
        groupNorm.forward(ops, hd, y);
        return new Tape(x, pre, c, xi, xf, xz, xo, h, hd, dropout, seed);
    }

    /** dy → dx (written); every parameter gradient of the layer added. */
    public void backward(Training tr, Tape t, Tensor dy, Tensor dx) {
        Workspace ws = tr.ws();
        int b = t.x().dim(0), s = t.x().dim(1);
        Tensor dh = ws.take(b, s, dim);
        groupNorm.backward(tr, t.hDropped(), dy, dh);
        tr.dropoutBackward(dh, t.dropout(), t.dropSeed());
        Tensor dxi = ws.take(b, s, dim), dxf = ws.take(b, s, dim), dxz = ws.take(b, s, dim), dxo = ws.take(b, s, dim);
        cell.backward(tr, t.xi(), t.xf(), t.xz(), t.xo(), dh, dxi, dxf, dxz, dxo);
        zgate.backward(tr, t.x(), dxz, dx, false);
        ogate.backward(tr, t.x(), dxo, dx, true);
        if (conv == null) {
            fgate.backward(tr, t.c(), dxi, dx, true);
            igate.backward(tr, t.c(), dxf, dx, true);
            return;
        }
        Tensor dc = ws.take(b, s, dim);
        fgate.backward(tr, t.c(), dxi, dc, false);
        igate.backward(tr, t.c(), dxf, dc, true);
        tr.grad().activationBackward(Activation.SWISH, t.convPre(), dc, dc);
        Tensor dxc = ws.take(b, s, dim);
        conv.backward(tr, t.x(), dc, dxc);
        tr.ops().add(dx, dxc, dx);
    }
}
