package org.xlstm.jvm.backend.cuda;

import static org.junit.jupiter.api.Assertions.*;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.util.SplittableRandom;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.xlstm.jvm.backend.cpu.CpuOps;
import org.xlstm.jvm.config.MlstmLayerConfig;
import org.xlstm.jvm.config.SlstmBackend;
import org.xlstm.jvm.config.SlstmBlockConfig;
import org.xlstm.jvm.config.SlstmLayerConfig;
import org.xlstm.jvm.config.XlstmConfig;
import org.xlstm.jvm.cuda.CudaContext;
import org.xlstm.jvm.data.Batch;
import org.xlstm.jvm.model.Models;
import org.xlstm.jvm.model.TrainableLanguageModel;
import org.xlstm.jvm.train.AdamW;
import org.xlstm.jvm.train.Parameter;
import org.xlstm.jvm.train.ResidentTraining;
import org.xlstm.jvm.train.TrainableXlstm;

/**
 * Training on the GPU with the parameters resident there (ResidentTraining over CudaOps + CudaGradOps) against the
 * CPU engine: the same losses and parameters after several AdamW steps, bf16 mixed precision that learns, and no
 * device-memory growth over 10,000 steps. Skipped, with the reason, where there is no GPU.
 */
class CudaTrainingTest {
    private static CudaContext ctx;

    @BeforeAll
    static void open() {
        assumeTrue(CudaContext.isAvailable(), () -> "GPU tests skipped: " + CudaContext.unavailableReason());
        ctx = CudaContext.open(0);
    }

    @AfterAll
    static void closeAll() {
        if (ctx != null) ctx.close();
    }

    private static XlstmConfig model(SlstmBackend slstmBackend, double dropout) {
        return XlstmConfig.builder().vocabSize(13).contextLength(32).embeddingDim(32).numBlocks(3).slstmAt(1)
                .dropout(dropout).mlstm(MlstmLayerConfig.DEFAULTS.withNumHeads(2))
                .slstmBlock(new SlstmBlockConfig(SlstmLayerConfig.DEFAULTS.withNumHeads(2).withBackend(slstmBackend), null))
                .build();
    }

    private static Batch batch(int b, int s, int vocab, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        int[] in = new int[b * s], tg = new int[b * s];
        for (int i = 0; i < in.length; i++) {
            in[i] = r.nextInt(vocab);
            tg[i] = i % 5 == 0 ? -1 : r.nextInt(vocab);
        }
        return new Batch(in, tg, b, s);
    }

    /** Losses of each step and the parameters after them (host copies, by official name). */
    private record Run(float[] losses, java.util.Map<String, float[]> params) {}

    private static Run train(TrainableLanguageModel lm, boolean resident, int steps, double clip, long seed) {
        float[] out = new float[steps];
        java.util.Map<String, float[]> params = new java.util.LinkedHashMap<>();
        if (resident) {
            try (ResidentTraining t = new ResidentTraining(lm, seed)) {
                AdamW opt = AdamW.official(t.parameters(), false, 0.9, 0.999, 1e-8, 0.1);
                for (int i = 0; i < steps; i++) {
                    t.zeroGrads();
                    out[i] = t.lossAndGradients(batch(3, 21, 13, i));
                    t.clipByGlobalNorm(clip);
                    t.adamwStep(opt, 3e-3);
                }
                t.syncToHost(opt);
                for (Parameter p : t.parameters()) params.put(p.name(), p.valueArray());
            }
        } else {
            TrainableXlstm t = new TrainableXlstm(lm, seed);
            AdamW opt = AdamW.official(t.parameters(), false, 0.9, 0.999, 1e-8, 0.1);
            for (int i = 0; i < steps; i++) {
                for (Parameter p : t.parameters()) p.zeroGrad();
                out[i] = t.lossAndGradients(batch(3, 21, 13, i));
                if (clip > 0) org.xlstm.jvm.train.GradientClipping.clipByGlobalNorm(t.parameters(), clip);   // as the Trainer
                opt.step(3e-3);
            }
            for (Parameter p : t.parameters()) params.put(p.name(), p.valueArray());
        }
        return new Run(out, params);
    }

    private void trainsLikeTheCpu(SlstmBackend layout, double dropout) {
        XlstmConfig c = model(layout, dropout);
        try (DeviceTensors mem = new DeviceTensors(ctx); CudaOps gpu = new CudaOps(mem, CudaOps.Precision.FP32);
             TrainableLanguageModel cpuLm = (TrainableLanguageModel) Models.initialized(c, 3, new CpuOps());
             TrainableLanguageModel gpuLm = (TrainableLanguageModel) Models.initialized(c, 3, gpu)) {
            Run cpu = train(cpuLm, false, 6, 0.5, 11), gpuRun = train(gpuLm, true, 6, 0.5, 11);
            float[] lc = cpu.losses(), lg = gpuRun.losses();
            for (int i = 0; i < lc.length; i++)
                assertEquals(lc[i], lg[i], 1e-4 * Math.abs(lc[i]), "loss of step " + (i + 1) + " (" + layout + ")");
            assertEquals(cpu.params().keySet(), gpuRun.params().keySet());
            for (String name : cpu.params().keySet()) {
                float[] a = cpu.params().get(name), b = gpuRun.params().get(name);
                double num = 0, den = 0;
                for (int i = 0; i < a.length; i++) {
                    num += (a[i] - b[i]) * (double) (a[i] - b[i]);
                    den += a[i] * (double) a[i];
                }
                double rel = Math.sqrt(num / Math.max(den, 1e-30));
                assertTrue(rel < 1e-4, name + " after 6 steps on the GPU: relative difference " + rel + " from the CPU");
            }
        }
    }

    /** After one forward, backward and AdamW update, every parameter equals the CPU's closely (names the worst). */
    @Test
    void oneUpdateMatchesTheCpu() {
        XlstmConfig c = model(SlstmBackend.VANILLA, 0.0);
        try (DeviceTensors mem = new DeviceTensors(ctx); CudaOps gpu = new CudaOps(mem, CudaOps.Precision.FP32);
             TrainableLanguageModel cpuLm = (TrainableLanguageModel) Models.initialized(c, 3, new CpuOps());
             TrainableLanguageModel gpuLm = (TrainableLanguageModel) Models.initialized(c, 3, gpu)) {
            Run cpu = train(cpuLm, false, 1, 0, 11), gpuRun = train(gpuLm, true, 1, 0, 11);
            // per tensor, normwise: Adam's first step moves each weight by lr·g/(|g| + eps), so weights whose gradient
            // is near zero (|g| ~ eps) move by amounts that float rounding of g decides; the tensor as a whole agrees
            StringBuilder report = new StringBuilder();
            for (String name : cpu.params().keySet()) {
                float[] a = cpu.params().get(name), b = gpuRun.params().get(name);
                double num = 0, den = 0;
                for (int i = 0; i < a.length; i++) {
                    num += (a[i] - b[i]) * (double) (a[i] - b[i]);
                    den += a[i] * (double) a[i];
                }
                double rel = Math.sqrt(num / Math.max(den, 1e-30));
                if (rel > 1e-4) report.append(String.format("%n  %s: relative difference %.3g", name, rel));
            }
            assertTrue(report.isEmpty(), "after one update the GPU's parameters differ from the CPU's:" + report);
        }
    }

    @Test
    void trainsLikeTheCpuCudaLayout() { trainsLikeTheCpu(SlstmBackend.CUDA, 0.0); }

    @Test
    void trainsLikeTheCpuVanillaLayoutWithDropout() { trainsLikeTheCpu(SlstmBackend.VANILLA, 0.1); }

    @Test
    void bf16MixedPrecisionLearns() {
        XlstmConfig c = model(SlstmBackend.CUDA, 0.0);
        try (DeviceTensors mem = new DeviceTensors(ctx); CudaOps gpu = new CudaOps(mem, CudaOps.Precision.BF16);
             TrainableLanguageModel lm = (TrainableLanguageModel) Models.initialized(c, 3, gpu);
             ResidentTraining t = new ResidentTraining(lm, 1)) {
            AdamW opt = AdamW.official(t.parameters(), false, 0.9, 0.999, 1e-8, 0.0);
            Batch b = batch(4, 24, 13, 99);
            float first = 0, last = 0;
            for (int i = 0; i < 60; i++) {
                t.zeroGrads();
                last = t.lossAndGradients(b);
                if (i == 0) first = last;
                t.clipByGlobalNorm(1.0);
                t.adamwStep(opt, 1e-2);
            }
            assertTrue(last < 0.5 * first, "bf16 training on one repeated batch: loss " + first + " -> " + last);
        }
    }

    @Test
    void noDeviceMemoryGrowthOver10000Steps() {
        XlstmConfig c = XlstmConfig.builder().vocabSize(7).contextLength(16).embeddingDim(16).numBlocks(2).slstmAt(1)
                .mlstm(MlstmLayerConfig.DEFAULTS.withNumHeads(1))
                .slstmBlock(new SlstmBlockConfig(SlstmLayerConfig.DEFAULTS.withNumHeads(1), null)).build();
        try (DeviceTensors mem = new DeviceTensors(ctx); CudaOps gpu = new CudaOps(mem, CudaOps.Precision.BF16);
             TrainableLanguageModel lm = (TrainableLanguageModel) Models.initialized(c, 3, gpu);
             ResidentTraining t = new ResidentTraining(lm, 1)) {
            AdamW opt = AdamW.official(t.parameters(), false, 0.9, 0.999, 1e-8, 0.1);
            Batch b = batch(2, 16, 7, 5);
            Runnable step = () -> {
                t.zeroGrads();
                t.lossAndGradients(b);
                t.clipByGlobalNorm(1.0);
                t.adamwStep(opt, 1e-4);
            };
            for (int i = 0; i < 50; i++) step.run();
            gpu.synchronize();
            long live = ctx.allocator().liveBytes(), drivers = ctx.allocator().driverAllocations();
            for (int i = 0; i < 10_000; i++) step.run();
            gpu.synchronize();
            assertEquals(drivers, ctx.allocator().driverAllocations(), "device allocations made after the first 50 steps");
            assertEquals(live, ctx.allocator().liveBytes(), "device bytes in use after 10,050 steps vs after 50");
        }
    }

    @Test
    void optimizerKernelsMatchTheHostBitForBit() {
        try (DeviceTensors mem = new DeviceTensors(ctx); CudaOps gpu = new CudaOps(mem, CudaOps.Precision.FP32);
             java.lang.foreign.Arena arena = java.lang.foreign.Arena.ofConfined()) {
            org.xlstm.jvm.backend.GradOps host = new org.xlstm.jvm.backend.ReferenceGradOps(), dev = gpu.gradOps();
            SplittableRandom r = new SplittableRandom(4);
            int n = 10_007;
            org.xlstm.jvm.tensor.Tensor[] h = new org.xlstm.jvm.tensor.Tensor[4];
            for (int j = 0; j < 4; j++) {
                h[j] = org.xlstm.jvm.tensor.Tensor.allocate(arena, n);
                for (int i = 0; i < n; i++) h[j].set(i, (float) (j == 3 ? Math.abs(r.nextGaussian()) * 1e-3 : r.nextGaussian()));
            }
            org.xlstm.jvm.tensor.Tensor[] d = new org.xlstm.jvm.tensor.Tensor[4];
            for (int j = 0; j < 4; j++) d[j] = mem.upload(h[j]);
            for (int step = 0; step < 3; step++) {
                host.adamw(h[0], h[1], h[2], h[3], 0.999f, 0.9f, 0.1f, 0.999f, 0.001f, 0.0123f, 0.0447f, 1e-8f);
                dev.adamw(d[0], d[1], d[2], d[3], 0.999f, 0.9f, 0.1f, 0.999f, 0.001f, 0.0123f, 0.0447f, 1e-8f);
            }
            gpu.synchronize();
            String[] names = {"parameter", "gradient", "exp_avg", "exp_avg_sq"};
            for (int j = 0; j < 4; j++)
                assertArrayEquals(h[j].toArray(), mem.download(d[j], arena).toArray(), "AdamW on the GPU vs the host: " + names[j]);
            double ssHost = host.sumOfSquares(h[1]), ssDev = dev.sumOfSquares(d[1]);
            assertEquals(ssHost, ssDev, 1e-5 * ssHost, "sum of squares");
            // the batched sums (one read back for all tensors) are the single sums, bit for bit, in order; sizes
            // below one block, at one block and above the partial-sum buffer's 256 blocks
            org.xlstm.jvm.tensor.Tensor small = mem.upload(org.xlstm.jvm.tensor.Tensor.of(arena, new float[] {3f, -4f}, 2)),
                    big = mem.allocate(300_001);
            gpu.fill(big, 0.5f);
            gpu.kernel("elementwise", "xlstm_copy_f32").launch1d(n, gpu.stream(), CudaOps.output(big), gpu.input(d[0]), (long) n);
            java.util.List<org.xlstm.jvm.tensor.Tensor> all = java.util.List.of(d[1], small, big, d[0], d[3], d[1]);
            double[] batched = dev.sumsOfSquares(all);
            assertEquals(all.size(), batched.length);
            for (int j = 0; j < all.size(); j++)
                assertEquals(dev.sumOfSquares(all.get(j)), batched[j], 0.0, "batched sum of squares, tensor " + j);
            assertEquals(25.0, batched[1], 0.0, "sum of squares of (3, -4)");
            host.scale(h[1], 0.37f);
            dev.scale(d[1], 0.37f);
            gpu.synchronize();
            assertArrayEquals(h[1].toArray(), mem.download(d[1], arena).toArray(), "scale");
        }
    }

    /** The one-launch forms over many tensors (sizes around a block's 4,096 elements) equal the per-tensor kernels. */
    @Test
    void multiTensorOptimizerKernelsEqualThePerTensorOnes() {
        try (DeviceTensors mem = new DeviceTensors(ctx); CudaOps gpu = new CudaOps(mem, CudaOps.Precision.FP32);
             java.lang.foreign.Arena arena = java.lang.foreign.Arena.ofConfined()) {
            CudaGradOps dev = gpu.gradOps();
            SplittableRandom r = new SplittableRandom(11);
            int[] sizes = {1, 4095, 4096, 4097, 10_007, 3};
            java.util.List<java.util.List<org.xlstm.jvm.tensor.Tensor>> each = new java.util.ArrayList<>(),
                    single = new java.util.ArrayList<>();
            for (int k = 0; k < 4; k++) {            // parameters, gradients, first and second moments
                java.util.List<org.xlstm.jvm.tensor.Tensor> a = new java.util.ArrayList<>(), b = new java.util.ArrayList<>();
                for (int n : sizes) {
                    org.xlstm.jvm.tensor.Tensor h = org.xlstm.jvm.tensor.Tensor.allocate(arena, n);
                    for (int i = 0; i < n; i++) h.set(i, (float) (k == 3 ? Math.abs(r.nextGaussian()) * 1e-3 : r.nextGaussian()));
                    a.add(mem.upload(h));
                    b.add(mem.upload(h));
                }
                each.add(a);
                single.add(b);
            }
            float[] decay = new float[sizes.length];
            for (int t = 0; t < decay.length; t++) decay[t] = t % 2 == 0 ? 0.999f : 1f;
            for (int step = 0; step < 3; step++) {
                dev.scaleEach(each.get(1), 0.37f);
                dev.adamwEach(each.get(0), each.get(1), each.get(2), each.get(3), decay, 0.9f, 0.1f, 0.999f, 0.001f,
                        0.0123f, 0.0447f, 1e-8f);
                for (int t = 0; t < sizes.length; t++) {
                    dev.scale(single.get(1).get(t), 0.37f);
                    dev.adamw(single.get(0).get(t), single.get(1).get(t), single.get(2).get(t), single.get(3).get(t),
                            decay[t], 0.9f, 0.1f, 0.999f, 0.001f, 0.0123f, 0.0447f, 1e-8f);
                }
            }
            gpu.synchronize();
            String[] names = {"parameter", "gradient", "exp_avg", "exp_avg_sq"};
            for (int k = 0; k < 4; k++)
                for (int t = 0; t < sizes.length; t++)
                    assertArrayEquals(mem.download(single.get(k).get(t), arena).toArray(),
                            mem.download(each.get(k).get(t), arena).toArray(), names[k] + " " + t + " (" + sizes[t] + " elements)");
            gpu.fillEach(each.get(1), 0f);
            gpu.synchronize();
            for (int t = 0; t < sizes.length; t++)
                assertArrayEquals(new float[sizes[t]], mem.download(each.get(1).get(t), arena).toArray(), "zeroed gradient " + t);
            assertArrayEquals(mem.download(single.get(0).get(2), arena).toArray(),
                    mem.download(each.get(0).get(2), arena).toArray(), "fill touches only its own tensors");
        }
    }
}
