package org.xlstm.jvm.backend;

import org.xlstm.jvm.tensor.Shapes;
import org.xlstm.jvm.tensor.Tensor;

/** Shape checks of the backward operations that {@link OpChecks} does not already cover. */
public final class GradChecks {
    private GradChecks() {}

    static IllegalArgumentException bad(String op, String msg) {
        return new IllegalArgumentException(op + ": " + msg);
    }

    /** Same shape, or null (a gradient that is not wanted). */
    public static void sameOrNull(String op, String what, Tensor ref, Tensor t) {
        if (t != null && (t.size() != ref.size() || t.cols() != ref.cols()))
            throw bad(op, what + " " + Shapes.format(t.shape()) + " does not match " + Shapes.format(ref.shape()));
    }

    public static void slstm(Tensor xi, Tensor xf, Tensor xz, Tensor xo, Tensor r, Tensor bias, Tensor dy,
                             Tensor dxi, Tensor dxf, Tensor dxz, Tensor dxo, Tensor dr, Tensor dbias) {
        String op = "slstmBackward";
        if (r.rank() != 4 || r.dim(2) != 4 || r.dim(1) != r.dim(3))
            throw bad(op, "recurrent kernel must be (NH, DH, 4, DH); got " + Shapes.format(r.shape()));
        int d = r.dim(0) * r.dim(1);
        if (xi.rank() != 3 || xi.dim(2) != d) throw bad(op, "gate input must be (B, S, " + d + "); got " + Shapes.format(xi.shape()));
        for (Tensor t : new Tensor[] {xf, xz, xo, dy}) OpChecks.sameShape(op, xi, t);
        for (Tensor t : new Tensor[] {dxi, dxf, dxz, dxo}) sameOrNull(op, "gate gradient", xi, t);
        if (bias.size() != 4L * d) throw bad(op, "bias " + Shapes.format(bias.shape()) + " for 4·" + d + " gate pre-activations");
        if (dr != null && dr.size() != r.size()) throw bad(op, "dr " + Shapes.format(dr.shape()) + " for kernel " + Shapes.format(r.shape()));
        if (dbias != null && dbias.size() != bias.size()) throw bad(op, "dbias " + Shapes.format(dbias.shape()) + " for bias " + Shapes.format(bias.shape()));
    }

    public static void mlstm(Tensor q, Tensor k, Tensor v, Tensor i, Tensor f, Tensor dh, int chunk,
                             Tensor dq, Tensor dk, Tensor dv, Tensor di, Tensor df) {
        MlstmShapes.of(q, k, v, i, f, dh, null, null, null);
        String op = "mlstmChunkwiseBackward";
        if (chunk <= 0) throw bad(op, "chunk size must be positive; got " + chunk);
        sameOrNull(op, "dq", q, dq);
        sameOrNull(op, "dk", k, dk);
        sameOrNull(op, "dv", v, dv);
        sameOrNull(op, "di", i, di);
        sameOrNull(op, "df", f, df);
    }

    public static int crossEntropy(Tensor logits, int[] targets, Tensor dLogits) {
        int rows = logits.rows(), vocab = logits.cols();
        if (targets.length != rows)
            throw bad("crossEntropy", targets.length + " targets for " + rows + " rows of logits " + Shapes.format(logits.shape()));
        if (dLogits != null) OpChecks.sameShape("crossEntropy", logits, dLogits);
        int count = 0;
        for (int r = 0; r < rows; r++) {
            int t = targets[r];
            if (t == -1) continue;
            if (t < 0 || t >= vocab)
                throw bad("crossEntropy", "target " + t + " at row " + r + " is outside the vocabulary [0, " + vocab
                        + ") and is not the ignore index -1");
            count++;
        }
        return count;
    }
}
