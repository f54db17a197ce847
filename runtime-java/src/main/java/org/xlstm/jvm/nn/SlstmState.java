package org.xlstm.jvm.nn;

import org.xlstm.jvm.backend.Ops;
import org.xlstm.jvm.tensor.Tensor;

/** The sLSTM cell's memory per batch row, each {@code [B, NH·DH]}: output h, cell c, normaliser n, stabiliser m. */
public final class SlstmState {
    private final Ops ops;
    private final Tensor h, c, n, m;

    /** Zeros in the memory of {@code ops}. */
    public SlstmState(Ops ops, int batch, int dim) {
        this(ops, ops.allocate(batch, dim), ops.allocate(batch, dim), ops.allocate(batch, dim), ops.allocate(batch, dim));
    }

    private SlstmState(Ops ops, Tensor h, Tensor c, Tensor n, Tensor m) {
        this.ops = ops;
        this.h = h;
        this.c = c;
        this.n = n;
        this.m = m;
    }

    static SlstmState temporary(Ops ops, org.xlstm.jvm.tensor.Workspace ws, int batch, int dim) {
        return new SlstmState(ops, ws.takeZeroed(batch, dim), ws.takeZeroed(batch, dim), ws.takeZeroed(batch, dim),
                ws.takeZeroed(batch, dim));
    }

    public Tensor h() { return h; }

    public Tensor c() { return c; }

    public Tensor n() { return n; }

    public Tensor m() { return m; }

    public SlstmState copy() {
        SlstmState s = new SlstmState(ops, h.dim(0), h.dim(1));
        ops.copy(h, s.h);
        ops.copy(c, s.c);
        ops.copy(n, s.n);
        ops.copy(m, s.m);
        return s;
    }
}
