package org.xlstm.jvm.backend.cuda;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.xlstm.jvm.backend.ReferenceGradOps;
import org.xlstm.jvm.tensor.Tensor;

/** The GPU mLSTM backward (CudaMlstmBackwardSeq, reached through CudaGradOps) against the double reference. */
class CudaMlstmBackwardSeqTest extends GpuContextTest {
    private Tensor[] run(CudaOps gpu, DeviceTensors mem, Arena a, Tensor[] in, float m0, int chunk, boolean withAll) {
        Tensor[] d = new Tensor[in.length];
        for (int j = 0; j < in.length; j++) d[j] = mem.upload(in[j]);
        Tensor dq = mem.allocate(in[0].shape()), dk = withAll ? mem.allocate(in[1].shape()) : null,
                dv = mem.allocate(in[2].shape()), di = mem.allocate(in[3].shape()), df = withAll ? mem.allocate(in[4].shape()) : null;
        gpu.gradOps().mlstmChunkwiseBackward(d[0], d[1], d[2], d[3], d[4], m0, chunk, 1e-6f, d[5], dq, dk, dv, di, df);
        gpu.synchronize();
        Tensor[] out = {dq, dk, dv, di, df};
        Tensor[] host = new Tensor[5];
        for (int j = 0; j < 5; j++) host[j] = out[j] == null ? null : mem.download(out[j], a);
        return host;
    }

    @Test
    void matchesTheReferenceAcrossShapesAndStabilisers() {
        int[][] shapes = {{1, 1, 1, 8, 8, 4}, {2, 37, 2, 16, 24, 16}, {1, 70, 1, 12, 20, 16}, {2, 64, 3, 8, 16, 64},
                {1, 150, 2, 32, 48, 64}, {1, 33, 1, 96, 192, 64}};
        String[] names = {"dq", "dk", "dv", "di", "df"};
        try (DeviceTensors mem = new DeviceTensors(ctx); CudaOps gpu = new CudaOps(mem, CudaOps.Precision.FP32);
             Arena a = Arena.ofShared()) {
            ReferenceGradOps ref = new ReferenceGradOps();
            int caseNo = 0;
            for (int[] s : shapes) {
                for (float m0 : new float[] {Float.NEGATIVE_INFINITY, 0f}) {
                    caseNo++;
                    SplittableRandom r = new SplittableRandom(caseNo);
                    int b = s[0], len = s[1], nh = s[2], dqk = s[3], dvh = s[4], chunk = s[5];
                    Tensor q = GpuTests.gaussian(a, r, 1, 0, b, len, nh * dqk), k = GpuTests.gaussian(a, r, 1, 0, b, len, nh * dqk),
                            v = GpuTests.gaussian(a, r, 1, 0, b, len, nh * dvh), ig = GpuTests.gaussian(a, r, 3, -1, b, len, nh),
                            fg = GpuTests.gaussian(a, r, 3, 2, b, len, nh), dh = GpuTests.gaussian(a, r, 1, 0, b, len, nh * dvh);
                    Tensor[] want = {Tensor.allocate(a, q.shape()), Tensor.allocate(a, k.shape()), Tensor.allocate(a, v.shape()),
                            Tensor.allocate(a, ig.shape()), Tensor.allocate(a, fg.shape())};
                    ref.mlstmChunkwiseBackward(q, k, v, ig, fg, m0, chunk, 1e-6f, dh, want[0], want[1], want[2], want[3], want[4]);
                    Tensor[] in = {q, k, v, ig, fg, dh};
                    Tensor[] got = run(gpu, mem, a, in, m0, chunk, true);
                    String what = "mLSTM backward B=" + b + " S=" + len + " NH=" + nh + " DQK=" + dqk + " DV=" + dvh
                            + " chunk=" + chunk + " m0=" + m0;
                    for (int j = 0; j < 5; j++) {
                        // one step from m0 = 0: the forget gate enters only through the stabiliser, df is 0 up to
                        // rounding (reference and CPU engine disagree by 40 % on its ~1e-10), nothing to compare
                        if (j == 4 && len == 1 && m0 == 0f) continue;
                        double e = GpuTests.relErr(got[j], want[j]);
                        assertTrue(e <= 1e-4, what + ": " + names[j] + " relative error " + e);
                    }
                    Tensor[] again = run(gpu, mem, a, in, m0, chunk, false);
                    assertArrayEquals(got[0].toArray(), again[0].toArray(), what + ": dq differs between runs (or with dk, df null)");
                    assertArrayEquals(got[3].toArray(), again[3].toArray(), what + ": di differs between runs (or with dk, df null)");
                }
            }
        }
    }

    @Test
    void timingAtTheXlstm7bShape() {
        try (DeviceTensors mem = new DeviceTensors(ctx); CudaOps gpu = new CudaOps(mem, CudaOps.Precision.FP32);
             Arena a = Arena.ofShared()) {
            SplittableRandom r = new SplittableRandom(1);
            int b = 8, len = 2048, nh = 4, dqk = 96, dvh = 192;
            Tensor[] in = {GpuTests.gaussian(a, r, 1, 0, b, len, nh * dqk), GpuTests.gaussian(a, r, 1, 0, b, len, nh * dqk),
                    GpuTests.gaussian(a, r, 1, 0, b, len, nh * dvh), GpuTests.gaussian(a, r, 3, -1, b, len, nh), GpuTests.gaussian(a, r, 3, 2, b, len, nh),
                    GpuTests.gaussian(a, r, 1, 0, b, len, nh * dvh)};
            run(gpu, mem, a, in, 0f, 64, true);
            long t0 = System.nanoTime();
            run(gpu, mem, a, in, 0f, 64, true);
            System.out.printf("[mlstm-bw-seq] B=8 S=2048 NH=4 DQK=96 DV=192: %.2f ms (with uploads and downloads)%n",
                    (System.nanoTime() - t0) / 1e6);
        }
    }
}
