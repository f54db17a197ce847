package org.xlstm.jvm.train;

import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * AdamW as torch.optim.AdamW (single-tensor path, amsgrad off), per element in float32 with the scalars formed in
 * double as Python forms them:
 * <pre>
 *   p ← p·(1 − lr·wd)                                   decoupled weight decay, before the moments
 *   m ← β1·m + (1 − β1)·g ;  v ← β2·v + (1 − β2)·g²
 *   p ← p − (lr / (1 − β1^t)) · m / (√v / √(1 − β2^t) + ε)      t = number of updates so far, from 1
 * </pre>
 * Two groups as officially: {@link WeightDecayRule} decides, the "no decay" group runs with wd = 0. Moments are
 * heap float arrays, one pair per parameter, keyed by parameter name for checkpoints ({@code exp_avg.<name>},
 * {@code exp_avg_sq.<name>}).
 */
public final class AdamW {
    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    private static final ByteOrder NATIVE = ByteOrder.nativeOrder();

    private final List<Parameter> parameters;
    private final double[] weightDecay;
    private final float[][] expAvg;
    private final float[][] expAvgSq;
    private final double beta1, beta2, eps;
    private long steps;

    /**
     * @param parameters every trainable parameter, each once
     * @param weightDecay the decay of the decay group (the other group gets 0)
     */
    public AdamW(List<Parameter> parameters, WeightDecayRule.Groups groups, double beta1, double beta2, double eps,
                 double weightDecay) {
        if (!(beta1 >= 0 && beta1 < 1) || !(beta2 >= 0 && beta2 < 1))
            throw new IllegalArgumentException("betas must be in [0, 1), got " + beta1 + ", " + beta2);
        if (!(eps >= 0)) throw new IllegalArgumentException("eps must be non-negative, got " + eps);
        if (!(weightDecay >= 0)) throw new IllegalArgumentException("weight decay must be non-negative, got " + weightDecay);
        this.parameters = List.copyOf(parameters);
        this.beta1 = beta1;
        this.beta2 = beta2;
        this.eps = eps;
        int n = this.parameters.size();
        this.weightDecay = new double[n];
        this.expAvg = new float[n][];
        this.expAvgSq = new float[n][];
        Map<String, Parameter> seen = new LinkedHashMap<>();
        for (int i = 0; i < n; i++) {
            Parameter p = this.parameters.get(i);
            if (seen.put(p.name(), p) != null) throw new IllegalArgumentException("parameter " + p.name() + " is listed twice");
            if (p.size() > Integer.MAX_VALUE - 8) throw new IllegalArgumentException(p.name() + " is too large for one moment array: " + p.size());
            boolean inDecay = groups.decay().contains(p), inNoDecay = groups.noDecay().contains(p);
            if (inDecay == inNoDecay)
                throw new IllegalArgumentException("parameter " + p.name() + (inDecay ? " is in both weight-decay groups" : " is in no weight-decay group"));
            this.weightDecay[i] = inDecay ? weightDecay : 0.0;
            expAvg[i] = new float[(int) p.size()];
            expAvgSq[i] = new float[(int) p.size()];
        }
        if (groups.decay().size() + groups.noDecay().size() != n)
            throw new IllegalArgumentException("the weight-decay groups hold " + (groups.decay().size() + groups.noDecay().size())
                    + " parameters, the optimizer was given " + n);
    }

    /** AdamW over {@code parameters} with the official groups. */
    public static AdamW official(List<Parameter> parameters, boolean weightDecayOnEmbedding, double beta1, double beta2,
                                 double eps, double weightDecay) {
        return new AdamW(parameters, WeightDecayRule.split(parameters, weightDecayOnEmbedding), beta1, beta2, eps, weightDecay);
    }

    public List<Parameter> parameters() { return parameters; }

    /** Updates done so far (torch's per-parameter "step" state; the same for every parameter here). */
    public long steps() { return steps; }

    public double weightDecayOf(Parameter p) { return weightDecay[indexOf(p.name())]; }

    /**
     * One update with this learning rate done elsewhere (where the parameters live, {@link ResidentTraining}):
     * counts the step and returns the float scalars {@link #step} would use (the decays in parameter list order).
     */
    Scalars stepElsewhere(double lr) {
        steps++;
        double bc1 = 1 - Math.pow(beta1, steps);
        double bc2 = 1 - Math.pow(beta2, steps);
        float[] decay = new float[parameters.size()];
        for (int i = 0; i < decay.length; i++) decay[i] = (float) (1 - lr * weightDecay[i]);
        return new Scalars(decay, (float) beta1, (float) (1 - beta1), (float) beta2, (float) (1 - beta2),
                (float) (lr / bc1), (float) Math.sqrt(bc2), (float) eps);
    }

    /** The scalars of one AdamW update: each parameter's decay factor, the rest shared by all parameters. */
    record Scalars(float[] decay, float b1, float omb1, float b2, float omb2, float stepSize, float bc2Sqrt, float eps) {}

    /** One update of every parameter from its current gradient, with this learning rate. */
    public void step(double lr) {
        steps++;
        double bc1 = 1 - Math.pow(beta1, steps);
        double bc2 = 1 - Math.pow(beta2, steps);
        float stepSize = (float) (lr / bc1);
        float bc2Sqrt = (float) Math.sqrt(bc2);
        for (int i = 0; i < parameters.size(); i++) {
            Parameter p = parameters.get(i);
            update(p.value(), p.grad(), expAvg[i], expAvgSq[i], (float) (1 - lr * weightDecay[i]),
                    (float) beta1, (float) (1 - beta1), (float) beta2, (float) (1 - beta2), stepSize, bc2Sqrt, (float) eps);
        }
    }

    private static void update(MemorySegment pv, MemorySegment gv, float[] m, float[] v, float decay, float b1,
                               float omb1, float b2, float omb2, float stepSize, float bc2Sqrt, float eps) {
        int n = m.length;
        int i = 0;
        for (int upper = S.loopBound(n); i < upper; i += S.length()) {
            long off = (long) i * 4;
            FloatVector p = FloatVector.fromMemorySegment(S, pv, off, NATIVE).mul(decay);
            FloatVector g = FloatVector.fromMemorySegment(S, gv, off, NATIVE);
            // torch: exp_avg.mul_(β1).add_(g, alpha=1-β1): its vectorised add is a fused multiply-add.
            FloatVector mi = g.fma(FloatVector.broadcast(S, omb1), FloatVector.fromArray(S, m, i).mul(b1));
            FloatVector vi = FloatVector.fromArray(S, v, i).mul(b2).add(g.mul(omb2).mul(g));
            FloatVector denom = vi.sqrt().div(bc2Sqrt).add(eps);
            p = p.sub(mi.div(denom).mul(stepSize));
            mi.intoArray(m, i);
            vi.intoArray(v, i);
            p.intoMemorySegment(pv, off, NATIVE);
        }
        for (; i < n; i++) {
            float p = pv.getAtIndex(Parameter.F32, i) * decay;
            float g = gv.getAtIndex(Parameter.F32, i);
            float mi = Math.fma(g, omb1, m[i] * b1);
            float vi = v[i] * b2 + g * omb2 * g;
            float denom = (float) Math.sqrt(vi) / bc2Sqrt + eps;
            p = p - mi / denom * stepSize;
            m[i] = mi;
            v[i] = vi;
            pv.setAtIndex(Parameter.F32, i, p);
        }
    }

    /** First moments by parameter name, copies in parameter order. */
    public Map<String, float[]> expAvg() { return moments(expAvg); }

    /** Second moments by parameter name, copies in parameter order. */
    public Map<String, float[]> expAvgSq() { return moments(expAvgSq); }

    private Map<String, float[]> moments(float[][] which) {
        Map<String, float[]> out = new LinkedHashMap<>();
        for (int i = 0; i < parameters.size(); i++) out.put(parameters.get(i).name(), which[i].clone());
        return Collections.unmodifiableMap(out);
    }

    /** Restores the state a checkpoint saved: every parameter's moments, sizes checked, and the update count. */
    public void restore(long steps, Map<String, float[]> expAvg, Map<String, float[]> expAvgSq) {
        if (steps < 0) throw new IllegalArgumentException("optimizer step count must be non-negative, got " + steps);
        List<String> problems = new ArrayList<>();
        for (int i = 0; i < parameters.size(); i++) {
            Parameter p = parameters.get(i);
            for (var e : List.of(Map.entry("exp_avg", expAvg), Map.entry("exp_avg_sq", expAvgSq))) {
                float[] a = e.getValue().get(p.name());
                if (a == null) problems.add(e.getKey() + "." + p.name() + " is missing");
                else if (a.length != p.size()) problems.add(e.getKey() + "." + p.name() + " has " + a.length + " values, the parameter " + p.size());
            }
        }
        for (String name : expAvg.keySet())
            if (indexOfOrMinus(name) < 0) problems.add("exp_avg." + name + " names no parameter of this model");
        if (!problems.isEmpty()) throw new IllegalArgumentException("optimizer state does not fit the model: " + String.join("; ", problems));
        for (int i = 0; i < parameters.size(); i++) {
            String name = parameters.get(i).name();
            System.arraycopy(expAvg.get(name), 0, this.expAvg[i], 0, this.expAvg[i].length);
            System.arraycopy(expAvgSq.get(name), 0, this.expAvgSq[i], 0, this.expAvgSq[i].length);
        }
        this.steps = steps;
    }

    private int indexOf(String name) {
        int i = indexOfOrMinus(name);
        if (i < 0) throw new IllegalArgumentException("no parameter named " + name);
        return i;
    }

    private int indexOfOrMinus(String name) {
        for (int i = 0; i < parameters.size(); i++) if (parameters.get(i).name().equals(name)) return i;
        return -1;
    }
}
