package org.xlstm.jvm.backend;

import org.xlstm.jvm.tensor.Shapes;
import org.xlstm.jvm.tensor.Tensor;

/** Shape checks shared by all backends, so a bad call fails the same way on each, naming the operation and shapes. */
public final class OpChecks {
    private OpChecks() {}

    static IllegalArgumentException bad(String op, String msg) {
        return new IllegalArgumentException(op + ": " + msg);
    }

    public static void sameShape(String op, Tensor a, Tensor b) {
        if (a.size() != b.size() || a.cols() != b.cols())
            throw bad(op, "shapes differ: " + Shapes.format(a.shape()) + " vs " + Shapes.format(b.shape()));
    }

    public static void linear(Tensor x, Tensor w, Tensor b, Tensor y) {
        if (w.rank() != 2) throw bad("linear", "weight must be (out, in); got " + Shapes.format(w.shape()));
        int out = w.dim(0), in = w.dim(1);
        if (x.cols() != in) throw bad("linear", "input has " + x.cols() + " features, weight " + Shapes.format(w.shape()) + " expects " + in);
        if (y.cols() != out || y.rows() != x.rows())
            throw bad("linear", "output " + Shapes.format(y.shape()) + " does not fit input " + Shapes.format(x.shape())
                    + " and weight " + Shapes.format(w.shape()));
        if (b != null && b.size() != out) throw bad("linear", "bias " + Shapes.format(b.shape()) + " for " + out + " outputs");
    }

    public static void matmul(Tensor a, Tensor b, Tensor c) {
        if (a.rank() != 2 || b.rank() != 2 || c.rank() != 2 || a.dim(1) != b.dim(0) || c.dim(0) != a.dim(0) || c.dim(1) != b.dim(1))
            throw bad("matmul", "cannot multiply " + Shapes.format(a.shape()) + " by " + Shapes.format(b.shape())
                    + " into " + Shapes.format(c.shape()));
    }

    public static void linearHeadwise(Tensor x, Tensor w, Tensor b, Tensor y) {
        if (w.rank() != 3) throw bad("linearHeadwise", "weight must be (heads, out, in); got " + Shapes.format(w.shape()));
        int h = w.dim(0), out = w.dim(1), in = w.dim(2);
        if (x.cols() != h * in) throw bad("linearHeadwise", "input has " + x.cols() + " features, weight " + Shapes.format(w.shape()) + " expects " + h * in);
        if (y.cols() != h * out || y.rows() != x.rows())
            throw bad("linearHeadwise", "output " + Shapes.format(y.shape()) + " does not fit weight " + Shapes.format(w.shape()));
        if (b != null && b.size() != (long) h * out) throw bad("linearHeadwise", "bias " + Shapes.format(b.shape()) + " for " + h * out + " outputs");
    }

    public static void embedding(int[] tokens, Tensor table, Tensor y) {
        int v = table.dim(0);
        if (y.rows() != tokens.length || y.cols() != table.dim(1))
            throw bad("embedding", "output " + Shapes.format(y.shape()) + " for " + tokens.length + " tokens of table " + Shapes.format(table.shape()));
        for (int i = 0; i < tokens.length; i++)
            if (tokens[i] < 0 || tokens[i] >= v)
                throw bad("embedding", "token id " + tokens[i] + " at position " + i + " is outside the vocabulary [0, " + v + ")");
    }

    public static void addScaled(Tensor a, Tensor w, Tensor b, Tensor y) {
        sameShape("addScaled", a, b);
        sameShape("addScaled", a, y);
        if (w.size() != a.cols()) throw bad("addScaled", "scale " + Shapes.format(w.shape()) + " for " + a.cols() + " columns");
    }

    public static void concat(Tensor[] parts, Tensor y) {
        int total = 0;
        for (Tensor p : parts) {
            if (p.rows() != y.rows()) throw bad("concatColumns", "part " + Shapes.format(p.shape()) + " has not the " + y.rows() + " rows of the output");
            total += p.cols();
        }
        if (total != y.cols()) throw bad("concatColumns", "parts have " + total + " columns, output " + y.cols());
    }

    public static void conv(Tensor x, Tensor w, Tensor bias, Tensor window, Tensor y) {
        if (x.rank() != 3) throw bad("causalConv1d", "input must be (B, S, F); got " + Shapes.format(x.shape()));
        int f = x.dim(2);
        if (w.rank() != 2 || w.dim(0) != f || w.dim(1) < 1)
            throw bad("causalConv1d", "weight must be (" + f + ", K); got " + Shapes.format(w.shape()));
        if (bias != null && bias.size() != f) throw bad("causalConv1d", "bias " + Shapes.format(bias.shape()) + " for " + f + " features");
        sameShape("causalConv1d", x, y);
        if (window != null && (window.rank() != 3 || window.dim(0) != x.dim(0) || window.dim(1) != w.dim(1) - 1 || window.dim(2) != f))
            throw bad("causalConv1d", "window must be (" + x.dim(0) + ", " + (w.dim(1) - 1) + ", " + f + "); got " + Shapes.format(window.shape()));
    }

    public static void slstm(Tensor xi, Tensor xf, Tensor xz, Tensor xo, Tensor r, Tensor bias,
                             Tensor h, Tensor c, Tensor n, Tensor m, Tensor y) {
        if (r.rank() != 4 || r.dim(2) != 4 || r.dim(1) != r.dim(3))
            throw bad("slstmRecurrent", "recurrent kernel must be (NH, DH, 4, DH); got " + Shapes.format(r.shape()));
        int nh = r.dim(0), dh = r.dim(1), d = nh * dh;
        if (xi.rank() != 3 || xi.dim(2) != d) throw bad("slstmRecurrent", "gate input must be (B, S, " + d + "); got " + Shapes.format(xi.shape()));
        for (Tensor t : new Tensor[] {xf, xz, xo, y}) sameShape("slstmRecurrent", xi, t);
        if (bias.size() != 4L * d) throw bad("slstmRecurrent", "bias " + Shapes.format(bias.shape()) + " for 4·" + d + " gate pre-activations");
        long stateSize = (long) xi.dim(0) * d;
        for (Tensor t : new Tensor[] {h, c, n, m})
            if (t.size() != stateSize) throw bad("slstmRecurrent", "state " + Shapes.format(t.shape()) + " for batch " + xi.dim(0) + " and " + d + " cells");
    }
}
