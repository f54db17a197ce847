package org.xlstm.jvm.backend.cuda;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.xlstm.jvm.backend.ReferenceGradOps;
import org.xlstm.jvm.tensor.Tensor;

/**
 * The tensor-core mLSTM backward (CudaMlstmBackwardTensorCores) against the double reference, at bf16 accuracy.
 * The reference differentiates the stabilisers too; the kernels take them as constants, which differs by terms of
 * order eps·e^m: gates are drawn so that m stays moderate.
 */
class CudaMlstmBackwardTensorCoresTest extends GpuContextTest {
    private static double rms(Tensor t) {
        double s = 0;
        for (long i = 0; i < t.size(); i++) s += (double) t.get(i) * t.get(i);
        return Math.sqrt(s / t.size());
    }

    private Tensor[] run(CudaOps gpu, DeviceTensors mem, Arena a, Tensor[] in, float m0, boolean withAll) {
        Tensor[] d = new Tensor[in.length];
        for (int j = 0; j < in.length; j++) d[j] = mem.upload(in[j]);
        Tensor dq = mem.allocate(in[0].shape()), dk = withAll ? mem.allocate(in[1].shape()) : null,
                dv = mem.allocate(in[2].shape()), di = mem.allocate(in[3].shape()), df = withAll ? mem.allocate(in[4].shape()) : null;
        assertTrue(CudaMlstmBackwardTensorCores.run(gpu, d[0], d[1], d[2], d[3], d[4], m0, 64, 1e-6f, d[5], dq, dk, dv, di, df),
                "the tensor-core backward declined the shape " + java.util.Arrays.toString(in[0].shape()));
        gpu.synchronize();
        Tensor[] out = {dq, dk, dv, di, df};
        Tensor[] host = new Tensor[5];
        for (int j = 0; j < 5; j++) host[j] = out[j] == null ? null : mem.download(out[j], a);
        for (Tensor t : d) mem.release(t);
        for (Tensor t : out) if (t != null) mem.release(t);
        return host;
    }

    /**
     * q, k, v, dh drawn as bf16 values: the kernels then see the reference's inputs exactly, so each row's
     * normaliser max(|den|, e^−m) takes the reference's branch. (With unrounded inputs a row within bf16 rounding of
     * the switch can take the other one, and the gradient jumps there: the cell is not differentiable at the switch.)
     */
    private static Tensor[] inputs(Arena a, SplittableRandom r, int b, int len, int nh, int dqk, int dvh) {
        Tensor[] in = {GpuTests.gaussian(a, r, 1, 0, b, len, nh * dqk), GpuTests.gaussian(a, r, 1, 0, b, len, nh * dqk),
                GpuTests.gaussian(a, r, 1, 0, b, len, nh * dvh), GpuTests.gaussian(a, r, 1.5, 0, b, len, nh), GpuTests.gaussian(a, r, 1.5, 2, b, len, nh),
                GpuTests.gaussian(a, r, 1, 0, b, len, nh * dvh)};
        for (int j : new int[] {0, 1, 2, 5})
            for (long e = 0; e < in[j].size(); e++) in[j].set(e, bf16(in[j].get(e)));
        return in;
    }

    /** x rounded to the nearest bfloat16 (ties to even), as __float2bfloat16. */
    static float bf16(float x) {
        int bits = Float.floatToRawIntBits(x);
        bits += 0x7fff + ((bits >>> 16) & 1);
        return Float.intBitsToFloat(bits & 0xffff0000);
    }

    @Test
    void matchesTheReferenceAcrossShapesAndStabilisers() {
        int[][] shapes = {{1, 1, 1, 16, 16}, {2, 37, 2, 16, 32}, {1, 70, 1, 32, 48}, {2, 64, 3, 16, 16},
                {1, 150, 2, 32, 48}, {1, 133, 1, 96, 192}, {1, 20, 1, 48, 16}};
        String[] names = {"dq", "dk", "dv", "di", "df"};
        try (DeviceTensors mem = new DeviceTensors(ctx); CudaOps gpu = new CudaOps(mem, CudaOps.Precision.BF16);
             Arena a = Arena.ofShared()) {
            ReferenceGradOps ref = new ReferenceGradOps();
            int caseNo = 0;
            for (int[] s : shapes) {
                for (float m0 : new float[] {Float.NEGATIVE_INFINITY, 0f}) {
                    SplittableRandom r = new SplittableRandom(++caseNo);
                    int b = s[0], len = s[1], nh = s[2], dqk = s[3], dvh = s[4];
                    Tensor[] in = inputs(a, r, b, len, nh, dqk, dvh);
                    Tensor[] want = {Tensor.allocate(a, in[0].shape()), Tensor.allocate(a, in[1].shape()),
                            Tensor.allocate(a, in[2].shape()), Tensor.allocate(a, in[3].shape()), Tensor.allocate(a, in[4].shape())};
                    ref.mlstmChunkwiseBackward(in[0], in[1], in[2], in[3], in[4], m0, 64, 1e-6f, in[5], want[0], want[1],
                            want[2], want[3], want[4]);
                    Tensor[] got = run(gpu, mem, a, in, m0, true);
                    String what = "tensor-core mLSTM backward B=" + b + " S=" + len + " NH=" + nh + " DQK=" + dqk
                            + " DV=" + dvh + " m0=" + m0;
                    // floored at dv's size: with one step the true dq, dk, di are of eps size (h = v·sign(q·k)), and
                    // what bf16 rounding leaves there is noise of the other gradients' size
                    double floor = rms(want[2]);
                    StringBuilder report = new StringBuilder(what);
                    boolean ok = true;
                    for (int j = 0; j < 5; j++) {
                        double e = GpuTests.relErr(got[j], want[j], floor);
                        report.append(String.format("  %s %.2e", names[j], e));
                        ok &= e <= 3e-2;
                    }
                    System.out.println("[mlstm-bw-tc] " + report);
                    assertTrue(ok, report + " (tolerance 3e-2)");
                    Tensor[] again = run(gpu, mem, a, in, m0, false);
                    assertNull(again[1]);
                    assertNotNull(again[0]);
                    assertArrayEquals(got[0].toArray(), again[0].toArray(), what + ": dq differs between runs (or with dk, df null)");
                    assertArrayEquals(got[3].toArray(), again[3].toArray(), what + ": di differs between runs (or with dk, df null)");
                }
            }
        }
    }

    @Test
    void timingAtTheXlstm7bShapeAgainstTheFloat32Kernel() {
        try (DeviceTensors mem = new DeviceTensors(ctx); CudaOps gpu = new CudaOps(mem, CudaOps.Precision.BF16);
             Arena a = Arena.ofShared()) {
            int b = 8, len = 2048, nh = 4, dqk = 96, dvh = 192;
            Tensor[] in = inputs(a, new SplittableRandom(1), b, len, nh, dqk, dvh);
            Tensor[] d = new Tensor[in.length];
            for (int j = 0; j < in.length; j++) d[j] = mem.upload(in[j]);
            Tensor dq = mem.allocate(in[0].shape()), dk = mem.allocate(in[1].shape()), dv = mem.allocate(in[2].shape()),
                    di = mem.allocate(in[3].shape()), df = mem.allocate(in[4].shape());
            for (String kernel : new String[] {"tensor cores", "float32 seq"}) {
                double best = Double.MAX_VALUE;
                for (int rep = 0; rep < 4; rep++) {
                    gpu.synchronize();
                    long t0 = System.nanoTime();
                    if (kernel.equals("tensor cores"))
                        CudaMlstmBackwardTensorCores.run(gpu, d[0], d[1], d[2], d[3], d[4], 0f, 64, 1e-6f, d[5], dq, dk, dv, di, df);
                    else
                        CudaMlstmBackwardSeq.run(gpu, d[0], d[1], d[2], d[3], d[4], 0f, 64, 1e-6f, d[5], dq, dk, dv, di, df);
                    gpu.synchronize();
                    if (rep > 0) best = Math.min(best, (System.nanoTime() - t0) / 1e6);
                    if (kernel.startsWith("float32") && rep == 1) break;   // ~100 ms a call: two are enough
                }
                System.out.printf("[mlstm-bw-tc] B=8 S=2048 NH=4 DQK=96 DV=192, %s: %.3f ms per call%n", kernel, best);
            }
        }
    }
}
