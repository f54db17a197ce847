package org.xlstm.jvm.nn;

import org.xlstm.jvm.backend.GradOps;
import org.xlstm.jvm.backend.Ops;
import org.xlstm.jvm.tensor.Tensor;
import org.xlstm.jvm.tensor.Workspace;

/**
 * What a training forward and its backward share: the backends, the workspace that keeps the saved activations
 * until the backward has run, the gradient buffers, and dropout. Dropout draws its masks from a counter-based hash
 * of (seed, site, element), so the backward regenerates the forward's mask instead of storing it; each dropout
 * site of a step takes the next site number, and the caller gives every step its own seed.
 */
public final class Training {
    private final Ops ops;
    private final GradOps grad;
    private final Workspace ws;
    private final Gradients grads;
    private final float dropout;
    private long seed;
    private int site;

    public Training(Ops ops, GradOps grad, Workspace ws, Gradients grads, float dropout, long seed) {
        if (!(dropout >= 0f && dropout < 1f)) throw new IllegalArgumentException("dropout must be in [0, 1); got " + dropout);
        this.ops = ops;
        this.grad = grad;
        this.ws = ws;
        this.grads = grads;
        this.dropout = dropout;
        this.seed = seed;
    }

    public Ops ops() { return ops; }

    public GradOps grad() { return grad; }

    public Workspace ws() { return ws; }

    public Gradients grads() { return grads; }

    /** The dropout probability of the layers (0: no dropout). */
    public float dropout() { return dropout; }

    /** Starts a new step: new masks, site numbers from 0. */
    public void newStep(long stepSeed) {
        this.seed = stepSeed;
        this.site = 0;
    }

    /**
     * A dropout site in the forward: applies dropout with probability {@code p} to x in place and returns the
     * site's mask seed for {@link #dropoutBackward}; returns 0 (and does nothing) when p is 0.
     */
    public long dropoutForward(Tensor x, float p) {
        if (p == 0f) return 0L;
        long s = mix(seed, ++site);
        grad.dropout(x, p, s, x);
        return s;
    }

    /** The same mask and scale applied to the gradient, in place. */
    public void dropoutBackward(Tensor dy, float p, long siteSeed) {
        if (p == 0f) return;
        grad.dropout(dy, p, siteSeed, dy);
    }

    private static long mix(long a, long b) {
        long z = a * 0x9E3779B97F4A7C15L + b;
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return (z ^ (z >>> 31)) | 1L;
    }
}
