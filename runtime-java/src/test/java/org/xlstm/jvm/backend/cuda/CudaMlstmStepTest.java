package org.xlstm.jvm.backend.cuda;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.xlstm.jvm.backend.ReferenceOps;
import org.xlstm.jvm.tensor.Tensor;

/**
 * Every mLSTM step kernel (kernels/src/mlstm_step.cu: column slices of several widths, a block per head, the split
 * pair) against the double-precision reference: h and the whole state C, n, m after each of two calls on the same
 * state (the second continuing from the first: the column-sliced kernel's last block per head writes n and m, and
 * its counters must be back at zero), from a random state and from the zero state (m = −∞). xLSTM-7B's decode shape
 * (4 heads of 96 × 192) at batch 1 and 16, slices that do not divide DV, odd DQ, DQ larger than a block.
 */
class CudaMlstmStepTest extends GpuContextTest {
    private static final double TOL = 1e-5;
    private record Kind(CudaOps.StepKernel kernel, int cols) {
        @Override
        public String toString() { return kernel == CudaOps.StepKernel.COLS ? "cols" + cols : kernel.name().toLowerCase(Locale.ROOT); }
    }

    @Test
    void everyStepKernelMatchesTheReference() {
        List<Kind> kinds = List.of(new Kind(CudaOps.StepKernel.COLS, 16), new Kind(CudaOps.StepKernel.COLS, 8),
                new Kind(CudaOps.StepKernel.COLS, 4), new Kind(CudaOps.StepKernel.COLS, 64),
                new Kind(CudaOps.StepKernel.HEADS, 0), new Kind(CudaOps.StepKernel.SPLIT, 0));
        // (B, S, NH, DQ, DV)
        int[][] shapes = {{1, 1, 4, 96, 192}, {16, 1, 4, 96, 192}, {2, 3, 3, 300, 20}, {1, 2, 2, 13, 8}, {1, 2, 1, 1024, 12}};
        List<String> failures = new ArrayList<>();
        try (DeviceTensors mem = new DeviceTensors(ctx); CudaOps gpu = new CudaOps(mem, false); Arena a = Arena.ofShared()) {
            ReferenceOps ref = new ReferenceOps();
            for (int[] s : shapes)
                for (boolean zeroState : new boolean[] {false, true})
                    for (Kind kind : kinds) {
                        SplittableRandom r = new SplittableRandom(Arrays.hashCode(s) * 31L + (zeroState ? 1 : 0));
                        int b = s[0], len = s[1], nh = s[2], dq = s[3], dv = s[4];
                        Tensor c = GpuTests.gaussian(a, r, zeroState ? 0 : 0.3, 0, b, nh, dq, dv);
                        Tensor n = GpuTests.gaussian(a, r, zeroState ? 0 : 0.3, 0, b, nh, dq);
                        Tensor m = GpuTests.gaussian(a, r, zeroState ? 0 : 1, zeroState ? Float.NEGATIVE_INFINITY : 0, b, nh);
                        Tensor dc = mem.upload(c), dn = mem.upload(n), dm = mem.upload(m);
                        for (int pass = 0; pass < 2; pass++) {
                            Tensor q = GpuTests.gaussian(a, r, 1, 0, b, len, nh * dq), k = GpuTests.gaussian(a, r, 1, 0, b, len, nh * dq);
                            Tensor v = GpuTests.gaussian(a, r, 1, 0, b, len, nh * dv);
                            Tensor ig = GpuTests.gaussian(a, r, 2, 0, b, len, nh), fg = GpuTests.gaussian(a, r, 2, 2, b, len, nh);
                            Tensor h = Tensor.allocate(a, b, len, nh * dv), dh = mem.allocate(b, len, nh * dv);
                            ref.mlstmRecurrent(q, k, v, ig, fg, c, n, m, 1e-6f, h);
                            gpu.mlstmRecurrent(kind.kernel(), kind.cols(), mem.upload(q), mem.upload(k), mem.upload(v),
                                    mem.upload(ig), mem.upload(fg), dc, dn, dm, 1e-6f, dh);
                            gpu.synchronize();
                            String tag = kind + " " + Arrays.toString(s) + (zeroState ? " zero state" : "") + " pass " + pass;
                            check(failures, tag + " h", mem.download(dh, a), h);
                            check(failures, tag + " C", mem.download(dc, a), c);
                            check(failures, tag + " n", mem.download(dn, a), n);
                            check(failures, tag + " m", mem.download(dm, a), m);
                        }
                    }
        }
        assertTrue(failures.isEmpty(), () -> failures.size() + " step results off the reference:\n" + String.join("\n", failures));
    }

    private static void check(List<String> failures, String what, Tensor got, Tensor want) {
        double e = GpuTests.relErr(got, want);
        if (!(e <= TOL)) failures.add(String.format(Locale.ROOT, "%s: relative error %.3e", what, e));
    }
}
