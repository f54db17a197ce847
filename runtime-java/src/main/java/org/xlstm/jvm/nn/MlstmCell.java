package org.xlstm.jvm.nn;

import org.xlstm.jvm.backend.Ops;
import org.xlstm.jvm.tensor.Tensor;
import org.xlstm.jvm.tensor.Workspace;

/**
 * The mLSTM cell of the xLSTM LM (official mLSTMCell): input and forget gate pre-activations from
 * concat(q, k, v) by {@code igate}, {@code fgate} (Linear 3u → NH, with bias), the matrix-memory recurrence over the
 * heads (XLSTM.md §3), then {@code outnorm} (MultiHeadLayerNorm).
 */
public final class MlstmCell {
    /** eps of the official mLSTM backends (parallel_stabilized_simple, recurrent_step_stabilized_simple). */
    public static final float EPS = 1e-6f;

    private final Linear igate, fgate;
    private final MultiHeadLayerNorm outnorm;
    private final int heads, inner, chunkSize;

    public MlstmCell(Linear igate, Linear fgate, MultiHeadLayerNorm outnorm, int heads, int inner, int chunkSize) {
        this.igate = igate;
        this.fgate = fgate;
        this.outnorm = outnorm;
        this.heads = heads;
        this.inner = inner;
        this.chunkSize = chunkSize;
    }

    /** Loads {@code prefix.igate}, {@code prefix.fgate}, {@code prefix.outnorm} with the official initialisation. */
    public static MlstmCell load(ParamSource p, String prefix, int inner, int heads, int chunkSize) {
        Linear ig = new Linear(p.get(prefix + ".igate.weight", Init.zeros(), heads, 3 * inner),
                p.get(prefix + ".igate.bias", Init.normal(0.1), heads));
        Linear fg = new Linear(p.get(prefix + ".fgate.weight", Init.zeros(), heads, 3 * inner),
                p.get(prefix + ".fgate.bias", Init.linspace(3.0, 6.0), heads));
        return new MlstmCell(ig, fg, MultiHeadLayerNorm.xlstm(p, prefix + ".outnorm", heads, inner), heads, inner, chunkSize);
    }

    public int heads() { return heads; }

    public MlstmState newState(Ops ops, int batch) { return new MlstmState(ops, batch, heads, inner / heads, inner / heads); }

    /** q, k, v {@code [B, S, u]} → normalised cell output {@code [B, S, u]}; the state (if any) is carried. */
    public Tensor forward(Ops ops, Workspace ws, Tensor q, Tensor k, Tensor v, MlstmState state, Mode mode) {
        int b = q.dim(0), s = q.dim(1);
        Tensor gin = ws.take(b, s, 3 * inner);
        ops.concatColumns(new Tensor[] {q, k, v}, gin);
        Tensor ig = ws.take(b, s, heads), fg = ws.take(b, s, heads);
        igate.forward(ops, gin, ig);
        fgate.forward(ops, gin, fg);
        Tensor h = ws.take(b, s, inner);
        // Fresh state: m = −∞ makes the chunkwise form the official parallel form exactly; the official recurrent
        // form starts from m = 0 (both differ only through eps).
        run(ops, ws, q, k, v, ig, fg, state, mode, chunkSize, EPS, Float.NEGATIVE_INFINITY, 0f, h);
        Tensor out = ws.take(b, s, inner);
        outnorm.forward(ops, h, out);
        return out;
    }

    /**
     * Runs the cell in the requested form. Without a state, PARALLEL uses the quadratic kernel, CHUNKWISE a
     * temporary state with stabiliser {@code freshChunkM}, STEP one with {@code freshStepM}. With a state, PARALLEL
     * and CHUNKWISE continue from it chunkwise (PARALLEL as one chunk over the whole sequence).
     */
    static void run(Ops ops, Workspace ws, Tensor q, Tensor k, Tensor v, Tensor ig, Tensor fg, MlstmState state,
                    Mode mode, int chunkSize, float eps, float freshChunkM, float freshStepM, Tensor h) {
        int b = q.dim(0), s = q.dim(1), nh = ig.dim(2), dqk = q.dim(2) / nh, dv = v.dim(2) / nh;
        switch (mode) {
            case PARALLEL -> {
                if (state == null) ops.mlstmParallel(q, k, v, ig, fg, eps, h);
                else ops.mlstmChunkwise(q, k, v, ig, fg, state.c(), state.n(), state.m(), Math.max(1, s), eps, h);
            }
            case CHUNKWISE -> {
                MlstmState st = state != null ? state : MlstmState.temporary(ops, ws, b, nh, dqk, dv, freshChunkM);
                ops.mlstmChunkwise(q, k, v, ig, fg, st.c(), st.n(), st.m(), chunkSize, eps, h);
            }
            case STEP -> {
                MlstmState st = state != null ? state : MlstmState.temporary(ops, ws, b, nh, dqk, dv, freshStepM);
                ops.mlstmRecurrent(q, k, v, ig, fg, st.c(), st.n(), st.m(), eps, h);
            }
        }
    }

    // ---------------------------------------------------------------- training

    /** Saved by {@link #forwardTrain}. */
    public record Tape(Tensor q, Tensor k, Tensor v, Tensor gateIn, Tensor ig, Tensor fg, Tensor h) {}

    /**
     * Training forward from the zero state with the official parallel-form stabiliser (m = −∞ before the first
     * chunk; with S ≤ chunk size this is the parallel form exactly): q, k, v → normalised output {@code out}.
     */
    public Tape forwardTrain(Training tr, Tensor q, Tensor k, Tensor v, Tensor out) {
        Workspace ws = tr.ws();
        Ops ops = tr.ops();
        int b = q.dim(0), s = q.dim(1);
        Tensor gin = ws.take(b, s, 3 * inner);
        ops.concatColumns(new Tensor[] {q, k, v}, gin);
        Tensor ig = ws.take(b, s, heads), fg = ws.take(b, s, heads);
        igate.forward(ops, gin, ig);
        fgate.forward(ops, gin, fg);
        Tensor h = ws.take(b, s, inner);
        MlstmState st = MlstmState.temporary(ops, ws, b, heads, inner / heads, inner / heads, Float.NEGATIVE_INFINITY);
        ops.mlstmChunkwise(q, k, v, ig, fg, st.c(), st.n(), st.m(), chunkSize, EPS, h);
        outnorm.forward(ops, h, out);
        return new Tape(q, k, v, gin, ig, fg, h);
    }

    /** dOut → dq, dk, dv (written); gate and norm parameter gradients added. */
    public void backward(Training tr, Tape t, Tensor dOut, Tensor dq, Tensor dk, Tensor dv) {
        Workspace ws = tr.ws();
        int b = t.q().dim(0), s = t.q().dim(1);
        Tensor dh = ws.take(b, s, inner);
        outnorm.backward(tr, t.h(), dOut, dh);
        Tensor di = ws.take(b, s, heads), df = ws.take(b, s, heads);
        tr.grad().mlstmChunkwiseBackward(t.q(), t.k(), t.v(), t.ig(), t.fg(), Float.NEGATIVE_INFINITY, chunkSize, EPS,
                dh, dq, dk, dv, di, df);
        Tensor dgin = ws.take(b, s, 3 * inner);
        igate.backward(tr, t.gateIn(), di, dgin, false);
        fgate.backward(tr, t.gateIn(), df, dgin, true);
        tr.grad().splitColumns(dgin, new Tensor[] {dq, dk, dv}, true);
    }
}
