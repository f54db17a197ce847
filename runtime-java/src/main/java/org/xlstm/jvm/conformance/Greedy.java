package org.xlstm.jvm.conformance;

import org.xlstm.jvm.model.LanguageModel;
import org.xlstm.jvm.model.ModelState;
import org.xlstm.jvm.nn.Mode;
import org.xlstm.jvm.tensor.Tensor;

/** Greedy (argmax) decoding: prefill the prompt chunkwise, then one recurrent step per new token. */
public final class Greedy {
    private Greedy() {}

    /** The {@code count} tokens argmax decoding appends to each prompt row (ties: the lowest id, as torch.argmax). */
    public static int[][] decode(LanguageModel model, int[][] prompt, int count) {
        int b = prompt.length, v = model.vocabSize(), p = prompt[0].length;
        ModelState state = model.newState(b);
        Tensor logits = model.forward(prompt, state, Mode.CHUNKWISE, null);
        int[][] out = new int[b][count];
        int[][] next = new int[b][1];
        long rowStride = (long) p * v, lastOffset = (long) (p - 1) * v;
        float[] row = new float[v];
        for (int i = 0; i < count; i++) {
            for (int r = 0; r < b; r++) {
                long base = r * rowStride + lastOffset;
                model.ops().read(logits, base, row, 0, v);   // through the backend: its memory may be a GPU's
                int best = 0;
                float bestV = row[0];
                for (int j = 1; j < v; j++) {
                    float x = row[j];
                    if (x > bestV) {
                        bestV = x;
                        best = j;
                    }
                }
                out[r][i] = best;
                next[r][0] = best;
            }
            if (i + 1 < count) {
                logits = model.forward(next, state, Mode.STEP, null);
                rowStride = v;
                lastOffset = 0;
            }
        }
        return out;
    }
}
