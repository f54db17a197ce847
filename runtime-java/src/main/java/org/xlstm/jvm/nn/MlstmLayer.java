package org.xlstm.jvm.nn;

import org.xlstm.jvm.backend.Ops;
import org.xlstm.jvm.config.Activation;
import org.xlstm.jvm.tensor.Tensor;
import org.xlstm.jvm.tensor.Workspace;

/**
 * The mLSTM layer (official mLSTMLayer), inner dimension u:
 * [x_m, z] = proj_up(x); c = SiLU(conv(x_m)); q = q_proj(c), k = k_proj(c), v = v_proj(x_m);
 * h = (cell(q, k, v) + learnable_skip ⊙ c) ⊙ SiLU(z); y = proj_down(h).
 */
public final class MlstmLayer {
    private final Linear projUpX, projUpZ, projDown;
    private final CausalConv1d conv;
    private final LinearHeadwiseExpand qProj, kProj, vProj;
    private final MlstmCell cell;
    private final Tensor learnableSkip;
    private final int inner;

    private MlstmLayer(Linear projUpX, Linear projUpZ, Linear projDown, CausalConv1d conv, LinearHeadwiseExpand q,
                       LinearHeadwiseExpand k, LinearHeadwiseExpand v, MlstmCell cell, Tensor skip, int inner) {
        this.projUpX = projUpX;
        this.projUpZ = projUpZ;
        this.projDown = projDown;
        this.conv = conv;
        this.qProj = q;
        this.kProj = k;
        this.vProj = v;
        this.cell = cell;
        this.learnableSkip = skip;
        this.inner = inner;
    }

    /**
     * @param prefix    e.g. {@code xlstm_block_stack.blocks.0.xlstm}
     * @param blocksize qkv_proj_blocksize: q/k/v are LinearHeadwiseExpand with u/blocksize blocks
     */
    public static MlstmLayer load(ParamSource p, String prefix, int dim, int inner, int heads, int convKernel,
                                  int blocksize, boolean bias, int numBlocks, int chunkSize) {
        Linear up = Linear.load(p, prefix + ".proj_up", 2 * inner, dim, bias, Init.smallInit(dim));
        // x_m is the first half of proj_up's output, z the second: two matrices, same dot products. They are slices
        // of the official tensor, so training updates it in place and their gradients land in its gradient.
        Linear upX = new Linear(up.weight().slice(0, inner), bias ? up.bias().slice(0, inner) : null);
        Linear upZ = new Linear(up.weight().slice(inner, 2 * inner), bias ? up.bias().slice(inner, 2 * inner) : null);
        int blocks = inner / blocksize;
        // q/k/v use small_init with the embedding dim (not the inner one), as the official layer does
        LinearHeadwiseExpand q = LinearHeadwiseExpand.load(p, prefix + ".q_proj", inner, blocks, bias, Init.smallInit(dim));
        LinearHeadwiseExpand k = LinearHeadwiseExpand.load(p, prefix + ".k_proj", inner, blocks, bias, Init.smallInit(dim));
        LinearHeadwiseExpand v = LinearHeadwiseExpand.load(p, prefix + ".v_proj", inner, blocks, bias, Init.smallInit(dim));
        CausalConv1d conv = CausalConv1d.load(p, prefix + ".conv1d", inner, convKernel);
        MlstmCell cell = MlstmCell.load(p, prefix + ".mlstm_cell", inner, heads, chunkSize);
        Tensor skip = p.get(prefix + ".learnable_skip", Init.ones(), inner);
        Linear down = Linear.load(p, prefix + ".proj_down", dim, inner, bias, Init.wangInit(dim, numBlocks));
        return new MlstmLayer(upX, upZ, down, conv, q, k, v, cell, skip, inner);
    }

    public State newState(Ops ops, int batch) { return new State(conv.newState(ops, batch), cell.newState(ops, batch)); }

    /** x {@code [B, S, D]} (already normalised) → y {@code [B, S, D]}. */
    public void forward(Ops ops, Workspace ws, Tensor x, State state, Mode mode, Tensor y) {
        int b = x.dim(0), s = x.dim(1);
        Tensor xm = ws.take(b, s, inner), z = ws.take(b, s, inner), c = ws.take(b, s, inner);
        projUpX.forward(ops, x, xm);
        projUpZ.forward(ops, x, z);
        conv.forward(ops, xm, state == null ? null : state.conv(), c);
        ops.activation(Activation.SWISH, c, c);
        Tensor q = ws.take(b, s, inner), k = ws.take(b, s, inner), v = ws.take(b, s, inner);
        qProj.forward(ops, c, q);
        kProj.forward(ops, c, k);
        vProj.forward(ops, xm, v);
        Tensor h = cell.forward(ops, ws, q, k, v, state == null ? null : state.cell(), mode);
        ops.addScaled(h, learnableSkip, c, h);
        ops.mulActivated(h, Activation.SWISH, z, h);
        projDown.forward(ops, h, y);
    }

    /** Conv window and cell memory. */
    public record State(ConvState conv, MlstmState cell) implements BlockState {
        public State copy() { return new State(conv.copy(), cell.copy()); }
    }

    // ---------------------------------------------------------------- training

    /** Saved by {@link #forwardTrain}. */
    public record Tape(Tensor x, Tensor xm, Tensor z, Tensor convPre, Tensor c, Tensor q, Tensor k, Tensor v,
                       MlstmCell.Tape cell, Tensor cellOut, Tensor skipped, Tensor gated, float dropout, long dropSeed) {}

    /** Training forward from the zero state: x (normalised) → y, dropout p on the output (official position). */
    public Tape forwardTrain(Training tr, Tensor x, Tensor y, float dropout) {
        Ops ops = tr.ops();
        Workspace ws = tr.ws();
        int b = x.dim(0), s = x.dim(1);
        Tensor xm = ws.take(b, s, inner), z = ws.take(b, s, inner), pre = ws.take(b, s, inner), c = ws.take(b, s, inner);
        projUpX.forward(ops, x, xm);
        projUpZ.forward(ops, x, z);
        conv.forward(ops, xm, null, pre);
        ops.activation(Activation.SWISH, pre, c);
        Tensor q = ws.take(b, s, inner), k = ws.take(b, s, inner), v = ws.take(b, s, inner);
        qProj.forward(ops, c, q);
        kProj.forward(ops, c, k);
        vProj.forward(ops, xm, v);
        Tensor cellOut = ws.take(b, s, inner);
        MlstmCell.Tape ct = cell.forwardTrain(tr, q, k, v, cellOut);
        Tensor skipped = ws.take(b, s, inner), gated = ws.take(b, s, inner);
        ops.addScaled(cellOut, learnableSkip, c, skipped);
        ops.mulActivated(skipped, Activation.SWISH, z, gated);
        projDown.forward(ops, gated, y);
        return new Tape(x, xm, z, pre, c, q, k, v, ct, cellOut, skipped, gated, dropout, tr.dropoutForward(y, dropout));
    }

    /** dy → dx (written); every parameter gradient of the layer added. */
    public void backward(Training tr, Tape t, Tensor dy, Tensor dx) {
        Workspace ws = tr.ws();
        int b = t.x().dim(0), s = t.x().dim(1);
        Tensor g = dy;
        if (t.dropSeed() != 0) {
            g = ws.take(dy.shape());
            tr.grad().dropout(dy, t.dropout(), t.dropSeed(), g);
        }
        Tensor dGated = ws.take(b, s, inner), dSkipped = ws.take(b, s, inner), dz = ws.take(b, s, inner);
        projDown.backward(tr, t.gated(), g, dGated, false);
        tr.grad().mulActivatedBackward(t.skipped(), Activation.SWISH, t.z(), dGated, dSkipped, dz);
        // skipped = cellOut + learnable_skip ⊙ c: dCellOut = dSkipped, dc = skip ⊙ dSkipped
        Tensor dc = ws.take(b, s, inner);
        tr.grad().addScaledBackward(learnableSkip, t.c(), dSkipped, dc, false, tr.grads().of(learnableSkip));
        Tensor dq = ws.take(b, s, inner), dk = ws.take(b, s, inner), dv = ws.take(b, s, inner);
        cell.backward(tr, t.cell(), dSkipped, dq, dk, dv);
        qProj.backward(tr, t.c(), dq, dc, true);
        kProj.backward(tr, t.c(), dk, dc, true);
        Tensor dxm = ws.take(b, s, inner);
        vProj.backward(tr, t.xm(), dv, dxm, false);
        tr.grad().activationBackward(Activation.SWISH, t.convPre(), dc, dc);
        Tensor dxmConv = ws.take(b, s, inner);
        conv.backward(tr, t.xm(), dc, dxmConv);
        tr.ops().add(dxm, dxmConv, dxm);
        projUpX.backward(tr, t.x(), dxm, dx, false);
        projUpZ.backward(tr, t.x(), dz, dx, true);
    }
}
