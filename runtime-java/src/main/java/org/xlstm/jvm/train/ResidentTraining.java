package org.xlstm.jvm.train;

import java.lang.foreign.Arena;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.xlstm.jvm.backend.GradOps;
import org.xlstm.jvm.backend.Ops;
import org.xlstm.jvm.config.ModelConfig;
import org.xlstm.jvm.data.Batch;
import org.xlstm.jvm.model.TrainableLanguageModel;
import org.xlstm.jvm.nn.Mode;
import org.xlstm.jvm.tensor.Tensor;

/**
 * Training where the model's parameters live (a GPU): gradients, AdamW moments, clipping and the update all stay in
 * the backend's memory, through {@link GradOps}; a step copies back only the loss, the gradient norm and, for
 * training metrics, two numbers per row. The host buffers of {@link #parameters()} are a mirror, filled on
 * {@link #syncToHost} (checkpoints) and read on {@link #syncFromHost} (resume); their gradient halves stay zero.
 *
 * <p>Same arithmetic as {@link TrainableXlstm} with {@link AdamW} on the host (same dropout seeds per step, the
 * same float operations in the update), so on a CPU backend the two give the same parameters step for step; the
 * tests check that.
 */
public final class ResidentTraining implements TrainableModel, ResidentParameters, AutoCloseable {
    private final TrainableLanguageModel model;
    private final Ops ops;
    private final GradOps grad;
    private final Arena mirrorArena = Arena.ofShared();
    private final List<Parameter> mirrors = new ArrayList<>();
    private final List<Tensor> values = new ArrayList<>(), grads = new ArrayList<>(), hostValues = new ArrayList<>();
    private final List<Tensor> expAvg = new ArrayList<>(), expAvgSq = new ArrayList<>();
    private long seed, steps;

    public ResidentTraining(TrainableLanguageModel model, long seed) {
        this.model = model;
        this.ops = model.ops();
        this.grad = GradOps.forOps(ops);
        this.seed = seed;
        Map<String, Tensor> g = model.gradients().all();
        for (Map.Entry<String, Tensor> e : model.parameters().entrySet()) {
            Tensor v = e.getValue();
            Tensor hv = Tensor.allocate(mirrorArena, v.shape()), hg = Tensor.allocate(mirrorArena, v.shape());
            ops.copy(v, hv);
            mirrors.add(Parameter.of(e.getKey(), hv, hg));
            values.add(v);
            hostValues.add(hv);
            grads.add(g.get(e.getKey()));
            expAvg.add(ops.allocate(v.shape()));
            expAvgSq.add(ops.allocate(v.shape()));
        }
    }

    public TrainableLanguageModel model() { return model; }

    /** Host mirrors of the parameters (current after {@link #syncToHost}). */
    @Override
    public List<Parameter> parameters() { return List.copyOf(mirrors); }

    /** Loss and gradients; the gradients stay in the backend's memory (not in the mirrors' buffers). */
    @Override
    public float lossAndGradients(Batch batch) { return lossAndGradients(batch, null); }

    @Override
    public float lossAndGradients(Batch batch, TaskMetrics trainMetrics) {
        model.parametersChanged();
        double loss = model.lossAndGradients(batch.inputs(), batch.targets(), batch.batchSize(), batch.seqLen(),
                TrainableXlstm.dropoutSeed(seed, steps++));
        if (trainMetrics != null) addMetrics(model.lastLogits(), batch, trainMetrics);
        return (float) loss;
    }

    private void addMetrics(Tensor logits, Batch batch, TaskMetrics metrics) {
        int rows = batch.batchSize() * batch.seqLen();
        int[] argmax = new int[rows];
        double[] nll = new double[rows];
        grad.rowArgmaxAndNll(logits, batch.targets(), argmax, nll);
        metrics.update(argmax, nll, batch);
    }

    @Override
    public void zeroGrads() { model.gradients().zero(); }

    @Override
    public double clipByGlobalNorm(double maxNorm) {
        double sum = 0;
        for (double s : grad.sumsOfSquares(grads)) sum += s;   // one wait for the device, not one per tensor
        double norm = Math.sqrt(sum);
        if (maxNorm <= 0 || !Double.isFinite(norm)) return norm;
        float coef = (float) (maxNorm / (norm + 1e-6));   // torch's rule, as GradientClipping
        if (coef < 1f) grad.scaleEach(grads, coef);
        return norm;
    }

    @Override
    public void adamwStep(AdamW opt, double lr) {
        checkOptimizer(opt);
        AdamW.Scalars a = opt.stepElsewhere(lr);   // one update of all parameters: one launch on a GPU
        grad.adamwEach(values, grads, expAvg, expAvgSq, a.decay(), a.b1(), a.omb1(), a.b2(), a.omb2(), a.stepSize(),
                a.bc2Sqrt(), a.eps());
        for (Tensor v : values) v.markModified();
    }

    @Override
    public void syncToHost(AdamW opt) {
        checkOptimizer(opt);
        Map<String, float[]> m = new LinkedHashMap<>(), v = new LinkedHashMap<>();
        for (int i = 0; i < mirrors.size(); i++) {
            ops.copy(values.get(i), hostValues.get(i));
            m.put(mirrors.get(i).name(), read(expAvg.get(i)));
            v.put(mirrors.get(i).name(), read(expAvgSq.get(i)));
        }
        opt.restore(opt.steps(), m, v);
    }

    @Override
    public void syncFromHost(AdamW opt) {
        checkOptimizer(opt);
        Map<String, float[]> m = opt.expAvg(), v = opt.expAvgSq();
        try (Arena a = Arena.ofConfined()) {
            for (int i = 0; i < mirrors.size(); i++) {
                String name = mirrors.get(i).name();
                ops.copy(hostValues.get(i), values.get(i));
                values.get(i).markModified();
                ops.copy(Tensor.of(a, m.get(name), values.get(i).shape()), expAvg.get(i));
                ops.copy(Tensor.of(a, v.get(name), values.get(i).shape()), expAvgSq.get(i));
            }
        }
        model.parametersChanged();
    }

    private float[] read(Tensor t) {
        float[] out = new float[Math.toIntExact(t.size())];
        ops.read(t, 0, out, 0, out.length);
        return out;
    }

    private void checkOptimizer(AdamW opt) {
        List<Parameter> ps = opt.parameters();
        if (ps.size() != mirrors.size())
            throw new IllegalArgumentException("the optimizer has " + ps.size() + " parameters, the model " + mirrors.size());
        for (int i = 0; i < ps.size(); i++)
            if (ps.get(i) != mirrors.get(i))
                throw new IllegalArgumentException("the optimizer's parameter " + i + " (" + ps.get(i).name()
                        + ") is not this model's " + mirrors.get(i).name() + ": build it over parameters()");
    }

    @Override
    public void evaluate(Batch batch, TaskMetrics metrics) {
        model.parametersChanged();
        addMetrics(model.forward(TrainableXlstm.rows(batch), Mode.CHUNKWISE), batch, metrics);
    }

    @Override
    public ModelConfig config() { return model.config(); }

    @Override
    public Map<String, String> aliases() { return TrainableXlstm.aliases(model.config()); }

    @Override
    public long[] rngState() { return new long[] {seed, steps}; }

    @Override
    public void restoreRngState(long[] state) {
        seed = TrainableXlstm.checkRngState(state)[0];
        steps = state[1];
    }

    /** Frees the host mirrors (the model and its device memory belong to the caller). */
    @Override
    public void close() { mirrorArena.close(); }
}
