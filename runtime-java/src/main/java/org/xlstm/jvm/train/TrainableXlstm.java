package org.xlstm.jvm.train;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.xlstm.jvm.config.ModelConfig;
import org.xlstm.jvm.config.XlstmConfig;
import org.xlstm.jvm.data.Batch;
import org.xlstm.jvm.model.TrainableLanguageModel;
import org.xlstm.jvm.nn.Gradients;
import org.xlstm.jvm.nn.Mode;
import org.xlstm.jvm.tensor.Tensor;

/**
 * An xLSTM model (the LM or xLSTM-7B) as the {@link Trainer} sees it: its parameters with their gradient buffers
 * under the official names, and a step = forward from the zero state, mean cross-entropy over the scored positions,
 * backward. Dropout (only in training steps, at the official positions, with the config's probability) draws its
 * masks from (seed, step number), which {@link #rngState()} saves so a resumed run draws the same masks.
 *
 * <p>The optimizer updates the parameter tensors in place between steps; every step and every evaluation therefore
 * starts by declaring them changed, so nothing derived from old values (packed weights) is used.
 */
public final class TrainableXlstm implements TrainableModel {
    private final TrainableLanguageModel model;
    private final List<Parameter> parameters;
    private long seed;
    private long steps;

    public TrainableXlstm(TrainableLanguageModel model, long seed) {
        this.model = model;
        this.seed = seed;
        Gradients g = model.gradients();
        List<Parameter> ps = new ArrayList<>();
        for (Map.Entry<String, Tensor> e : model.parameters().entrySet()) {
            Tensor v = e.getValue(), grad = g.get(e.getKey());
            long bytes = v.size() * Float.BYTES;
            ps.add(new Parameter(e.getKey(), v.shape(), v.segment().asSlice(0, bytes), grad.segment().asSlice(0, bytes)));
        }
        this.parameters = List.copyOf(ps);
    }

    public TrainableLanguageModel model() { return model; }

    @Override
    public List<Parameter> parameters() { return parameters; }

    @Override
    public float lossAndGradients(Batch batch) { return lossAndGradients(batch, null); }

    @Override
    public float lossAndGradients(Batch batch, TaskMetrics trainMetrics) {
        model.parametersChanged();
        double loss = model.lossAndGradients(batch.inputs(), batch.targets(), batch.batchSize(), batch.seqLen(), dropoutSeed(steps++));
        if (trainMetrics != null) trainMetrics.update(model.lastLogits(), batch);
        return (float) loss;
    }

    @Override
    public void evaluate(Batch batch, TaskMetrics metrics) {
        model.parametersChanged();
        int b = batch.batchSize(), s = batch.seqLen();
        int[][] rows = new int[b][];
        for (int i = 0; i < b; i++) rows[i] = java.util.Arrays.copyOfRange(batch.inputs(), i * s, (i + 1) * s);
        metrics.update(model.forward(rows, Mode.CHUNKWISE), batch);
    }

    @Override
    public ModelConfig config() { return model.config(); }

    /** A tied head is saved under both names, as the official state_dict has it. */
    @Override
    public Map<String, String> aliases() {
        return model.config() instanceof XlstmConfig c && c.tieWeights() ? Map.of("lm_head.weight", "token_embedding.weight") : Map.of();
    }

    @Override
    public long[] rngState() { return new long[] {seed, steps}; }

    @Override
    public void restoreRngState(long[] state) {
        if (state.length != 2) throw new IllegalArgumentException("expected the model's random state (seed, steps); the checkpoint has " + state.length + " numbers");
        seed = state[0];
        steps = state[1];
    }

    private long dropoutSeed(long step) {
        long z = seed * 0x9E3779B97F4A7C15L + step;
        z = (z ^ (z >>> 33)) * 0xFF51AFD7ED558CCDL;
        return z ^ (z >>> 33);
    }
}
