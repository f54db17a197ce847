package org.xlstm.jvm.train;

import java.lang.foreign.MemorySegment;
import java.util.List;
import java.util.SplittableRandom;
import org.xlstm.jvm.data.Batch;

/**
 * A small real model for trainer tests: logits of position t = lm_head · token_embedding[input_t] (a factorised
 * bigram model, V×D each), with exact gradients. Deterministic: same seed, same numbers.
 */
class BigramModel implements TrainableModel {
    final int vocab, dim;
    final float[] emb, head, gEmb, gHead;
    final List<Parameter> params;

    BigramModel(int vocab, int dim, long seed) {
        this.vocab = vocab;
        this.dim = dim;
        emb = new float[vocab * dim];
        head = new float[vocab * dim];
        gEmb = new float[vocab * dim];
        gHead = new float[vocab * dim];
        SplittableRandom r = new SplittableRandom(seed);
        double std = Math.sqrt(2.0 / (5 * dim));  // the official small_init
        for (int i = 0; i < emb.length; i++) emb[i] = (float) (r.nextGaussian() * std);
        for (int i = 0; i < head.length; i++) head[i] = (float) (r.nextGaussian() * std);
        params = List.of(Parameter.ofArrays("token_embedding.weight", emb, gEmb, vocab, dim),
                Parameter.ofArrays("lm_head.weight", head, gHead, vocab, dim));
    }

    @Override
    public List<Parameter> parameters() { return params; }

    float[] logits(Batch b) {
        int rows = b.batchSize() * b.seqLen();
        float[] z = new float[rows * vocab];
        for (int r = 0; r < rows; r++) {
            int x = b.inputs()[r];
            for (int v = 0; v < vocab; v++) {
                float s = 0;
                for (int d = 0; d < dim; d++) s += head[v * dim + d] * emb[x * dim + d];
                z[r * vocab + v] = s;
            }
        }
        return z;
    }

    @Override
    public float lossAndGradients(Batch b) {
        return lossAndGradients(b, new TaskMetrics());
    }

    @Override
    public float lossAndGradients(Batch b, TaskMetrics trainMetrics) {
        float[] z = logits(b);
        float[] dz = new float[z.length];
        float loss = (float) CrossEntropy.lossAndGradient(MemorySegment.ofArray(z), b, MemorySegment.ofArray(dz));
        trainMetrics.update(z, b);
        int rows = b.batchSize() * b.seqLen();
        for (int r = 0; r < rows; r++) {
            int x = b.inputs()[r];
            for (int v = 0; v < vocab; v++) {
                float g = dz[r * vocab + v];
                if (g == 0) continue;
                for (int d = 0; d < dim; d++) {
                    gHead[v * dim + d] += g * emb[x * dim + d];
                    gEmb[x * dim + d] += g * head[v * dim + d];
                }
            }
        }
        return loss;
    }

    @Override
    public void evaluate(Batch b, TaskMetrics metrics) {
        metrics.update(logits(b), b);
    }
}
