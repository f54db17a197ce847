package org.xlstm.jvm.backend;

import org.xlstm.jvm.tensor.Shapes;
import org.xlstm.jvm.tensor.Tensor;

/**
 * Checked dimensions of an mLSTM cell call and the strided addressing of its (B, S, NH·DH) operands.
 *
 * @param dqk query/key head dimension
 * @param dv  value head dimension
 */
public record MlstmShapes(int batch, int seq, int heads, int dqk, int dv) {

    public static MlstmShapes of(Tensor q, Tensor k, Tensor v, Tensor i, Tensor f, Tensor h, Tensor c, Tensor n, Tensor m) {
        if (q.rank() != 3 || i.rank() != 3)
            throw new IllegalArgumentException("mLSTM: q must be (B, S, NH·DHQK) and i (B, S, NH); got "
                    + Shapes.format(q.shape()) + " and " + Shapes.format(i.shape()));
        int b = q.dim(0), s = q.dim(1), nh = i.dim(2);
        if (q.dim(2) % nh != 0 || v.dim(2) % nh != 0)
            throw new IllegalArgumentException("mLSTM: q " + Shapes.format(q.shape()) + " / v " + Shapes.format(v.shape())
                    + " not divisible into " + nh + " heads");
        int dqk = q.dim(2) / nh, dv = v.dim(2) / nh;
        check("k", k, b, s, nh * dqk);
        check("v", v, b, s, nh * dv);
        check("i", i, b, s, nh);
        check("f", f, b, s, nh);
        check("h", h, b, s, nh * dv);
        if (c != null && c.size() != (long) b * nh * dqk * dv)
            throw new IllegalArgumentException("mLSTM: state C must be (" + b + ", " + nh + ", " + dqk + ", " + dv + "); got " + Shapes.format(c.shape()));
        if (n != null && n.size() != (long) b * nh * dqk)
            throw new IllegalArgumentException("mLSTM: state n must be (" + b + ", " + nh + ", " + dqk + "); got " + Shapes.format(n.shape()));
        if (m != null && m.size() != (long) b * nh)
            throw new IllegalArgumentException("mLSTM: state m must be (" + b + ", " + nh + "); got " + Shapes.format(m.shape()));
        return new MlstmShapes(b, s, nh, dqk, dv);
    }

    private static void check(String name, Tensor t, int b, int s, int d) {
        if (t.rank() != 3 || t.dim(0) != b || t.dim(1) != s || t.dim(2) != d)
            throw new IllegalArgumentException("mLSTM: " + name + " must be (" + b + ", " + s + ", " + d + "); got " + Shapes.format(t.shape()));
    }

    /** Flat index of q or k element (batch b, time t, head h, dim d). */
    public long qk(int b, int t, int h, int d) { return ((long) b * seq + t) * heads * dqk + (long) h * dqk + d; }

    /** Flat index of a v or h element. */
    public long v(int b, int t, int h, int d) { return ((long) b * seq + t) * heads * dv + (long) h * dv + d; }
}
