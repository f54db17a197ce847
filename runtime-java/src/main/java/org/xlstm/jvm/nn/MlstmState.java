package org.xlstm.jvm.nn;

import org.xlstm.jvm.backend.Ops;
import org.xlstm.jvm.tensor.Tensor;

/**
 * The mLSTM cell's memory per (batch row, head): matrix C {@code [DHQK, DHV]} (accumulating the scaled keys
 * k/√DHQK times values), normaliser n {@code [DHQK]}, stabiliser m. Zeros at the start, as officially.
 */
public final class MlstmState implements BlockState {
    private final Ops ops;
    private final Tensor c, n, m;

    /** Zeros in the memory of {@code ops}. */
    public MlstmState(Ops ops, int batch, int heads, int dqk, int dv) {
        this(ops, ops.allocate(batch, heads, dqk, dv), ops.allocate(batch, heads, dqk), ops.allocate(batch, heads));
    }

    private MlstmState(Ops ops, Tensor c, Tensor n, Tensor m) {
        this.ops = ops;
        this.c = c;
        this.n = n;
        this.m = m;
    }

    /** A state in workspace memory: zeros, with the stabiliser set to {@code m0}. */
    static MlstmState temporary(Ops ops, org.xlstm.jvm.tensor.Workspace ws, int batch, int heads, int dqk, int dv, float m0) {
        MlstmState s = new MlstmState(ops, ws.takeZeroed(batch, heads, dqk, dv), ws.takeZeroed(batch, heads, dqk),
                ws.take(batch, heads));
        ops.fill(s.m, m0);
        return s;
    }

    public Tensor c() { return c; }

    public Tensor n() { return n; }

    public Tensor m() { return m; }

    public MlstmState copy() {
        Tensor c2 = ops.allocate(c.shape()), n2 = ops.allocate(n.shape()), m2 = ops.allocate(m.shape());
        ops.copy(c, c2);
        ops.copy(n, n2);
        ops.copy(m, m2);
        return new MlstmState(ops, c2, n2, m2);
    }
}
