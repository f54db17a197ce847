package org.xlstm.jvm.data;

import java.util.List;

/**
 * A fixed list of batches as a {@link BatchSource}: batch i is the i-th of the list (a recorded trajectory, such as
 * the inputs/targets of a fixture's train.safetensors). Asking past the end is an error, not a wrap-around.
 */
public final class FixedBatches implements BatchSource {
    private final List<Batch> batches;
    private final String name;
    private final int vocabSize;

    public FixedBatches(List<Batch> batches, int vocabSize, String name) {
        if (batches.isEmpty()) throw new IllegalArgumentException(name + ": no batches");
        Batch first = batches.get(0);
        for (int i = 1; i < batches.size(); i++)
            if (batches.get(i).batchSize() != first.batchSize())
                throw new IllegalArgumentException(name + ": batch " + i + " has " + batches.get(i).batchSize() + " rows, batch 0 " + first.batchSize());
        this.batches = List.copyOf(batches);
        this.vocabSize = vocabSize;
        this.name = name;
    }

    /**
     * Batches from [N, B, S] int64 arrays (the layout torch writes), flattened: {@code inputs[(n·B + b)·S + t]}.
     */
    public static FixedBatches fromLongs(long[] inputs, long[] targets, int n, int b, int s, int vocabSize, String name) {
        if (inputs.length != (long) n * b * s || targets.length != inputs.length)
            throw new IllegalArgumentException(name + ": " + inputs.length + " inputs and " + targets.length
                    + " targets do not fill [" + n + ", " + b + ", " + s + "]");
        Batch[] out = new Batch[n];
        for (int i = 0; i < n; i++) {
            int[] in = new int[b * s], tg = new int[b * s];
            for (int j = 0; j < b * s; j++) {
                in[j] = Math.toIntExact(inputs[i * b * s + j]);
                tg[j] = Math.toIntExact(targets[i * b * s + j]);
            }
            out[i] = new Batch(in, tg, b, s);
        }
        return new FixedBatches(List.of(out), vocabSize, name);
    }

    public int size() { return batches.size(); }

    @Override
    public Batch batch(long index) {
        if (index < 0 || index >= batches.size())
            throw new IllegalArgumentException(name + " holds " + batches.size() + " batches, batch " + index + " was asked for");
        return batches.get((int) index);
    }

    @Override
    public int batchSize() { return batches.get(0).batchSize(); }

    @Override
    public int seqLen() { return batches.get(0).seqLen(); }

    @Override
    public int vocabSize() { return vocabSize; }

    @Override
    public String describe() { return "fixed(" + name + ", " + batches.size() + " batches)"; }
}
