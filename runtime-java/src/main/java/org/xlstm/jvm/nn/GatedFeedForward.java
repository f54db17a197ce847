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
        Linear gate = new Linear(Rows.copy(p.arena(), fused.weight(), 0, hidden),
                bias ? Rows.copy(p.arena(), fused.bias(), 0, hidden) : null);
        Linear up = new Linear(Rows.copy(p.arena(), fused.weight(), hidden, 2 * hidden),
                bias ? Rows.copy(p.arena(), fused.bias(), hidden, 2 * hidden) : null);
        Linear down = Linear.load(p, name + ".proj_down", dim, hidden, bias, Init.wangInit(dim, numBlocks));
        return new GatedFeedForward(gate, up, down, act);
    }

    public int hidden() { return up.out(); }

    /** x {@code [B, S, D]} → y {@code [B, S, D]}. */
    public void forward(Ops ops, Workspace ws, Tensor x, Tensor y) {
        int rows = x.rows();
        Tensor g = ws.take(rows, hidden()), u = ws.take(rows, hidden());
        gate.forward(ops, x, g);
        up.forward(ops, x, u);
        ops.mulActivated(u, act, g, u);
        down.forward(ops, u, y);
    }
}
