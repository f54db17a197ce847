package org.xlstm.jvm.backend.cuda;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.lang.foreign.Arena;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.xlstm.jvm.backend.DropoutMask;
import org.xlstm.jvm.backend.GradOps;
import org.xlstm.jvm.backend.ReferenceGradOps;
import org.xlstm.jvm.backend.cpu.CpuGradOps;
import org.xlstm.jvm.config.Activation;
import org.xlstm.jvm.cuda.CudaContext;
import org.xlstm.jvm.tensor.Tensor;

/**
 * The CUDA backward ({@link CudaGradOps}) against the double-precision {@link ReferenceGradOps}, method by method,
 * on random and awkward shapes (odd sizes, one row, several reduction chunks, head dims up to 1024), in FP32
 * (normwise relative error 1e-5) and, for the matrix products, in BF16 precision (2e-2). Parameter-gradient outputs
 * start non-zero, so accumulation is checked; accumulate flags are tried both ways and optional outputs left null.
 * Every GPU result is computed twice and must be bit-identical (no order-dependent reductions). Each failure names
 * the case, the output tensor and its relative error. Skipped, with the reason, where there is no GPU.
 */
class CudaGradOpsTest {
    private static final double TOL = 1e-5, BF16_TOL = 2e-2;
    /**
     * Norm input gradients subtract two means from dy: on rows of 1–3 values the result is mostly cancellation (for
     * one value it is exactly 0 up to rounding), so float32 lands further from the double reference than 1e-5.
     */
    private static final double NORM_DX_TOL = 1e-4;
    private static CudaContext ctx;
    private final GradOps ref = new ReferenceGradOps();
    private final Arena arena = Arena.ofShared();
    private final SplittableRandom rnd = new SplittableRandom(11);
    private final List<AutoCloseable> open = new ArrayList<>();
    private CudaOps fp32, bf16;

    @BeforeAll
    static void openContext() {
        assumeTrue(CudaContext.isAvailable(), () -> "GPU tests skipped: " + CudaContext.unavailableReason());
        ctx = CudaContext.open(0);
    }

    @AfterAll
    static void closeContext() {
        if (ctx != null) ctx.close();
    }

    @AfterEach
    void close() throws Exception {
        for (int i = open.size() - 1; i >= 0; i--) open.get(i).close();
        arena.close();
    }

    private CudaOps backend(CudaOps.Precision p) {
        DeviceTensors mem = new DeviceTensors(ctx);
        CudaOps ops = new CudaOps(mem, p);
        open.add(mem);
        open.add(ops);
        return ops;
    }

    private CudaOps fp32() {
        if (fp32 == null) fp32 = backend(CudaOps.Precision.FP32);
        return fp32;
    }

    private CudaOps bf16() {
        if (bf16 == null) bf16 = backend(CudaOps.Precision.BF16);
        return bf16;
    }

    private Tensor rand(double scale, int... shape) {
        Tensor t = Tensor.allocate(arena, shape);
        for (long i = 0; i < t.size(); i++) t.set(i, (float) (rnd.nextGaussian() * scale));
        return t;
    }

    private Tensor copy(Tensor t) {
        Tensor c = Tensor.allocate(arena, t.shape());
        c.copyFrom(t);
        return c;
    }

    /** How a body reaches its inputs: {@code a(t)} is an activation (a device copy on the GPU, t itself for the reference). */
    interface Env {
        Tensor a(Tensor host);
    }

    @FunctionalInterface
    interface Body {
        void run(GradOps g, Env env, Tensor[] out);
    }

    /**
     * Runs {@code body} with the reference on host copies of {@code init} and twice on the GPU on device copies, then
     * checks each non-null output against the reference (relative error ≤ tol) and the two GPU runs for identical bits.
     * Inputs a body passes without {@code env.a} stay host tensors: the GPU takes them as parameters (uploaded, cached).
     */
    private void check(CudaOps gpu, String what, double tol, String[] names, Tensor[] init, Body body) {
        Tensor[] want = new Tensor[init.length];
        for (int i = 0; i < init.length; i++) want[i] = init[i] == null ? null : copy(init[i]);
        body.run(ref, t -> t, want);
        Tensor[] first = runGpu(gpu, init, body), second = runGpu(gpu, init, body);
        for (int i = 0; i < init.length; i++) {
            if (init[i] == null) continue;
            double e = GpuTests.relErr(first[i], want[i]);
            assertTrue(e <= tol, what + " [" + gpu.name() + "]: " + names[i] + " relative error " + e + " (tolerance " + tol + ")");
            assertArrayEquals(first[i].toArray(), second[i].toArray(), what + " [" + gpu.name() + "]: " + names[i]
                    + " differs between two identical runs");
        }
    }

    private Tensor[] runGpu(CudaOps gpu, Tensor[] init, Body body) {
        DeviceTensors mem = gpu.memory();
        Map<Tensor, Tensor> uploaded = new IdentityHashMap<>();
        Tensor[] dev = new Tensor[init.length];
        for (int i = 0; i < init.length; i++) dev[i] = init[i] == null ? null : mem.upload(init[i]);
        body.run(gpu.gradOps(), t -> uploaded.computeIfAbsent(t, mem::upload), dev);
        gpu.synchronize();
        Tensor[] host = new Tensor[init.length];
        for (int i = 0; i < init.length; i++) {
            if (dev[i] == null) continue;
            host[i] = mem.download(dev[i], arena);
            mem.release(dev[i]);
        }
        for (Tensor t : uploaded.values()) mem.release(t);
        return host;
    }

    private static String[] names(String... n) { return n; }

    // ---------------------------------------------------------------- dense algebra

    @Test
    void linearBackward() {
        int[][] shapes = {{1, 1, 1}, {3, 5, 7}, {17, 33, 49}, {64, 128, 96}, {300, 64, 20}, {129, 97, 130}, {700, 40, 33}};
        for (int[] s : shapes) {
            Tensor x = rand(1, s[0], s[1]), w = rand(0.3, s[2], s[1]), dy = rand(1, s[0], s[2]);
            for (boolean acc : new boolean[] {false, true})
                for (CudaOps gpu : new CudaOps[] {fp32(), bf16()}) {
                    String what = "linearBackward " + Arrays.toString(s) + " accumulateDx=" + acc;
                    double tol = gpu == bf16 ? BF16_TOL : TOL;
                    // weights as host parameters (uploaded) on even shapes, as device tensors (resident) on odd ones
                    boolean hostW = s[0] % 2 == 0;
                    check(gpu, what, tol, names("dx", "dw", "db"),
                            new Tensor[] {rand(1, s[0], s[1]), rand(1, s[2], s[1]), rand(1, s[2])},
                            (g, e, o) -> g.linearBackward(e.a(x), hostW ? w : e.a(w), e.a(dy), o[0], acc, o[1], o[2]));
                }
            // optional outputs left out, one at a time
            check(fp32(), "linearBackward " + Arrays.toString(s) + " dx only", TOL, names("dx", "dw", "db"),
                    new Tensor[] {rand(1, s[0], s[1]), null, null},
                    (g, e, o) -> g.linearBackward(e.a(x), w, e.a(dy), o[0], false, null, null));
            check(fp32(), "linearBackward " + Arrays.toString(s) + " no dx", TOL, names("dx", "dw", "db"),
                    new Tensor[] {null, rand(1, s[2], s[1]), rand(1, s[2])},
                    (g, e, o) -> g.linearBackward(e.a(x), w, e.a(dy), null, false, o[1], o[2]));
        }
    }

    /** BF16 products must actually round (error of bf16 size, not float32's) while staying within bf16 tolerance. */
    @Test
    void bf16LinearRoundsItsFactors() {
        Tensor x = rand(1, 37, 256), w = rand(0.1, 130, 256), dy = rand(1, 37, 130);
        Tensor dx = Tensor.allocate(arena, 37, 256), dw = Tensor.allocate(arena, 130, 256);
        ref.linearBackward(x, w, dy, dx, false, dw, null);
        CudaOps gpu = bf16();
        Tensor ddx = gpu.memory().allocate(37, 256), ddw = gpu.memory().upload(Tensor.allocate(arena, 130, 256));
        gpu.gradOps().linearBackward(gpu.memory().upload(x), w, gpu.memory().upload(dy), ddx, false, ddw, null);
        gpu.synchronize();
        double ex = GpuTests.relErr(gpu.memory().download(ddx, arena), dx), ew = GpuTests.relErr(gpu.memory().download(ddw, arena), dw);
        assertTrue(ex > 1e-5 && ex < 1e-2, "bf16 linearBackward dx error " + ex + " (expected bf16-sized, not exact)");
        assertTrue(ew > 1e-5 && ew < 1e-2, "bf16 linearBackward dw error " + ew + " (expected bf16-sized, not exact)");
    }

    @Test
    void matmulBackward() {
        for (int[] s : new int[][] {{1, 1, 1}, {3, 5, 7}, {17, 33, 49}, {129, 97, 130}}) {
            Tensor a = rand(1, s[0], s[1]), b = rand(1, s[1], s[2]), dc = rand(1, s[0], s[2]);
            for (CudaOps gpu : new CudaOps[] {fp32(), bf16()})
                check(gpu, "matmulBackward " + Arrays.toString(s), gpu == bf16 ? BF16_TOL : TOL, names("da", "db"),
                        new Tensor[] {rand(1, s[0], s[1]), rand(1, s[1], s[2])},
                        (g, e, o) -> g.matmulBackward(e.a(a), e.a(b), e.a(dc), o[0], o[1]));
            check(fp32(), "matmulBackward " + Arrays.toString(s) + " db only", TOL, names("da", "db"),
                    new Tensor[] {null, rand(1, s[1], s[2])}, (g, e, o) -> g.matmulBackward(e.a(a), e.a(b), e.a(dc), null, o[1]));
        }
    }

    @Test
    void linearHeadwiseBackward() {
        // (rows, heads, out, in)
        int[][] shapes = {{6, 16, 4, 4}, {5, 3, 4, 4}, {300, 64, 4, 4}, {7, 4, 16, 16}, {300, 4, 32, 32}, {4, 3, 5, 7}, {1, 1, 1, 1}};
        for (int[] s : shapes) {
            Tensor x = rand(1, s[0], s[1] * s[3]), w = rand(0.3, s[1], s[2], s[3]), dy = rand(1, s[0], s[1] * s[2]);
            for (boolean acc : new boolean[] {false, true})
                for (CudaOps gpu : new CudaOps[] {fp32(), bf16()})
                    check(gpu, "linearHeadwiseBackward " + Arrays.toString(s) + " accumulateDx=" + acc,
                            gpu == bf16 ? BF16_TOL : TOL, names("dx", "dw", "db"),
                            new Tensor[] {rand(1, s[0], s[1] * s[3]), rand(1, s[1], s[2], s[3]), rand(1, s[1] * s[2])},
                            (g, e, o) -> g.linearHeadwiseBackward(e.a(x), w, e.a(dy), o[0], acc, o[1], o[2]));
            check(fp32(), "linearHeadwiseBackward " + Arrays.toString(s) + " dw only", TOL, names("dx", "dw", "db"),
                    new Tensor[] {null, rand(1, s[1], s[2], s[3]), null},
                    (g, e, o) -> g.linearHeadwiseBackward(e.a(x), w, e.a(dy), null, false, o[1], null));
        }
    }

    @Test
    void embeddingBackward() {
        for (int[] s : new int[][] {{300, 11, 37}, {1, 1, 1}, {7, 50, 768}, {2000, 97, 64}}) {
            int n = s[0], vocab = s[1], d = s[2];
            Tensor dy = rand(1, n, d);
            int[] tokens = new int[n];
            for (int i = 0; i < n; i++) tokens[i] = rnd.nextInt(vocab);   // many repeats: the scatter-add order matters
            check(fp32(), "embeddingBackward " + Arrays.toString(s), TOL, names("dTable"), new Tensor[] {rand(1, vocab, d)},
                    (g, e, o) -> g.embeddingBackward(tokens, e.a(dy), o[0]));
        }
    }

    // ---------------------------------------------------------------- normalisation

    @Test
    void norms() {
        // rows of one or two values are left out: their true dx is 0 or a difference of nearly equal terms (for one
        // value, and the two symmetric ones of a layer norm), so a float32 result is rounding noise against noise
        for (int d : new int[] {7, 64, 300, 768}) {
            for (int rows : new int[] {1, 5, 300}) {
                Tensor x = rand(2, rows, d), w = rand(0.5, d), dy = rand(1, rows, d);
                for (boolean offset : new boolean[] {true, false})
                    for (boolean acc : new boolean[] {false, true})
                        check(fp32(), "layerNormBackward d=" + d + " rows=" + rows + " offset=" + offset + " acc=" + acc, NORM_DX_TOL,
                                names("dx", "dw", "db"), new Tensor[] {rand(1, rows, d), rand(1, d), rand(1, d)},
                                (g, e, o) -> g.layerNormBackward(e.a(x), w, 1e-5f, offset, e.a(dy), o[0], acc, o[1], o[2]));
                for (boolean acc : new boolean[] {false, true})
                    check(fp32(), "rmsNormBackward d=" + d + " rows=" + rows + " acc=" + acc, NORM_DX_TOL, names("dx", "dw", "db"),
                            new Tensor[] {rand(1, rows, d), rand(1, d), rand(1, d)},
                            (g, e, o) -> g.rmsNormBackward(e.a(x), w, 1e-6f, e.a(dy), o[0], acc, o[1], o[2]));
            }
        }
        // no weight; weight gradient without dx (statistics only); bias gradient alone
        Tensor x = rand(2, 70, 48), w = rand(0.5, 48), dy = rand(1, 70, 48);
        check(fp32(), "layerNormBackward without weight", TOL, names("dx", "dw", "db"),
                new Tensor[] {rand(1, 70, 48), rand(1, 48), rand(1, 48)},
                (g, e, o) -> g.layerNormBackward(e.a(x), null, 1e-5f, false, e.a(dy), o[0], false, o[1], o[2]));
        check(fp32(), "layerNormBackward dw only", TOL, names("dx", "dw", "db"), new Tensor[] {null, rand(1, 48), null},
                (g, e, o) -> g.layerNormBackward(e.a(x), w, 1e-5f, true, e.a(dy), null, false, o[1], null));
        check(fp32(), "layerNormBackward db only", TOL, names("dx", "dw", "db"), new Tensor[] {null, null, rand(1, 48)},
                (g, e, o) -> g.layerNormBackward(e.a(x), w, 1e-5f, true, e.a(dy), null, false, null, o[2]));
        check(fp32(), "rmsNormBackward without weight", TOL, names("dx", "dw", "db"),
                new Tensor[] {rand(1, 70, 48), rand(1, 48), null},
                (g, e, o) -> g.rmsNormBackward(e.a(x), null, 1e-6f, e.a(dy), o[0], false, o[1], null));
        check(fp32(), "rmsNormBackward dw only", TOL, names("dx", "dw", "db"), new Tensor[] {null, rand(1, 48), null},
                (g, e, o) -> g.rmsNormBackward(e.a(x), w, 1e-6f, e.a(dy), null, false, o[1], null));
    }

    @Test
    void headLayerNormBackward() {
        // (heads, head dim, rows)
        for (int[] hd : new int[][] {{4, 16, 70}, {3, 5, 70}, {2, 64, 300}, {1, 1, 3}, {2, 1024, 9}, {8, 96, 5}}) {
            int d = hd[0] * hd[1], rows = hd[2];
            Tensor x = rand(1, rows, d), w = rand(0.5, d), dy = rand(1, rows, d);
            for (boolean offset : new boolean[] {true, false})
                check(fp32(), "headLayerNormBackward " + Arrays.toString(hd) + " offset=" + offset, NORM_DX_TOL, names("dx", "dw", "db"),
                        new Tensor[] {rand(1, rows, d), rand(1, d), rand(1, d)},
                        (g, e, o) -> g.headLayerNormBackward(e.a(x), hd[0], w, 1e-5f, offset, e.a(dy), o[0], o[1], o[2]));
            check(fp32(), "headLayerNormBackward " + Arrays.toString(hd) + " no bias, no weight", TOL, names("dx", "dw", "db"),
                    new Tensor[] {rand(1, rows, d), rand(1, d), null},
                    (g, e, o) -> g.headLayerNormBackward(e.a(x), hd[0], null, 1e-5f, false, e.a(dy), o[0], o[1], null));
        }
    }

    // ---------------------------------------------------------------- elementwise

    @Test
    void elementwise() {
        for (int n : new int[] {1, 17, 1000, 40000}) {
            Tensor x = rand(2, n), g = rand(2, n), dy = rand(1, n);
            for (Activation act : Activation.values()) {
                check(fp32(), "activationBackward " + act + " n=" + n, TOL, names("dx"), new Tensor[] {rand(1, n)},
                        (gr, e, o) -> gr.activationBackward(act, e.a(x), e.a(dy), o[0]));
                check(fp32(), "mulActivatedBackward " + act + " n=" + n, TOL, names("dx", "dg"), new Tensor[] {rand(1, n), rand(1, n)},
                        (gr, e, o) -> gr.mulActivatedBackward(e.a(x), act, e.a(g), e.a(dy), o[0], o[1]));
                check(fp32(), "mulActivatedBackward " + act + " n=" + n + " dg only", TOL, names("dx", "dg"),
                        new Tensor[] {null, rand(1, n)}, (gr, e, o) -> gr.mulActivatedBackward(e.a(x), act, e.a(g), e.a(dy), null, o[1]));
            }
            check(fp32(), "softCapBackward n=" + n, TOL, names("dx"), new Tensor[] {rand(1, n)},
                    (gr, e, o) -> gr.softCapBackward(e.a(x), 15f, e.a(dy), o[0]));
        }
        for (int[] rc : new int[][] {{1, 1}, {5, 17}, {300, 64}, {700, 33}}) {
            Tensor w = rand(1, rc[1]), b = rand(1, rc[0], rc[1]), dy = rand(1, rc[0], rc[1]);
            for (boolean acc : new boolean[] {false, true})
                check(fp32(), "addScaledBackward " + Arrays.toString(rc) + " accumulateDb=" + acc, TOL, names("db", "dw"),
                        new Tensor[] {rand(1, rc[0], rc[1]), rand(1, rc[1])},
                        (gr, e, o) -> gr.addScaledBackward(w, e.a(b), e.a(dy), o[0], acc, o[1]));
            check(fp32(), "addScaledBackward " + Arrays.toString(rc) + " dw only", TOL, names("db", "dw"),
                    new Tensor[] {null, rand(1, rc[1])}, (gr, e, o) -> gr.addScaledBackward(w, e.a(b), e.a(dy), null, false, o[1]));
            Tensor whole = rand(1, rc[0], 3 * rc[1] + 2);
            for (boolean acc : new boolean[] {false, true})
                check(fp32(), "splitColumns " + Arrays.toString(rc) + " accumulate=" + acc, TOL, names("part0", "part1", "part2"),
                        new Tensor[] {rand(1, rc[0], rc[1]), rand(1, rc[0], 2), rand(1, rc[0], 2 * rc[1])},
                        (gr, e, o) -> gr.splitColumns(e.a(whole), new Tensor[] {o[0], o[1], o[2]}, acc));
        }
    }

    /** dx may alias dy (activation, soft cap, mulActivated), db may alias dy (addScaled): results as without aliasing. */
    @Test
    void documentedAliasing() {
        int n = 1031;
        Tensor x = rand(2, n), g = rand(2, n), dy = rand(1, n);
        CudaOps gpu = fp32();
        DeviceTensors mem = gpu.memory();
        for (Activation act : Activation.values()) {
            Tensor want = Tensor.allocate(arena, n);
            ref.activationBackward(act, x, dy, want);
            Tensor d = mem.upload(dy);
            gpu.gradOps().activationBackward(act, mem.upload(x), d, d);
            assertClose("activationBackward " + act + " dx aliasing dy", mem.download(d, arena), want);

            Tensor wx = Tensor.allocate(arena, n), wg = Tensor.allocate(arena, n);
            ref.mulActivatedBackward(x, act, g, dy, wx, wg);
            Tensor d1 = mem.upload(dy), dg = mem.allocate(n);
            gpu.gradOps().mulActivatedBackward(mem.upload(x), act, mem.upload(g), d1, d1, dg);
            assertClose("mulActivatedBackward " + act + " dx aliasing dy: dx", mem.download(d1, arena), wx);
            assertClose("mulActivatedBackward " + act + " dx aliasing dy: dg", mem.download(dg, arena), wg);
            Tensor d2 = mem.upload(dy), dx2 = mem.allocate(n);
            gpu.gradOps().mulActivatedBackward(mem.upload(x), act, mem.upload(g), d2, dx2, d2);
            assertClose("mulActivatedBackward " + act + " dg aliasing dy: dx", mem.download(dx2, arena), wx);
            assertClose("mulActivatedBackward " + act + " dg aliasing dy: dg", mem.download(d2, arena), wg);
        }
        Tensor want = Tensor.allocate(arena, n);
        ref.softCapBackward(x, 2.5f, dy, want);
        Tensor d = mem.upload(dy);
        gpu.gradOps().softCapBackward(mem.upload(x), 2.5f, d, d);
        assertClose("softCapBackward dx aliasing dy", mem.download(d, arena), want);

        Tensor w = rand(1, 33), b = rand(1, 40, 33), dy2 = rand(1, 40, 33);
        Tensor wantDb = Tensor.allocate(arena, 40, 33), wantDw = rand(1, 33), gotDw = copy(wantDw);
        ref.addScaledBackward(w, b, dy2, wantDb, false, wantDw);
        Tensor dd = mem.upload(dy2), ddw = mem.upload(gotDw);
        gpu.gradOps().addScaledBackward(w, mem.upload(b), dd, dd, false, ddw);
        assertClose("addScaledBackward db aliasing dy: db", mem.download(dd, arena), wantDb);
        assertClose("addScaledBackward db aliasing dy: dw", mem.download(ddw, arena), wantDw);
    }

    private void assertClose(String what, Tensor got, Tensor want) {
        double e = GpuTests.relErr(got, want);
        assertTrue(e <= TOL, what + ": relative error " + e);
    }

    // ---------------------------------------------------------------- sequence mixing

    @Test
    void causalConv1dBackward() {
        // (B, S, F, K): S = 1, K = 1, K larger than 8 (two tap groups), F not a multiple of 32, several row chunks
        for (int[] s : new int[][] {{1, 1, 1, 1}, {2, 9, 5, 3}, {3, 70, 40, 4}, {2, 33, 128, 4}, {1, 1, 8, 4},
                {2, 20, 7, 11}, {4, 300, 33, 4}}) {
            Tensor x = rand(1, s[0], s[1], s[2]), w = rand(0.5, s[2], s[3]), dy = rand(1, s[0], s[1], s[2]);
            check(fp32(), "causalConv1dBackward " + Arrays.toString(s), TOL, names("dx", "dw", "db"),
                    new Tensor[] {rand(1, s[0], s[1], s[2]), rand(1, s[2], s[3]), rand(1, s[2])},
                    (g, e, o) -> g.causalConv1dBackward(e.a(x), w, e.a(dy), o[0], o[1], o[2]));
            check(fp32(), "causalConv1dBackward " + Arrays.toString(s) + " dw only", TOL, names("dx", "dw", "db"),
                    new Tensor[] {null, rand(1, s[2], s[3]), null},
                    (g, e, o) -> g.causalConv1dBackward(e.a(x), w, e.a(dy), null, o[1], null));
            check(fp32(), "causalConv1dBackward " + Arrays.toString(s) + " db only", TOL, names("dx", "dw", "db"),
                    new Tensor[] {null, null, rand(1, s[2])},
                    (g, e, o) -> g.causalConv1dBackward(e.a(x), w, e.a(dy), null, null, o[2]));
        }
    }

    // ---------------------------------------------------------------- dropout

    /** The mask is DropoutMask's, bit for bit: the GPU's output equals the CPU backend's exactly. */
    @Test
    void dropoutMatchesTheCpuMaskExactly() {
        GradOps cpu = new CpuGradOps();
        CudaOps gpu = fp32();
        DeviceTensors mem = gpu.memory();
        int n = (1 << 20) + 3;
        Tensor x = rand(1, n);
        for (float p : new float[] {0.1f, 0.5f, 0.9f})
            for (long seed : new long[] {1L, -7L, 0x9E3779B97F4A7C15L, Long.MAX_VALUE}) {
                Tensor want = Tensor.allocate(arena, n);
                cpu.dropout(x, p, seed, want);
                Tensor dx = mem.upload(x), dy = mem.allocate(n);
                gpu.gradOps().dropout(dx, p, seed, dy);
                gpu.gradOps().dropout(dx, p, seed, dx);   // in place
                float[] got = mem.download(dy, arena).toArray(), inPlace = mem.download(dx, arena).toArray();
                float[] w = want.toArray();
                assertArrayEquals(w, got, "dropout p=" + p + " seed=" + seed + " differs from the CPU");
                assertArrayEquals(w, inPlace, "in-place dropout p=" + p + " seed=" + seed + " differs from the CPU");
                int kept = 0;
                for (int i = 0; i < n; i++) if (DropoutMask.keep(seed, i, p)) kept++;
                assertEquals(n * (1 - p), kept, 5 * Math.sqrt(n * p * (1 - p)), "kept fraction");
                mem.release(dx);
                mem.release(dy);
            }
        Tensor small = rand(1, 3, 7);
        check(fp32(), "dropout vs reference", TOL, names("y"), new Tensor[] {rand(1, 3, 7)},
                (g, e, o) -> g.dropout(e.a(small), 0.3f, 42L, o[0]));
    }

    // ---------------------------------------------------------------- loss

    @Test
    void softCappedCrossEntropyEqualsTheThreeKernels() {
        CudaOps gpu = fp32();
        DeviceTensors mem = gpu.memory();
        for (int[] s : new int[][] {{5, 7}, {40, 257}, {6, 50304}, {3, 60001}}) {
            int rows = s[0], vocab = s[1];
            Tensor raw = rand(20, rows, vocab);
            int[] targets = new int[rows];
            for (int i = 0; i < rows; i++) targets[i] = i % 3 == 1 ? -1 : rnd.nextInt(vocab);
            String what = "crossEntropySoftCapped " + Arrays.toString(s);
            float[][] capped = new float[2][], grads = new float[2][];
            double[] losses = new double[2];
            for (int fused = 0; fused < 2; fused++) {
                Tensor x = mem.upload(raw), logits = mem.allocate(rows, vocab), g = mem.allocate(rows, vocab);
                losses[fused] = fused == 1
                        ? gpu.gradOps().crossEntropySoftCapped(gpu, x, 15f, targets, logits, g, 0)
                        : composed(gpu, x, 15f, targets, logits, g);
                capped[fused] = mem.download(logits, arena).toArray();
                grads[fused] = mem.download(g, arena).toArray();
                for (Tensor t : new Tensor[] {x, logits, g}) mem.release(t);
            }
            assertArrayEquals(capped[0], capped[1], what + ": capped logits differ from ops.softCap's");
            assertArrayEquals(grads[0], grads[1], what + ": gradient differs from softCap, crossEntropy, softCapBackward");
            assertEquals(losses[0], losses[1], 0.0, what + ": loss");
        }
    }

    /** GradOps' default composition, as the CPU backends run it. */
    private static double composed(CudaOps gpu, Tensor x, float cap, int[] targets, Tensor logits, Tensor g) {
        gpu.softCap(x, cap, logits);
        double loss = gpu.gradOps().crossEntropy(logits, targets, g, 0);
        gpu.gradOps().softCapBackward(x, cap, g, g);
        return loss;
    }

    @Test
    void crossEntropy() {
        CudaOps gpu = fp32();
        DeviceTensors mem = gpu.memory();
        // vocabularies: tiny, odd (scalar path), a multiple of 4 (vector path), the LM head's, and one too large for
        // shared memory (the re-reading kernel)
        for (int[] s : new int[][] {{1, 1}, {5, 7}, {300, 64}, {40, 257}, {6, 50304}, {3, 60001}}) {
            int rows = s[0], vocab = s[1];
            Tensor logits = rand(3, rows, vocab);
            int[] targets = new int[rows];
            for (int i = 0; i < rows; i++) targets[i] = i % 3 == 1 ? -1 : rnd.nextInt(vocab);
            for (int meanOver : new int[] {0, 2 * rows + 1}) {
                String what = "crossEntropy " + Arrays.toString(s) + " meanOver=" + meanOver;
                Tensor want = Tensor.allocate(arena, rows, vocab);
                double wantLoss = ref.crossEntropy(logits, targets, want, meanOver);
                // separate gradient buffer, twice (bit-identical), then in place over the logits, then loss only
                double[] losses = new double[4];
                float[][] grads = new float[3][];
                for (int run = 0; run < 3; run++) {
                    Tensor dl = mem.upload(logits), dg = run < 2 ? mem.allocate(rows, vocab) : dl;
                    losses[run] = gpu.gradOps().crossEntropy(dl, targets, dg, meanOver);
                    grads[run] = mem.download(dg, arena).toArray();
                    mem.release(dl);
                    if (dg != dl) mem.release(dg);
                }
                Tensor dl = mem.upload(logits);
                losses[3] = gpu.gradOps().crossEntropy(dl, targets, null, meanOver);
                mem.release(dl);
                Tensor got = Tensor.allocate(arena, rows, vocab);
                got.segment().copyFrom(java.lang.foreign.MemorySegment.ofArray(grads[0]));
                assertClose(what + ": dLogits", got, want);
                assertArrayEquals(grads[0], grads[1], what + ": dLogits differs between two identical runs");
                assertArrayEquals(grads[0], grads[2], what + ": dLogits written over the logits differs");
                for (int run = 0; run < 4; run++)
                    assertTrue(Math.abs(losses[run] - wantLoss) <= 1e-5 * Math.max(1, Math.abs(wantLoss)),
                            what + ": loss " + losses[run] + " (run " + run + ") vs reference " + wantLoss);
                assertEquals(losses[0], losses[1], 0.0, what + ": loss differs between two identical runs");
            }
        }
        // every row ignored: NaN (or 0 when divided by meanOver), zero gradient
        Tensor logits = rand(1, 4, 9), dl = mem.upload(logits), dg = mem.upload(rand(1, 4, 9));
        int[] none = {-1, -1, -1, -1};
        assertTrue(Double.isNaN(gpu.gradOps().crossEntropy(dl, none, dg)), "no counted row: NaN");
        for (float v : mem.download(dg, arena).toArray()) assertEquals(0f, v, "ignored rows get zero gradient");
        assertEquals(0.0, gpu.gradOps().crossEntropy(dl, none, dg, 8), "no counted row over meanOver: 0");
        // out-of-range targets fail on the host, with the CPU's message
        IllegalArgumentException e1 = assertThrows(IllegalArgumentException.class,
                () -> gpu.gradOps().crossEntropy(dl, new int[] {0, 9, 1, 2}, dg));
        assertTrue(e1.getMessage().contains("target 9 at row 1"), e1.getMessage());
        IllegalArgumentException e2 = assertThrows(IllegalArgumentException.class,
                () -> gpu.gradOps().crossEntropy(dl, new int[] {0, 1, -2, 2}, null));
        assertTrue(e2.getMessage().contains("target -2 at row 2"), e2.getMessage());
    }

    // ---------------------------------------------------------------- determinism at training scale

    /**
     * Training-sized reductions (several thousand rows summed into each weight, bias and norm gradient, the LM head's
     * vocabulary, repeated tokens) give the same bits on a second run; the first run is also checked for sanity
     * against a smaller reference elsewhere.
     */
    @Test
    void deterministicAtTrainingScale() {
        CudaOps gpu = fp32();
        DeviceTensors mem = gpu.memory();
        GradOps g = gpu.gradOps();
        int rows = 4096, d = 768, vocab = 50304;
        Tensor x = mem.upload(rand(1, rows, d)), w = mem.upload(rand(0.05, d, d)), dy = mem.upload(rand(1, rows, d));
        Tensor lw = mem.upload(rand(0.5, d));
        Tensor logits = mem.upload(rand(2, 64, vocab));
        int[] targets = new int[64], tokens = new int[rows];
        for (int i = 0; i < 64; i++) targets[i] = i % 5 == 0 ? -1 : rnd.nextInt(vocab);
        for (int i = 0; i < rows; i++) tokens[i] = rnd.nextInt(100);
        float[][][] runs = new float[2][][];
        double[] loss = new double[2];
        for (int run = 0; run < 2; run++) {
            Tensor dx = mem.allocate(rows, d), dw = mem.allocate(d, d), db = mem.allocate(d), nx = mem.allocate(rows, d);
            Tensor nw = mem.allocate(d), nb = mem.allocate(d), table = mem.allocate(100, d), dl = mem.allocate(64, vocab);
            for (Tensor t : new Tensor[] {dw, db, nw, nb, table}) gpu.fill(t, 0.25f);
            g.linearBackward(x, w, dy, dx, false, dw, db);
            g.layerNormBackward(x, lw, 1e-5f, true, dy, nx, false, nw, nb);
            g.embeddingBackward(tokens, dy, table);
            loss[run] = g.crossEntropy(logits, targets, dl, 0);
            gpu.synchronize();
            Tensor[] outs = {dx, dw, db, nx, nw, nb, table, dl};
            runs[run] = new float[outs.length][];
            for (int i = 0; i < outs.length; i++) {
                runs[run][i] = mem.download(outs[i], arena).toArray();
                mem.release(outs[i]);
            }
        }
        String[] names = {"linear dx", "linear dw", "linear db", "layerNorm dx", "layerNorm dw", "layerNorm db",
                "embedding dTable", "crossEntropy dLogits"};
        for (int i = 0; i < names.length; i++)
            assertArrayEquals(runs[0][i], runs[1][i], names[i] + " differs between two identical runs");
        assertEquals(loss[0], loss[1], 0.0, "crossEntropy loss differs between two identical runs");
        for (float[] out : runs[0])
            for (float v : out) assertTrue(Float.isFinite(v), "non-finite gradient at training scale");
    }
}
