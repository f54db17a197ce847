package org.xlstm.jvm.nn;

import java.util.SplittableRandom;

/**
 * How a parameter is initialised when it is not loaded from a checkpoint (the official {@code reset_parameters}
 * rules, XLSTM.md §6). Values are drawn from a seeded generator, so a seed reproduces a model (not the PyTorch
 * draws themselves, which depend on torch's generator).
 */
@FunctionalInterface
public interface Init {
    void fill(float[] out, SplittableRandom rnd);

    static Init zeros() { return (o, r) -> {}; }

    static Init constant(double v) { return (o, r) -> java.util.Arrays.fill(o, (float) v); }

    static Init ones() { return constant(1.0); }

    static Init normal(double std) {
        return (o, r) -> {
            for (int i = 0; i < o.length; i++) o[i] = (float) (r.nextGaussian() * std);
        };
    }

    static Init uniform(double bound) {
        return (o, r) -> {
            for (int i = 0; i < o.length; i++) o[i] = (float) ((r.nextDouble() * 2 - 1) * bound);
        };
    }

    /** torch.linspace(start, end, n) over the whole tensor. */
    static Init linspace(double start, double end) {
        return (o, r) -> {
            for (int i = 0; i < o.length; i++)
                o[i] = (float) (o.length == 1 ? start : start + (end - start) * i / (o.length - 1));
        };
    }

    static Init values(float[] v) {
        return (o, r) -> System.arraycopy(v, 0, o, 0, o.length);
    }

    /** small_init: N(0, √(2/(5·dim))) (Nguyen &amp; Salazar, "Transformers without Tears"). */
    static Init smallInit(int dim) { return normal(Math.sqrt(2.0 / (5.0 * dim))); }

    /** wang_init: N(0, 2/(num_blocks·√dim)). */
    static Init wangInit(int dim, int numBlocks) { return normal(2.0 / numBlocks / Math.sqrt(dim)); }

    /** PyTorch's default for nn.Linear / nn.Conv1d weights and biases: U(−1/√fan_in, 1/√fan_in). */
    static Init torchDefault(int fanIn) { return uniform(1.0 / Math.sqrt(fanIn)); }
}
