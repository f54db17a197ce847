package org.xlstm.jvm.backend.cpu;

import static org.xlstm.jvm.backend.cpu.Simd.LANES;
import static org.xlstm.jvm.backend.cpu.Simd.ORDER;
import static org.xlstm.jvm.backend.cpu.Simd.S;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import jdk.incubator.vector.FloatVector;
import org.xlstm.jvm.config.Activation;

/**
 * Elementwise loops over a range [from, to) of floats. One loop method per function, so the JIT sees one small hot
 * loop with the vector function inlined (a switch inside the loop, or a shared helper returning vectors, would leave
 * calls it declines to inline — and then every vector is a heap object). The few elements after the last whole
 * vector go through the same vector code on a zero-padded copy, so an element's result never depends on where it
 * sits in the tensor (a token gives the same bits whether it is stepped alone or part of a batch).
 */
final class Elementwise {
    private Elementwise() {}

    private static final ValueLayout.OfFloat F = ValueLayout.JAVA_FLOAT;

    static void activation(Activation act, MemorySegment x, MemorySegment y, long from, long to) {
        long end = from + (to - from) / LANES * LANES;
        switch (act) {
            case GELU -> gelu(x, y, from, end);
            case SWISH -> silu(x, y, from, end);
            case SIGMOID -> sigmoid(x, y, from, end);
            case RELU -> relu(x, y, from, end);
            case RELU2 -> relu2(x, y, from, end);
            case SELU -> selu(x, y, from, end);
        }
        if (end < to) {
            float[] t = tail(x, end, to, 12);
            VectorMath.apply(act, FloatVector.fromArray(S, t, 0)).intoArray(t, 0);
            MemorySegment.copy(t, 0, y, F, end * 4, (int) (to - end));
        }
    }

    /**
     * A zero-padded on-heap copy of x[from, to) (fewer than LANES floats). Tails are computed from arrays in their
     * own code, never by the segment loops: mixing heap and native segments in one loop makes its vector accesses
     * polymorphic, and the JIT then boxes them.
     */
    private static float[] tail(MemorySegment x, long from, long to, int slot) {
        float[] a = Scratch.floats(slot, LANES);
        java.util.Arrays.fill(a, 0, LANES, 0f);
        MemorySegment.copy(x, F, from * 4, a, 0, (int) (to - from));
        return a;
    }

    private static FloatVector ld(MemorySegment s, long i) { return FloatVector.fromMemorySegment(S, s, i * 4, ORDER); }

    private static void gelu(MemorySegment x, MemorySegment y, long from, long end) {
        for (long i = from; i < end; i += LANES) VectorMath.gelu(ld(x, i)).intoMemorySegment(y, i * 4, ORDER);
    }

    private static void silu(MemorySegment x, MemorySegment y, long from, long end) {
        for (long i = from; i < end; i += LANES) {
            FloatVector v = ld(x, i);
            v.mul(VectorMath.sigmoid(v)).intoMemorySegment(y, i * 4, ORDER);
        }
    }

    private static void sigmoid(MemorySegment x, MemorySegment y, long from, long end) {
        for (long i = from; i < end; i += LANES) VectorMath.sigmoid(ld(x, i)).intoMemorySegment(y, i * 4, ORDER);
    }

    private static void relu(MemorySegment x, MemorySegment y, long from, long end) {
        for (long i = from; i < end; i += LANES) ld(x, i).max(0f).intoMemorySegment(y, i * 4, ORDER);
    }

    private static void relu2(MemorySegment x, MemorySegment y, long from, long end) {
        for (long i = from; i < end; i += LANES) {
            FloatVector r = ld(x, i).max(0f);
            r.mul(r).intoMemorySegment(y, i * 4, ORDER);
        }
    }

    private static void selu(MemorySegment x, MemorySegment y, long from, long end) {
        for (long i = from; i < end; i += LANES) VectorMath.apply(Activation.SELU, ld(x, i)).intoMemorySegment(y, i * 4, ORDER);
    }

    /** y = x ⊙ act(g). */
    static void mulActivated(MemorySegment x, Activation act, MemorySegment g, MemorySegment y, long from, long to) {
        long end = from + (to - from) / LANES * LANES;
        switch (act) {
            case SWISH -> mulSilu(x, g, y, from, end);
            case SIGMOID -> mulSigmoid(x, g, y, from, end);
            case GELU -> mulGelu(x, g, y, from, end);
            default -> mulOther(x, act, g, y, from, end);
        }
        if (end < to) {
            float[] tx = tail(x, end, to, 12), tg = tail(g, end, to, 11);
            FloatVector.fromArray(S, tx, 0).mul(VectorMath.apply(act, FloatVector.fromArray(S, tg, 0))).intoArray(tx, 0);
            MemorySegment.copy(tx, 0, y, F, end * 4, (int) (to - end));
        }
    }

    private static void mulSilu(MemorySegment x, MemorySegment g, MemorySegment y, long from, long end) {
        for (long i = from; i < end; i += LANES) {
            FloatVector gv = ld(g, i);
            ld(x, i).mul(gv.mul(VectorMath.sigmoid(gv))).intoMemorySegment(y, i * 4, ORDER);
        }
    }

    private static void mulSigmoid(MemorySegment x, MemorySegment g, MemorySegment y, long from, long end) {
        for (long i = from; i < end; i += LANES)
            ld(x, i).mul(VectorMath.sigmoid(ld(g, i))).intoMemorySegment(y, i * 4, ORDER);
    }

    private static void mulGelu(MemorySegment x, MemorySegment g, MemorySegment y, long from, long end) {
        for (long i = from; i < end; i += LANES)
            ld(x, i).mul(VectorMath.gelu(ld(g, i))).intoMemorySegment(y, i * 4, ORDER);
    }

    private static void mulOther(MemorySegment x, Activation act, MemorySegment g, MemorySegment y, long from, long end) {
        for (long i = from; i < end; i += LANES)
            ld(x, i).mul(VectorMath.apply(act, ld(g, i))).intoMemorySegment(y, i * 4, ORDER);
    }

    static void add(MemorySegment a, MemorySegment b, MemorySegment y, long from, long to) {
        long end = from + (to - from) / LANES * LANES;
        for (long i = from; i < end; i += LANES) ld(a, i).add(ld(b, i)).intoMemorySegment(y, i * 4, ORDER);
        for (long i = end; i < to; i++) y.setAtIndex(F, i, a.getAtIndex(F, i) + b.getAtIndex(F, i));
    }

    /** One row: y = a + w ⊙ b over c columns starting at element {@code base}. */
    static void addScaledRow(MemorySegment a, MemorySegment w, MemorySegment b, MemorySegment y, long base, int c) {
        int end = c / LANES * LANES;
        for (int j = 0; j < end; j += LANES) {
            long i = base + j;
            ld(b, i).fma(FloatVector.fromMemorySegment(S, w, (long) j * 4, ORDER), ld(a, i)).intoMemorySegment(y, i * 4, ORDER);
        }
        for (int j = end; j < c; j++)
            y.setAtIndex(F, base + j, Math.fma(b.getAtIndex(F, base + j), w.getAtIndex(F, j), a.getAtIndex(F, base + j)));
    }

    static void softCap(MemorySegment x, float cap, MemorySegment y, long from, long to) {
        long end = from + (to - from) / LANES * LANES;
        for (long i = from; i < end; i += LANES) VectorMath.softCap(ld(x, i), cap).intoMemorySegment(y, i * 4, ORDER);
        if (end < to) {
            float[] t = tail(x, end, to, 12);
            VectorMath.softCap(FloatVector.fromArray(S, t, 0), cap).intoArray(t, 0);
            MemorySegment.copy(t, 0, y, F, end * 4, (int) (to - end));
        }
    }
}
