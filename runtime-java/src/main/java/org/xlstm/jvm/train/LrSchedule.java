package org.xlstm.jvm.train;

/**
 * Learning rate per optimizer update. {@code lr(k)} is the rate of update k (0-based), with the official step
 * semantics: the official scheduler is constructed before training (which sets the rate for last_epoch 0) and
 * stepped after every optimizer step, so update k runs with compute_lr(k); with warm-up the first update has rate 0
 * (it only fills Adam's moments).
 */
public sealed interface LrSchedule permits LrSchedule.Constant, LrSchedule.WarmupCosine {
    double lr(long update);

    /** Settings for logs and trainer.json. */
    String describe();

    record Constant(double lr) implements LrSchedule {
        @Override
        public double lr(long update) { return lr; }

        @Override
        public String describe() { return "constant(lr=" + lr + ")"; }
    }

    /**
     * The official LinearWarmupCosineAnnealing (experiments/lr_scheduler.py): linear from 0 to maxLr over
     * warmupSteps, then a half cosine from maxLr to minLr until decayUntilStep, minLr after. The official run
     * passes max_lr = lr and min_lr = lr_decay_factor · lr, decay until num_steps.
     */
    record WarmupCosine(double maxLr, double minLr, long warmupSteps, long decayUntilStep) implements LrSchedule {
        public WarmupCosine {
            if (warmupSteps < 0) throw new IllegalArgumentException("warm-up steps must be non-negative, got " + warmupSteps);
            if (decayUntilStep < warmupSteps)
                throw new IllegalArgumentException("decay-until step " + decayUntilStep + " comes before the end of warm-up " + warmupSteps);
        }

        public static WarmupCosine official(double lr, double lrDecayFactor, long warmupSteps, long decayUntilStep) {
            return new WarmupCosine(lr, lrDecayFactor * lr, warmupSteps, decayUntilStep);
        }

        @Override
        public double lr(long step) {
            if (step < warmupSteps) return maxLr * step / warmupSteps;
            if (step >= decayUntilStep) return minLr;
            double ratio = (double) (step - warmupSteps) / (decayUntilStep - warmupSteps);
            double coeff = 0.5 * (1.0 + Math.cos(Math.PI * ratio));
            return minLr + coeff * (maxLr - minLr);
        }

        @Override
        public String describe() {
            return "warmup_cosine(max_lr=" + maxLr + ", min_lr=" + minLr + ", warmup=" + warmupSteps + ", decay_until=" + decayUntilStep + ")";
        }
    }
}
