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
    private final int microBatches;
    private final TrainableLanguageModel[] replicas;
    private long seed;
    private long steps;

    public TrainableXlstm(TrainableLanguageModel model, long seed) {
        this(model, seed, 1);
    }

    /**
     * @param microBatches split each batch's rows into this many micro-batches that run side by side, one per
     *                     thread, on replicas sharing the parameters (each single-threaded inside), their gradients
     *                     summed in a fixed order. Far fewer synchronisation points per step than splitting every
     *                     operation over the threads. The split depends on this number only, never on the thread
     *                     count, so results stay bit-identical on any number of threads; 1 = no split.
     */
    public TrainableXlstm(TrainableLanguageModel model, long seed, int microBatches) {
        if (microBatches < 1) throw new IllegalArgumentException("micro-batches must be at least 1; got " + microBatches);
        this.model = model;
        this.seed = seed;
        this.microBatches = microBatches;
        this.replicas = new TrainableLanguageModel[microBatches];
        replicas[0] = model;
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
        long stepSeed = dropoutSeed(steps++);
        int m = Math.min(microBatches, batch.batchSize()), count = batch.scoredPositions();
        if (m <= 1 || count == 0) {
            double loss = model.lossAndGradients(batch.inputs(), batch.targets(), batch.batchSize(), batch.seqLen(), stepSeed);
            if (trainMetrics != null) trainMetrics.update(model.lastLogits(), batch);
            return (float) loss;
        }
        Batch[] parts = split(batch, m);
        double[] shares = new double[m];
        for (int i = 1; i < m; i++) {
            if (replicas[i] == null) replicas[i] = model.replica();
            replicas[i].gradients().zero();
            // done here, before the threads start: no replica then marks the shared parameters while another computes
            replicas[i].parametersChanged();
        }
        org.xlstm.jvm.backend.cpu.Parallel.forEach(m, Long.MAX_VALUE, i -> shares[i] = replicas[i].lossAndGradients(
                parts[i].inputs(), parts[i].targets(), parts[i].batchSize(), parts[i].seqLen(), mix(stepSeed, i), count));
        double loss = 0;
        for (int i = 0; i < m; i++) {
            loss += shares[i];
            if (trainMetrics != null) trainMetrics.update(replicas[i].lastLogits(), parts[i]);
        }
        Map<String, Tensor> total = model.gradients().all();
        for (int i = 1; i < m; i++)
            for (Map.Entry<String, Tensor> e : replicas[i].gradients().all().entrySet()) {
                Tensor t = total.get(e.getKey());
                model.ops().add(t, e.getValue(), t);
            }
        return (float) loss;
    }

    /** Rows split into m contiguous parts, sizes differing by at most one. */
    private static Batch[] split(Batch b, int m) {
        Batch[] out = new Batch[m];
        int s = b.seqLen(), base = b.batchSize() / m, extra = b.batchSize() % m, r0 = 0;
        for (int i = 0; i < m; i++) {
            int rows = base + (i < extra ? 1 : 0);
            out[i] = new Batch(java.util.Arrays.copyOfRange(b.inputs(), r0 * s, (r0 + rows) * s),
                    java.util.Arrays.copyOfRange(b.targets(), r0 * s, (r0 + rows) * s), rows, s);
            r0 += rows;
        }
        return out;
    }

    private static long mix(long a, long b) {
        long z = a + (b + 1) * 0x9E3779B97F4A7C15L;
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        return z ^ (z >>> 31);
    }

    /** Closes the replicas (the model itself belongs to the caller). */
    public void closeReplicas() {
        for (int i = 1; i < replicas.length; i++)
            if (replicas[i] != null) {
                replicas[i].close();
                replicas[i] = null;
            }
    }

    @Override
    public void evaluate(Batch batch, TaskMetrics metrics) {
        model.parametersChanged();
        metrics.update(model.forward(rows(batch), Mode.CHUNKWISE), batch);
    }

    @Override
    public ModelConfig config() { return model.config(); }

    @Override
    public Map<String, String> aliases() { return aliases(model.config()); }

    /** A tied head is saved under both names, as the official state_dict has it. */
    static Map<String, String> aliases(ModelConfig config) {
        return config instanceof XlstmConfig c && c.tieWeights() ? Map.of("lm_head.weight", "token_embedding.weight") : Map.of();
    }

    /** The batch's rows as the models' forward takes them. */
    static int[][] rows(Batch batch) {
        int b = batch.batchSize(), s = batch.seqLen();
        int[][] rows = new int[b][];
        for (int i = 0; i < b; i++) rows[i] = java.util.Arrays.copyOfRange(batch.inputs(), i * s, (i + 1) * s);
        return rows;
    }

    /** Checks a checkpoint's model random state: (seed, steps). */
    static long[] checkRngState(long[] state) {
        if (state.length != 2) throw new IllegalArgumentException("expected the model's random state (seed, steps); the checkpoint has " + state.length + " numbers");
        return state;
    }

    @Override
    public long[] rngState() { return new long[] {seed, steps}; }

    @Override
    public void restoreRngState(long[] state) {
        seed = TrainableXlstm.checkRngState(state)[0];
        steps = state[1];
    }

    private long dropoutSeed(long step) { return dropoutSeed(seed, step); }

    /** The dropout seed of step {@code step} of a run seeded {@code seed} (shared with {@link ResidentTraining}). */
    static long dropoutSeed(long seed, long step) {
        long z = seed * 0x9E3779B97F4A7C15L + step;
        z = (z ^ (z >>> 33)) * 0xFF51AFD7ED558CCDL;
        return z ^ (z >>> 33);
    }
}
