package org.xlstm.jvm.backend.cpu;

import static org.xlstm.jvm.backend.cpu.Simd.LANES;
import static org.xlstm.jvm.backend.cpu.Simd.ORDER;
import static org.xlstm.jvm.backend.cpu.Simd.S;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import org.xlstm.jvm.config.Activation;

/**
 * Elementwise backward loops over [from, to), one loop method per activation (as {@link Elementwise}): the JIT then
 * sees one small loop with its derivative inlined, and no vector ever crosses a call it might not inline. The few
 * elements after the last whole vector go through {@link VectorGrads} on zero-padded arrays.
 */
final class GradElementwise {
    private GradElementwise() {}

    private static final ValueLayout.OfFloat F = ValueLayout.JAVA_FLOAT;

    private static FloatVector ld(MemorySegment s, long i) { return FloatVector.fromMemorySegment(S, s, i * 4, ORDER); }

    // ---------------------------------------------------------------- dx = dy ⊙ act'(x)

    static void activationBackward(Activation act, MemorySegment x, MemorySegment dy, MemorySegment dx, long from, long to) {
        long end = from + (to - from) / LANES * LANES;
        switch (act) {
            case SWISH -> dSwish(x, dy, dx, from, end);
            case GELU -> dGelu(x, dy, dx, from, end);
            case SIGMOID -> dSigmoid(x, dy, dx, from, end);
            case RELU -> dRelu(x, dy, dx, from, end);
            case RELU2 -> dRelu2(x, dy, dx, from, end);
            case SELU -> dSelu(x, dy, dx, from, end);
        }
        for (long i = end; i < to; i++) {
            float[] t = tail(x, i, 1), g = tail(dy, i, 1);
            float d = VectorGrads.derivative(act, FloatVector.fromArray(S, t, 0)).lane(0);
            dx.setAtIndex(F, i, g[0] * d);
        }
    }

    private static float[] tail(MemorySegment s, long i, int n) {
        float[] a = new float[LANES];
        MemorySegment.copy(s, F, i * 4, a, 0, n);
        return a;
    }

    private static void dSwish(MemorySegment x, MemorySegment dy, MemorySegment dx, long from, long end) {
        for (long i = from; i < end; i += LANES) {
            FloatVector v = ld(x, i), s = VectorMath.sigmoid(v);
            ld(dy, i).mul(v.mul(s.neg().add(1f)).add(1f).mul(s)).intoMemorySegment(dx, i * 4, ORDER);
        }
    }

    private static void dGelu(MemorySegment x, MemorySegment dy, MemorySegment dx, long from, long end) {
        for (long i = from; i < end; i += LANES)
            ld(dy, i).mul(VectorGrads.geluDerivative(ld(x, i))).intoMemorySegment(dx, i * 4, ORDER);
    }

    private static void dSigmoid(MemorySegment x, MemorySegment dy, MemorySegment dx, long from, long end) {
        for (long i = from; i < end; i += LANES) {
            FloatVector s = VectorMath.sigmoid(ld(x, i));
            ld(dy, i).mul(s.mul(s.neg().add(1f))).intoMemorySegment(dx, i * 4, ORDER);
        }
    }

    private static void dRelu(MemorySegment x, MemorySegment dy, MemorySegment dx, long from, long end) {
        for (long i = from; i < end; i += LANES) {
            FloatVector g = ld(dy, i);
            g.blend(0f, ld(x, i).compare(VectorOperators.LE, 0f)).intoMemorySegment(dx, i * 4, ORDER);
        }
    }

    private static void dRelu2(MemorySegment x, MemorySegment dy, MemorySegment dx, long from, long end) {
        for (long i = from; i < end; i += LANES)
            ld(dy, i).mul(ld(x, i).max(0f).mul(2f)).intoMemorySegment(dx, i * 4, ORDER);
    }

    private static void dSelu(MemorySegment x, MemorySegment dy, MemorySegment dx, long from, long end) {
        for (long i = from; i < end; i += LANES)
            ld(dy, i).mul(VectorGrads.derivative(Activation.SELU, ld(x, i))).intoMemorySegment(dx, i * 4, ORDER);
    }

    // ---------------------------------------------------------------- y = x ⊙ act(g): dx = dy ⊙ act(g), dg = dy ⊙ x ⊙ act'(g)

    static void mulActivatedBackward(Activation act, MemorySegment x, MemorySegment g, MemorySegment dy, MemorySegment dx,
                                     MemorySegment dg, long from, long to) {
        long end = from + (to - from) / LANES * LANES;
        if (dx != null && dg != null && act == Activation.SWISH) mulSwishBoth(x, g, dy, dx, dg, from, end);
        else if (dx != null && dg != null && act == Activation.SIGMOID) mulSigmoidBoth(x, g, dy, dx, dg, from, end);
        else if (dx != null && dg != null && act == Activation.GELU) mulGeluBoth(x, g, dy, dx, dg, from, end);
        else mulGeneric(act, x, g, dy, dx, dg, from, end);
        for (long i = end; i < to; i++) {
            float[] xv = tail(x, i, 1), gv = tail(g, i, 1), yv = tail(dy, i, 1);
            FloatVector gg = FloatVector.fromArray(S, gv, 0);
            float a = VectorMath.apply(act, gg).lane(0), d = VectorGrads.derivative(act, gg).lane(0);
            if (dx != null) dx.setAtIndex(F, i, yv[0] * a);
            if (dg != null) dg.setAtIndex(F, i, yv[0] * xv[0] * d);
        }
    }

    private static void mulSwishBoth(MemorySegment x, MemorySegment g, MemorySegment dy, MemorySegment dx, MemorySegment dg,
                                     long from, long end) {
        for (long i = from; i < end; i += LANES) {
            FloatVector gy = ld(dy, i), gv = ld(g, i), xv = ld(x, i);
            FloatVector s = VectorMath.sigmoid(gv);
            FloatVector d = gv.mul(s.neg().add(1f)).add(1f).mul(s);
            FloatVector a = gv.mul(s);
            gy.mul(xv).mul(d).intoMemorySegment(dg, i * 4, ORDER);
            gy.mul(a).intoMemorySegment(dx, i * 4, ORDER);
        }
    }

    private static void mulSigmoidBoth(MemorySegment x, MemorySegment g, MemorySegment dy, MemorySegment dx, MemorySegment dg,
                                       long from, long end) {
        for (long i = from; i < end; i += LANES) {
            FloatVector gy = ld(dy, i), s = VectorMath.sigmoid(ld(g, i)), xv = ld(x, i);
            gy.mul(xv).mul(s.mul(s.neg().add(1f))).intoMemorySegment(dg, i * 4, ORDER);
            gy.mul(s).intoMemorySegment(dx, i * 4, ORDER);
        }
    }

    private static void mulGeluBoth(MemorySegment x, MemorySegment g, MemorySegment dy, MemorySegment dx, MemorySegment dg,
                                    long from, long end) {
        for (long i = from; i < end; i += LANES) {
            FloatVector gy = ld(dy, i), gv = ld(g, i), xv = ld(x, i);
            FloatVector a = VectorMath.gelu(gv), d = VectorGrads.geluDerivative(gv);
            gy.mul(xv).mul(d).intoMemorySegment(dg, i * 4, ORDER);
            gy.mul(a).intoMemorySegment(dx, i * 4, ORDER);
        }
    }

    private static void mulGeneric(Activation act, MemorySegment x, MemorySegment g, MemorySegment dy, MemorySegment dx,
                                   MemorySegment dg, long from, long end) {
        for (long i = from; i < end; i += LANES) {
            FloatVector gy = ld(dy, i), gv = ld(g, i);
            FloatVector b = dg == null ? null : gy.mul(ld(x, i)).mul(VectorGrads.derivative(act, gv));
            if (dx != null) gy.mul(VectorMath.apply(act, gv)).intoMemorySegment(dx, i * 4, ORDER);
            if (b != null) b.intoMemorySegment(dg, i * 4, ORDER);
        }
    }

    // ---------------------------------------------------------------- soft cap

    static void softCapBackward(MemorySegment x, float cap, MemorySegment dy, MemorySegment dx, long from, long to) {
        long end = from + (to - from) / LANES * LANES;
        float inv = 1f / cap;
        for (long i = from; i < end; i += LANES) {
            FloatVector t = VectorMath.tanh(ld(x, i).mul(inv));
            ld(dy, i).mul(t.mul(t).neg().add(1f)).intoMemorySegment(dx, i * 4, ORDER);
        }
        for (long i = end; i < to; i++) {
            double t = Math.tanh(x.getAtIndex(F, i) / cap);
            dx.setAtIndex(F, i, (float) (dy.getAtIndex(F, i) * (1 - t * t)));
        }
    }
}
