package org.xlstm.jvm.nn;

import org.xlstm.jvm.backend.Ops;
import org.xlstm.jvm.config.Activation;
import org.xlstm.jvm.tensor.Tensor;
import org.xlstm.jvm.tensor.Workspace;

/**
 * Gated feed-forward: y = proj_down(act(gate(x)) ⊙ up(x)). The xLSTM LM stores gate and up fused in one
 * {@code proj_up} (2u, D), gate first; xLSTM-7B stores {@code proj_up_gate} and {@code proj_up} apart. We keep the
 * two halves as separate matrices either way: each output is the same dot product, and no split copy is needed.
 */
public final class GatedFeedForward {
    private final Linear gate, up, down;
    private final Activation act;

    public GatedFeedForward(Linear gate, Linear up, Linear down, Activation act) {
        this.gate = gate;
        this.up = up;
        this.down = down;
        this.act = act;
    }

    /** Official xLSTM LM layout: {@code name.proj_up} (2u, D) = [gate; up], {@code name.proj_down} (D, u). */
    public static GatedFeedForward xlstm(ParamSource p, String name, int dim, int hidden, boolean bias, Activation act,
                                         int numBlocks) {
        Linear fused = Linear.load(p, name + ".proj_up", 2 * hidden, dim, bias, Init.smallInit(dim));
        // the halves are slices of the official tensor: training updates it in place, and gradients of the
        // halves land in the right rows of its gradient
        Linear gate = new Linear(fused.weight().slice(0, hidden), bias ? fused.bias().slice(0, hidden) : null);
        Linear up = new Linear(fused.weight().slice(hidden, 2 * hidden), bias ? fused.bias().slice(hidden, 2 * hidden) : null);
        Linear down = Linear.load(p, name + ".proj_down", dim, hidden, bias, Init.wangInit(dim, numBlocks));
        return new GatedFeedForward(gate, up, down, act);
    }

    public int hidden() { return up.out(); }

    /** x {@code [B, S, D]} → y {@code [B, S, D]}. */
    public void forward(Ops ops, Workspace ws, Tensor x, Tensor y) {
        int rows = x.rows();
        Tensor g = ws.take(rows, hidden()), u = ws.take(rows, hidden());
        Linear.forwardAll(ops, x, new Linear[] {gate, up}, new Tensor[] {g, u});
        ops.mulActivated(u, act, g, u);
        down.forward(ops, u, y);
    }

    /** {@link Ops#prefetchHint} for the down projection's weights (read after the gate and up products). */
    public void hintDownWeights(Ops ops) { ops.prefetchHint(down.weight()); }

    /**
     * Inference inside a pre-norm residual block: y = residual + down(act(gate(n)) ⊙ up(n)), n = norm(x), as
     * {@link Ops#rmsNormGatedLinear} then {@link Ops#linearAdd} (y may alias residual).
     */
    public void forwardResidual(Ops ops, Workspace ws, Tensor x, RmsNorm norm, Tensor residual, Tensor y) {
        int rows = x.rows();
        Tensor g = ws.take(rows, hidden()), u = ws.take(rows, hidden());
        norm.forwardGated(ops, x, ws.take(x.shape()), gate, up, act, g, u);
        down.forwardAdd(ops, u, residual, ws.take(y.shape()), y);
    }

    // ---------------------------------------------------------------- training

    /** Saved by {@link #forwardTrain}: the input, both projections, their gated product, the dropout site. */
    public record Tape(Tensor x, Tensor gate, Tensor up, Tensor hidden, float dropout, long dropSeed) {}

    /** Training forward: as {@link #forward}, keeping the intermediates, dropout p on the output (official position). */
    public Tape forwardTrain(Training tr, Tensor x, Tensor y, float dropout) {
        Workspace ws = tr.ws();
        Ops ops = tr.ops();
        int rows = x.rows();
        Tensor g = ws.take(rows, hidden()), u = ws.take(rows, hidden()), h = ws.take(rows, hidden());
        gate.forward(ops, x, g);
        up.forward(ops, x, u);
        ops.mulActivated(u, act, g, h);
        down.forward(ops, h, y);
        return new Tape(x, g, u, h, dropout, tr.dropoutForward(y, dropout));
    }

    /** dy → dx (written, or added to with {@code accumulateDx}); dy is left unchanged. */
    public void backward(Training tr, Tape t, Tensor dy, Tensor dx, boolean accumulateDx) {
        Workspace ws = tr.ws();
        int rows = t.x().rows();
        Tensor g = dy;
        if (t.dropSeed() != 0) {
            g = ws.take(dy.shape());
            tr.grad().dropout(dy, t.dropout(), t.dropSeed(), g);
        }
        Tensor dh = ws.take(rows, hidden()), du = ws.take(rows, hidden()), dg = ws.take(rows, hidden());
        down.backward(tr, t.hidden(), g, dh, false);
        tr.grad().mulActivatedBackward(t.up(), act, t.gate(), dh, du, dg);
        gate.backward(tr, t.x(), dg, dx, accumulateDx);
        up.backward(tr, t.x(), du, dx, true);
    }
}
