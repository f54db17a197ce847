package org.xlstm.jvm.train;

import java.util.Arrays;
import java.util.SplittableRandom;
import org.xlstm.jvm.data.Batch;
import org.xlstm.jvm.model.TrainableLanguageModel;

/**
 * Training throughput: tokens per second of whole training steps (zero the gradients, forward, loss, backward,
 * AdamW update) on random batches, the median of timed steps after a warm-up (the JIT compiles the vector kernels
 * only after seeing them run for a while).
 */
public final class TrainThroughput {
    private TrainThroughput() {}

    /**
     * @param warmupSteps   untimed steps, at least
     * @param warmupSeconds and keep warming up until this much time has passed
     */
    public static double tokensPerSecond(TrainableLanguageModel model, int batch, int seq, int runs, int warmupSteps,
                                         double warmupSeconds, long seed) {
        return tokensPerSecond(model, batch, seq, runs, warmupSteps, warmupSeconds, seed, 1);
    }

    /** As above with each batch split into {@code microBatches} (see {@link TrainableXlstm}). */
    public static double tokensPerSecond(TrainableLanguageModel model, int batch, int seq, int runs, int warmupSteps,
                                         double warmupSeconds, long seed, int microBatches) {
        if (batch < 1 || seq < 1 || runs < 1) throw new IllegalArgumentException("batch, seq and runs must be positive");
        if (!model.ops().hostMemory()) {
            // parameters on a device: the whole step stays there
            try (ResidentTraining resident = new ResidentTraining(model, seed)) {
                AdamW opt = AdamW.official(resident.parameters(), false, 0.9, 0.999, 1e-8, 0.1);
                Batch b = randomBatch(model.vocabSize(), batch, seq, seed);
                Runnable step = () -> {
                    resident.zeroGrads();
                    resident.lossAndGradients(b);
                    resident.clipByGlobalNorm(1.0);
                    resident.adamwStep(opt, 1e-6);
                };
                return time(step, batch, seq, runs, warmupSteps, warmupSeconds);
            }
        }
        TrainableXlstm trainable = new TrainableXlstm(model, seed, microBatches);
        try {
            return measure(trainable, model, batch, seq, runs, warmupSteps, warmupSeconds, seed);
        } finally {
            trainable.closeReplicas();
        }
    }

    private static double measure(TrainableXlstm trainable, TrainableLanguageModel model, int batch, int seq, int runs,
                                  int warmupSteps, double warmupSeconds, long seed) {
        AdamW opt = AdamW.official(trainable.parameters(), false, 0.9, 0.999, 1e-8, 0.1);
        Batch b = randomBatch(model.vocabSize(), batch, seq, seed);
        return time(() -> step(trainable, opt, b), batch, seq, runs, warmupSteps, warmupSeconds);
    }

    private static Batch randomBatch(int v, int batch, int seq, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        int[] in = new int[batch * seq], tg = new int[batch * seq];
        for (int i = 0; i < in.length; i++) {
            in[i] = r.nextInt(v);
            tg[i] = r.nextInt(v);
        }
        return new Batch(in, tg, batch, seq);
    }

    /** Median seconds of timed steps after the warm-up, as tokens per second (a step ends by reading the loss). */
    private static double time(Runnable step, int batch, int seq, int runs, int warmupSteps, double warmupSeconds) {
        long end = System.nanoTime() + (long) (warmupSeconds * 1e9);
        for (int i = 0; i < warmupSteps || System.nanoTime() < end; i++) step.run();
        double[] t = new double[runs];
        for (int i = 0; i < runs; i++) {
            long t0 = System.nanoTime();
            step.run();
            t[i] = (System.nanoTime() - t0) / 1e9;
        }
        Arrays.sort(t);
        double median = runs % 2 == 1 ? t[runs / 2] : (t[runs / 2 - 1] + t[runs / 2]) / 2;
        return (double) batch * seq / median;
    }

    private static void step(TrainableXlstm model, AdamW opt, Batch b) {
        for (Parameter p : model.parameters()) p.zeroGrad();
        model.lossAndGradients(b);
        // a tiny learning rate keeps the weights (and so the work) stationary over many steps
        opt.step(1e-6);
    }
}
