package org.xlstm.jvm.nn;

import java.lang.foreign.Arena;
import org.xlstm.jvm.tensor.Tensor;

/**
 * The mLSTM cell's memory per (batch row, head): matrix C {@code [DHQK, DHV]} (accumulating the scaled keys
 * k/√DHQK times values), normaliser n {@code [DHQK]}, stabiliser m. Zeros at the start, as officially.
 */
public final class MlstmState implements BlockState {
    private final Tensor c, n, m;

    public MlstmState(int batch, int heads, int dqk, int dv) {
        Arena a = Arena.ofAuto();
        this.c = Tensor.allocate(a, batch, heads, dqk, dv);
        this.n = Tensor.allocate(a, batch, heads, dqk);
        this.m = Tensor.allocate(a, batch, heads);
    }

    private MlstmState(Tensor c, Tensor n, Tensor m) {
        this.c = c;
        this.n = n;
        this.m = m;
    }

    /** A state in workspace memory: zeros, with the stabiliser set to {@code m0}. */
    static MlstmState temporary(org.xlstm.jvm.tensor.Workspace ws, int batch, int heads, int dqk, int dv, float m0) {
        MlstmState s = new MlstmState(ws.takeZeroed(batch, heads, dqk, dv), ws.takeZeroed(batch, heads, dqk),
                ws.take(batch, heads));
        s.m.fill(m0);
        return s;
    }

    public Tensor c() { return c; }

    public Tensor n() { return n; }

    public Tensor m() { return m; }

    public MlstmState copy() {
        Arena a = Arena.ofAuto();
        Tensor c2 = Tensor.allocate(a, c.shape()), n2 = Tensor.allocate(a, n.shape()), m2 = Tensor.allocate(a, m.shape());
        c2.copyFrom(c);
        n2.copyFrom(n);
        m2.copyFrom(m);
        return new MlstmState(c2, n2, m2);
    }
}
