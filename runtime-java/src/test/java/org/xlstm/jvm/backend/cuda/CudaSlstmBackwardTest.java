package org.xlstm.jvm.backend.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.lang.foreign.Arena;
import java.util.SplittableRandom;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.xlstm.jvm.backend.GradOps;
import org.xlstm.jvm.backend.ReferenceGradOps;
import org.xlstm.jvm.backend.ScalarMath;
import org.xlstm.jvm.backend.cpu.CpuGradOps;
import org.xlstm.jvm.cuda.CudaContext;
import org.xlstm.jvm.tensor.Tensor;

/**
 * The sLSTM backward through time on the GPU ({@link CudaSlstmBackward}, kernels/src/slstm_backward.cu) against
 * the double-precision {@link ReferenceGradOps} and the float32 {@link CpuGradOps}: every output (dxi, dxf, dxz, dxo,
 * dr, dbias) within a normwise relative error of {@value #TOL}; dr and dbias accumulated onto non-zero values, dx*
 * overwritten (they start as NaN); null outputs; two runs bit-identical. Every case of a test method runs even when
 * an earlier one is off, and the failure lists them all: case, tensor, error, and the worst element with its indices
 * decoded (b, t, head, j / head, k, gate, j), so that one GPU run tells everything.
 * Shapes cover S = 1, 7, 37, 64, B > 1, NH = 1 to 4, DH = 4 and 5 (partial warps), 8, 24, 64 and 96 (R in shared
 * memory, above the 48 KB default), 113 (the tape kernel keeps R in shared memory, the backward does not), 192 (the
 * 125M recipe's heads, 1 and 4 of them: R read through L2 in both) and 1025 (refused by the kernels: CudaGradOps
 * falls back to the host). Inputs are spread wide so the stabiliser takes both branches, and one case is built so
 * that i~ = log sigmoid(f~) + m exactly (a tie, which passes half the gradient to each side). The GPU parts skip
 * without a GPU; the checks that the cases are what they claim, that too-large heads are refused, and where the
 * shared-memory plan switches run everywhere. (kernels/emu/slstm_backward_emu.cpp runs the same kernels on the CPU.)
 */
class CudaSlstmBackwardTest {
    private static final double TOL = 1e-4;
    private static final String[] NAMES = {"dxi", "dxf", "dxz", "dxo", "dr", "dbias"};
    private static CudaContext ctx;
    private final GradOps ref = new ReferenceGradOps(), cpu = new CpuGradOps();
    private final Arena arena = Arena.ofShared();
    private DeviceTensors mem;
    private CudaOps ops;

    @BeforeAll
    static void open() {
        if (CudaContext.isAvailable()) ctx = CudaContext.open(0);
    }

    @AfterAll
    static void closeAll() {
        if (ctx != null) ctx.close();
    }

    @AfterEach
    void close() {
        if (ops != null) ops.close();
        if (mem != null) mem.close();
        arena.close();
    }

    private void gpu() {
        assumeTrue(ctx != null, () -> "GPU tests skipped: " + CudaContext.unavailableReason());
        if (ops == null) {
            mem = new DeviceTensors(ctx);
            ops = new CudaOps(mem, CudaOps.Precision.FP32);
        }
    }

    // ------------------------------------------------------------------ cases

    /** Inputs of one call, host tensors; dr0, dbias0 the values the parameter gradients start from. */
    private record Case(String name, int b, int s, int nh, int dh, Tensor[] x, Tensor r, Tensor bias, Tensor dy,
                        Tensor dr0, Tensor dbias0) {}

    private Tensor gaussian(SplittableRandom rnd, double scale, int... shape) {
        Tensor t = Tensor.allocate(arena, shape);
        for (long i = 0; i < t.size(); i++) t.set(i, (float) (rnd.nextGaussian() * scale));
        return t;
    }

    /**
     * Random inputs, i~ and f~ spread wide (σ = 2.5) so that m = max(i~, log σ(f~) + m) takes either branch often;
     * R scaled 1/sqrt(DH) so 37 steps stay well conditioned.
     */
    private Case wide(int b, int s, int nh, int dh, long seed) {
        SplittableRandom rnd = new SplittableRandom(seed);
        int d = nh * dh;
        Tensor[] x = {gaussian(rnd, 2.5, b, s, d), gaussian(rnd, 2.5, b, s, d), gaussian(rnd, 1, b, s, d), gaussian(rnd, 1, b, s, d)};
        return new Case("B=" + b + " S=" + s + " NH=" + nh + " DH=" + dh, b, s, nh, dh, x,
                gaussian(rnd, 1 / Math.sqrt(dh), nh, dh, 4, dh), gaussian(rnd, 1, nh, 4, dh), gaussian(rnd, 1, b, s, d),
                gaussian(rnd, 1, nh, dh, 4, dh), gaussian(rnd, 1, nh, 4, dh));
    }

    /**
     * Exact ties in the even columns j of every head: R[·][i][j] = R[·][f][j] = 0 and bias_i = bias_f = 0 there, so
     * i~ = x_i exactly; x_i is constant in time (|x_i| ≥ 0.5) and f~ = 60, whose log σ (about −9e−27) vanishes
     * when added to m = x_i in float and in double alike. Then from step 1 on, log σ(f~) + m = x_i = i~ exactly, in
     * every engine. Odd columns are the wide case.
     */
    private Case ties(int b, int s, int nh, int dh, long seed) {
        Case c = wide(b, s, nh, dh, seed);
        SplittableRandom rnd = new SplittableRandom(seed + 1);
        int d = nh * dh;
        for (int h = 0; h < nh; h++)
            for (int j = 0; j < dh; j += 2) {
                for (int k = 0; k < dh; k++)
                    for (int g = 0; g < 2; g++) c.r.set((((long) h * dh + k) * 4 + g) * dh + j, 0f);
                c.bias.set(((long) h * 4) * dh + j, 0f);
                c.bias.set(((long) h * 4 + 1) * dh + j, 0f);
                for (int bb = 0; bb < b; bb++) {
                    float v = (float) ((rnd.nextBoolean() ? 1 : -1) * (0.5 + 2 * rnd.nextDouble()));
                    for (int t = 0; t < s; t++) {
                        long i = ((long) bb * s + t) * d + (long) h * dh + j;
                        c.x[0].set(i, v);
                        c.x[1].set(i, 60f);
                    }
                }
            }
        return new Case(c.name + " with exact ties", b, s, nh, dh, c.x, c.r, c.bias, c.dy, c.dr0, c.dbias0);
    }

    /**
     * How often, after the first step, the stabiliser's max picked i~, picked log σ(f~) + m, met a tie, or came
     * within 1e-4 (relative) of one without meeting it — the forward in double as {@link ReferenceGradOps} computes
     * it. A near tie is where float may pick the other branch than double: a jump of the true gradient there, so the
     * GPU cases must have none.
     */
    private static long[] branches(Case c) {
        long[] count = new long[4];
        int d = c.nh * c.dh;
        for (int b = 0; b < c.b; b++)
            for (int h = 0; h < c.nh; h++) {
                double[] hp = new double[c.dh], cs = new double[c.dh], ns = new double[c.dh], ms = new double[c.dh];
                double[][] raw = new double[4][c.dh];
                for (int t = 0; t < c.s; t++) {
                    for (int g = 0; g < 4; g++)
                        for (int j = 0; j < c.dh; j++) {
                            double a = c.x[g].get(((long) b * c.s + t) * d + (long) h * c.dh + j)
                                    + (double) c.bias.get(((long) h * 4 + g) * c.dh + j);
                            for (int k = 0; k < c.dh; k++) a += (double) c.r.get((((long) h * c.dh + k) * 4 + g) * c.dh + j) * hp[k];
                            raw[g][j] = a;
                        }
                    for (int j = 0; j < c.dh; j++) {
                        double lfm = ms[j] + ScalarMath.logSigmoid(raw[1][j]);
                        if (t > 0) count[raw[0][j] > lfm ? 0 : raw[0][j] < lfm ? 1 : 2]++;
                        double gap = Math.abs(raw[0][j] - lfm);
                        if (t > 0 && gap > 0 && gap < 1e-4 * Math.max(1, Math.abs(lfm))) count[3]++;
                        double mNew = t == 0 ? raw[0][j] : Math.max(raw[0][j], lfm);
                        double ig = Math.min(Math.exp(raw[0][j] - mNew), 1), fg = Math.min(Math.exp(lfm - mNew), 1);
                        cs[j] = fg * cs[j] + ig * Math.tanh(raw[2][j]);
                        ns[j] = fg * ns[j] + ig;
                        ms[j] = mNew;
                        hp[j] = ScalarMath.sigmoid(raw[3][j]) * cs[j] / ns[j];
                    }
                }
            }
        return count;
    }

    // ------------------------------------------------------------------ runs

    /** The outputs of one host engine, all six computed, dr and dbias starting from the case's values. */
    private Tensor[] host(GradOps g, Case c) {
        int[] xs = c.x[0].shape();
        Tensor[] out = {Tensor.allocate(arena, xs), Tensor.allocate(arena, xs), Tensor.allocate(arena, xs),
                Tensor.allocate(arena, xs), copy(c.dr0), copy(c.dbias0)};
        g.slstmBackward(c.x[0], c.x[1], c.x[2], c.x[3], c.r, c.bias, c.dy, out[0], out[1], out[2], out[3], out[4], out[5]);
        return out;
    }

    private Tensor copy(Tensor t) {
        Tensor c = Tensor.allocate(arena, t.shape());
        c.copyFrom(t);
        return c;
    }

    /**
     * One GPU run: activations uploaded, r and bias device tensors too unless {@code hostParams} (then CudaOps takes
     * them as parameters and uploads them itself), dx* starting as NaN, the outputs not {@code present} passed as null.
     * Through {@link CudaSlstmBackward#run} directly (a failure of the kernel path must not hide behind the host
     * fallback) or through {@link CudaGradOps}. Returns the outputs downloaded (null where absent).
     */
    private Tensor[] device(Case c, boolean[] present, boolean hostParams, boolean viaGradOps) {
        Tensor[] x = new Tensor[4];
        for (int g = 0; g < 4; g++) x[g] = mem.upload(c.x[g]);
        Tensor r = hostParams ? c.r : mem.upload(c.r), bias = hostParams ? c.bias : mem.upload(c.bias), dy = mem.upload(c.dy);
        Tensor[] out = new Tensor[6];
        for (int i = 0; i < 4; i++)
            if (present[i]) {
                out[i] = mem.allocate(c.x[0].shape());
                ops.fill(out[i], Float.NaN);
            }
        if (present[4]) out[4] = mem.upload(c.dr0);
        if (present[5]) out[5] = mem.upload(c.dbias0);
        if (viaGradOps)
            ops.gradOps().slstmBackward(x[0], x[1], x[2], x[3], r, bias, dy, out[0], out[1], out[2], out[3], out[4], out[5]);
        else
            CudaSlstmBackward.run(ops, x[0], x[1], x[2], x[3], r, bias, dy, out[0], out[1], out[2], out[3], out[4], out[5]);
        Tensor[] got = new Tensor[6];
        for (int i = 0; i < 6; i++)
            if (out[i] != null) {
                got[i] = mem.download(out[i], arena);
                mem.release(out[i]);
            }
        for (Tensor t : x) mem.release(t);
        mem.release(dy);
        if (!hostParams) {
            mem.release(r);
            mem.release(bias);
        }
        return got;
    }

    private static final boolean[] ALL = {true, true, true, true, true, true};

    /**
     * The failures of one test method's cases, all of them: a later case still runs when an earlier one is off, so
     * that one GPU run shows every tensor of every shape that is wrong, and by how much.
     */
    private final java.util.List<String> failures = new java.util.ArrayList<>();

    /** Fails with every collected failure, one per line. */
    private void assertNoFailures() {
        if (!failures.isEmpty())
            fail(failures.size() + " sLSTM backward output(s) off:\n  " + String.join("\n  ", failures));
    }

    /**
     * Both host engines against two GPU runs: every present output within TOL of each, the two runs bit for bit.
     * Prints one line per case (normwise errors against the reference / the CPU engine) and collects a failure per
     * output off, naming the tensor, its error and its worst element (position decoded, got vs want). An exception
     * (a launch that fails) is rethrown naming the case.
     */
    private void check(Case c, boolean[] present, boolean hostParams, boolean viaGradOps) {
        gpu();
        Tensor[] want = host(ref, c), cpuGot = host(cpu, c);
        Tensor[] first, second;
        try {
            first = device(c, present, hostParams, viaGradOps);
            second = device(c, present, hostParams, viaGradOps);
        } catch (RuntimeException | Error e) {
            throw new AssertionError(c.name + ": the GPU run threw " + e, e);
        }
        compare(c, present, first, second, want, cpuGot);
    }

    /** Two runs' outputs against the reference's and the CPU engine's: the report line and the failures. */
    private void compare(Case c, boolean[] present, Tensor[] first, Tensor[] second, Tensor[] want, Tensor[] cpuGot) {
        StringBuilder report = new StringBuilder(c.name + ":");
        for (int i = 0; i < 6; i++) {
            if (!present[i]) continue;
            double eRef = GpuTests.relErr(first[i], want[i]), eCpu = GpuTests.relErr(first[i], cpuGot[i]);
            report.append(String.format(" %s %.2e/%.2e", NAMES[i], eRef, eCpu));
            if (!(eRef <= TOL))
                failures.add(c.name + ": " + NAMES[i] + " relative error " + String.format("%.3e", eRef)
                        + " against ReferenceGradOps (tolerance " + TOL + "); " + worst(c, i, first[i], want[i]));
            if (!(eCpu <= TOL))
                failures.add(c.name + ": " + NAMES[i] + " relative error " + String.format("%.3e", eCpu)
                        + " against CpuGradOps (tolerance " + TOL + "); " + worst(c, i, first[i], cpuGot[i]));
            long diff = firstDifference(first[i], second[i]);
            if (diff >= 0)
                failures.add(c.name + ": " + NAMES[i] + " differs between two identical runs at " + where(c, i, diff) + " ("
                        + first[i].get(diff) + " vs " + second[i].get(diff) + ")");
        }
        System.out.println("sLSTM backward, GPU vs reference/CPU " + report);
    }

    /** The element of output {@code out} farthest from {@code want}: where, got, want, and how many are NaN. */
    private static String worst(Case c, int out, Tensor got, Tensor want) {
        long at = 0, nan = 0;
        double far = -1;
        for (long i = 0; i < want.size(); i++) {
            double g = got.get(i), d = Math.abs(g - want.get(i));
            if (Double.isNaN(g)) {
                if (nan++ == 0 && far < Double.POSITIVE_INFINITY) { at = i; far = Double.POSITIVE_INFINITY; }
            } else if (d > far) {
                at = i;
                far = d;
            }
        }
        return "worst at " + where(c, out, at) + ": got " + got.get(at) + ", want " + want.get(at)
                + (nan > 0 ? "; " + nan + " NaN of " + want.size() : "");
    }

    private static final String GATES = "ifzo";

    /** Element i of output {@code out} as its indices: dx* [b, t, head, j], dr [head, k, gate, j], dbias [head, gate, j]. */
    private static String where(Case c, int out, long i) {
        int dh = c.dh;
        if (out < 4) {
            long j = i % dh, h = i / dh % c.nh, t = i / ((long) dh * c.nh) % c.s, b = i / ((long) dh * c.nh * c.s);
            return "[b=" + b + ", t=" + t + ", head=" + h + ", j=" + j + "]";
        }
        if (out == 4) {
            long j = i % dh, g = i / dh % 4, k = i / (4L * dh) % dh, h = i / (4L * dh * dh);
            return "[head=" + h + ", k=" + k + ", gate " + GATES.charAt((int) g) + ", j=" + j + "]";
        }
        long j = i % dh, g = i / dh % 4, h = i / (4L * dh);
        return "[head=" + h + ", gate " + GATES.charAt((int) g) + ", j=" + j + "]";
    }

    /** The first element where two runs differ in their bits, or −1. */
    private static long firstDifference(Tensor a, Tensor b) {
        for (long i = 0; i < a.size(); i++)
            if (Float.floatToRawIntBits(a.get(i)) != Float.floatToRawIntBits(b.get(i))) return i;
        return -1;
    }

    // ------------------------------------------------------------------ the cases are what they claim (no GPU)

    @Test
    void casesTakeBothStabiliserBranchesAndTheTieCaseTies() {
        long[] w = branches(wide(2, 37, 4, 8, 3));
        assertTrue(w[0] > 100 && w[1] > 100, "wide inputs should switch the stabiliser often: i~ won " + w[0]
                + " times, log σ(f~) + m " + w[1]);
        Case t = ties(2, 37, 2, 24, 7);
        long[] k = branches(t);
        assertEquals(2L * 36 * 2 * 12, k[2], "every even column of every step after the first should tie exactly");
        assertTrue(k[0] > 0 && k[1] > 0, "the odd columns should take both branches: " + k[0] + ", " + k[1]);
        // the two host engines the GPU is held to agree with each other at the ties
        Tensor[] want = host(ref, t), got = host(cpu, t);
        for (int i = 0; i < 6; i++) {
            double e = GpuTests.relErr(got[i], want[i]);
            assertTrue(e <= TOL, t.name + ": CpuGradOps " + NAMES[i] + " relative error " + e + " against ReferenceGradOps");
        }
    }

    /** A wrong output is reported with its name, its error and its worst element decoded; NaN is counted. */
    @Test
    void reportNamesTheTensorAndTheWorstElement() {
        Case c = wide(2, 3, 2, 4, 20);
        Tensor[] want = host(ref, c), cpuGot = host(cpu, c), got = new Tensor[6];
        for (int i = 0; i < 6; i++) got[i] = copy(cpuGot[i]);
        got[4].set(((1L * 4 + 2) * 4 + 2) * 4 + 3, got[4].get(((1L * 4 + 2) * 4 + 2) * 4 + 3) + 100f);   // dr[1][2][z][3]
        got[0].set(((1L * 3 + 2) * 2 + 0) * 4 + 1, Float.NaN);                                          // dxi[1][2][0][1]
        compare(c, ALL, got, got, want, cpuGot);
        String all = String.join("\n", failures);
        failures.clear();
        assertTrue(all.contains("dr relative error") && all.contains("worst at [head=1, k=2, gate z, j=3]"), all);
        assertTrue(all.contains("dxi relative error Infinity")
                && all.contains("worst at [b=1, t=2, head=0, j=1]: got NaN") && all.contains("1 NaN of 48"), all);
        assertTrue(!all.contains("dxf") && !all.contains("dbias") && !all.contains("identical runs"), all);
        compare(c, ALL, cpuGot, copy4(got, cpuGot), want, cpuGot);
        all = String.join("\n", failures);
        failures.clear();
        assertTrue(all.contains("dxi differs between two identical runs at [b=1, t=2, head=0, j=1]"), all);
    }

    private Tensor[] copy4(Tensor[] got, Tensor[] fallback) {
        Tensor[] out = new Tensor[6];
        for (int i = 0; i < 6; i++) out[i] = i == 0 ? got[0] : fallback[i];
        return out;
    }

    // ------------------------------------------------------------------ GPU

    // every GPU case, by test method (also checked for near ties without a GPU)
    private Case[] sharedCases() {
        return new Case[] {
            wide(1, 1, 1, 8, 1), wide(3, 1, 4, 8, 2),   // S = 1, B > 1
            wide(2, 37, 4, 8, 3), wide(2, 37, 1, 24, 4),
            wide(2, 9, 3, 5, 5),     // DH not a multiple of the warp
            wide(3, 7, 2, 4, 15),    // the smallest heads: one partial warp
            wide(1, 37, 4, 64, 6),   // R of 64 KB per head (above the 48 KB default)
            wide(1, 64, 4, 96, 23)}; // 150 KB of shared memory per block, 64 steps
    }

    private Case[] tieCases() {
        return new Case[] {ties(2, 37, 2, 24, 7), ties(1, 9, 1, 120, 8)};   // the second with R through L2
    }

    private Case[] l2Cases() {
        return new Case[] {
            wide(2, 13, 1, 192, 22),   // the 125M recipe's head size: neither kernel holds R
            wide(2, 7, 4, 192, 17),    // ... with its 4 heads
            wide(2, 5, 2, 113, 10)};   // the tape kernel holds R, the backward does not
    }

    private static final boolean[][] SOME = {{true, false, true, false, false, true},
            {false, false, false, false, true, false}, {false, true, false, true, false, false}};

    private Case[] absentCases() {
        return new Case[] {wide(2, 11, 2, 24, 11), wide(2, 11, 2, 24, 12), wide(2, 11, 2, 24, 13)};
    }

    private Case viaGradOpsCase() { return wide(2, 17, 4, 16, 14); }

    private Case tooLargeCase() { return wide(1, 2, 1, 1025, 18); }

    @Test
    void gpuCasesHaveNoNearTies() {
        java.util.List<Case> all = new java.util.ArrayList<>();
        for (Case[] cs : new Case[][] {sharedCases(), tieCases(), l2Cases(), absentCases()}) all.addAll(java.util.List.of(cs));
        all.add(viaGradOpsCase());
        all.add(tooLargeCase());
        java.util.List<String> near = new java.util.ArrayList<>();
        for (Case c : all) {
            long n = branches(c)[3];
            if (n > 0) near.add(c.name + " (" + n + ")");
        }
        assertTrue(near.isEmpty(), "the stabiliser comes within 1e-4 of a tie (pick other seeds): " + near);
    }

    @Test
    void matchesReferenceAndCpuWithRInSharedMemory() {
        for (Case c : sharedCases()) check(c, ALL, false, false);
        assertNoFailures();
    }

    @Test
    void matchesReferenceAtExactTies() {
        for (Case c : tieCases()) check(c, ALL, false, false);
        assertNoFailures();
    }

    @Test
    void matchesReferenceWithRThroughL2() {
        for (Case c : l2Cases()) check(c, ALL, false, false);
        assertNoFailures();
    }

    @Test
    void absentOutputsAreSkippedAndTheOthersStillRight() {
        Case[] cs = absentCases();
        for (int i = 0; i < cs.length; i++) check(cs[i], SOME[i], false, false);
        assertNoFailures();
    }

    @Test
    void throughCudaGradOpsWithHostParameters() {
        check(viaGradOpsCase(), ALL, true, true);
        assertNoFailures();
    }

    /** Heads above 1024 (one thread per hidden unit) go to the host engine through CudaGradOps, still right. */
    @Test
    void headsAboveTheKernelsLimitFallBackToTheHost() {
        check(tooLargeCase(), ALL, false, true);
        assertNoFailures();
    }

    // ------------------------------------------------------------------ no GPU needed

    /**
     * The fused path refuses heads above 1024 with UnsupportedOperationException (what CudaGradOps catches to fall
     * back to the host) before it touches the device: here with no CudaOps at all.
     */
    @Test
    void refusesHeadsAboveOneBlockBeforeTouchingTheDevice() {
        Case c = wide(1, 1, 1, 1025, 19);
        Tensor[] out = {Tensor.allocate(arena, c.x[0].shape()), null, null, null, copy(c.dr0), copy(c.dbias0)};
        var e = org.junit.jupiter.api.Assertions.assertThrows(UnsupportedOperationException.class,
                () -> CudaSlstmBackward.run(null, c.x[0], c.x[1], c.x[2], c.x[3], c.r, c.bias, c.dy, out[0], out[1],
                        out[2], out[3], out[4], out[5]));
        assertTrue(e.getMessage().contains("1025"), e.getMessage());
    }

    /** The shared-or-L2 choice of each kernel at the sizes where it switches (the header comment's limits). */
    @Test
    void sharedMemoryPlanSwitchesWhereTheHeaderSays() {
        assertTrue(CudaSlstmBackward.backwardFits(112) && !CudaSlstmBackward.backwardFits(113));
        assertTrue(CudaSlstmCluster.oneBlockFits(113) && !CudaSlstmCluster.oneBlockFits(114));
        assertTrue(!CudaSlstmBackward.backwardFits(192) && !CudaSlstmCluster.oneBlockFits(192));
    }
}
