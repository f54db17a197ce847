package org.xlstm.jvm.nn;

import java.lang.foreign.Arena;
import org.xlstm.jvm.tensor.Tensor;

/** The sLSTM cell's memory per batch row, each {@code [B, NH·DH]}: output h, cell c, normaliser n, stabiliser m. */
public final class SlstmState {
    private final Tensor h, c, n, m;

    public SlstmState(int batch, int dim) {
        Arena a = Arena.ofAuto();
        h = Tensor.allocate(a, batch, dim);
        c = Tensor.allocate(a, batch, dim);
        n = Tensor.allocate(a, batch, dim);
        m = Tensor.allocate(a, batch, dim);
    }

    private SlstmState(Tensor h, Tensor c, Tensor n, Tensor m) {
        this.h = h;
        this.c = c;
        this.n = n;
        this.m = m;
    }

    static SlstmState temporary(org.xlstm.jvm.tensor.Workspace ws, int batch, int dim) {
        return new SlstmState(ws.takeZeroed(batch, dim), ws.takeZeroed(batch, dim), ws.takeZeroed(batch, dim),
                ws.takeZeroed(batch, dim));
    }

    public Tensor h() { return h; }

    public Tensor c() { return c; }

    public Tensor n() { return n; }

    public Tensor m() { return m; }

    public SlstmState copy() {
        SlstmState s = new SlstmState(h.dim(0), h.dim(1));
        s.h.copyFrom(h);
        s.c.copyFrom(c);
        s.n.copyFrom(n);
        s.m.copyFrom(m);
        return s;
    }
}
