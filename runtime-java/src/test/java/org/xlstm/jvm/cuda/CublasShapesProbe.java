package org.xlstm.jvm.cuda;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import org.junit.jupiter.api.Test;

/**
 * Not a check: prints how long cuBLAS takes for the products of a training step of the xLSTM-7B architecture at
 * D = 768 (rows 16,384), so a device run shows which shapes run far from peak. Skipped without a GPU.
 */
class CublasShapesProbe {
    @Test
    void printTimings() {
        assumeTrue(CudaContext.isAvailable(), () -> "GPU probe skipped: " + CudaContext.unavailableReason());
        try (CudaContext ctx = CudaContext.open(0); CudaStream s = new CudaStream(ctx)) {
            Cublas blas = new Cublas(ctx, s);
            int rows = 16384;
            int[][] shapes = {{4, 768}, {384, 768}, {768, 768}, {2048, 768}, {768, 2048}, {50304, 768}};
            for (int[] sh : shapes) {
                int out = sh[0], in = sh[1];
                DeviceBuffer x = ctx.allocate((long) rows * in * 4), w = ctx.allocate((long) out * in * 4),
                        y = ctx.allocate((long) rows * out * 4);
                for (int[] types : new int[][] {{Cublas.R_16BF, Cublas.R_32F, Cublas.COMPUTE_32F},
                        {Cublas.R_16BF, Cublas.R_16BF, Cublas.COMPUTE_32F}, {Cublas.R_32F, Cublas.R_32F, Cublas.COMPUTE_32F_FAST_TF32}}) {
                    Runnable r = () -> blas.gemmEx(rows, out, in, x.ptr(), types[0], w.ptr(), types[0], y.ptr(), types[1], false, types[2]);
                    for (int i = 0; i < 3; i++) r.run();
                    s.synchronize();
                    long t0 = System.nanoTime();
                    int n = 20;
                    for (int i = 0; i < n; i++) r.run();
                    s.synchronize();
                    double us = (System.nanoTime() - t0) / 1e3 / n;
                    double tflops = 2.0 * rows * out * in / (us * 1e-6) / 1e12;
                    System.out.printf("cuBLAS rows=%d out=%d in=%d in=%s out=%s: %.1f µs  %.0f TFLOP/s%n", rows, out, in,
                            types[0] == Cublas.R_16BF ? "bf16" : "fp32", types[1] == Cublas.R_16BF ? "bf16" : "fp32", us, tflops);
                }
                x.close();
                w.close();
                y.close();
            }
            blas.close();
        }
        // the same products through CudaOps.linear in bf16 (activation rounding and cached bf16 weights included)
        try (CudaContext ctx = CudaContext.open(0);
             org.xlstm.jvm.backend.cuda.DeviceTensors mem = new org.xlstm.jvm.backend.cuda.DeviceTensors(ctx);
             org.xlstm.jvm.backend.cuda.CudaOps ops = new org.xlstm.jvm.backend.cuda.CudaOps(mem,
                     org.xlstm.jvm.backend.cuda.CudaOps.Precision.BF16);
             java.lang.foreign.Arena arena = java.lang.foreign.Arena.ofConfined()) {
            // as the xLSTM-7B layer holds them: row slices of one fused device parameter (q, k, v, o of qkvo)
            org.xlstm.jvm.tensor.Tensor fused = ops.resident(org.xlstm.jvm.tensor.Tensor.allocate(arena, 2304, 768));
            org.xlstm.jvm.tensor.Tensor xs = mem.allocate(8, 2048, 768);
            ops.fill(xs, 0.5f);
            for (int[] sl : new int[][] {{0, 384}, {384, 768}, {768, 1536}}) {
                org.xlstm.jvm.tensor.Tensor w = fused.slice(sl[0], sl[1]), y = mem.allocate(8, 2048, sl[1] - sl[0]);
                for (int i = 0; i < 3; i++) ops.linear(xs, w, null, y);
                ops.synchronize();
                long t0 = System.nanoTime();
                for (int i = 0; i < 20; i++) ops.linear(xs, w, null, y);
                ops.synchronize();
                System.out.printf("CudaOps.linear bf16 [8,2048,768]·slice[%d:%d] of a device [2304,768]: %.1f µs%n", sl[0], sl[1],
                        (System.nanoTime() - t0) / 1e3 / 20);
            }
            for (int out : new int[] {4, 384, 768, 2048}) {
                org.xlstm.jvm.tensor.Tensor w = org.xlstm.jvm.tensor.Tensor.allocate(arena, out, 768);
                org.xlstm.jvm.tensor.Tensor x = mem.allocate(8, 2048, 768), y = mem.allocate(8, 2048, out);
                ops.fill(x, 0.5f);
                for (int i = 0; i < 3; i++) ops.linear(x, w, null, y);
                ops.synchronize();
                long t0 = System.nanoTime();
                for (int i = 0; i < 20; i++) ops.linear(x, w, null, y);
                ops.synchronize();
                System.out.printf("CudaOps.linear bf16 [8,2048,768]·[%d,768]: %.1f µs%n", out, (System.nanoTime() - t0) / 1e3 / 20);
            }
        }
    }
}
