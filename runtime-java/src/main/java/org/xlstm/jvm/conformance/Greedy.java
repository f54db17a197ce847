package org.xlstm.jvm.conformance;

import org.xlstm.jvm.backend.Ops;
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
        if (count == 0) return out;
        int[] first = new int[b];
        float[] row = new float[v];
        for (int r = 0; r < b; r++) {
            model.ops().read(logits, ((long) r * p + p - 1) * v, row, 0, v);   // through the backend: its memory may be a GPU's
            first[r] = out[r][0] = Ops.argmax(row);
        }
        int[][] rest = model.greedy(first, state, count - 1);   // on a GPU: without a host round trip per token
        for (int r = 0; r < b; r++) System.arraycopy(rest[r], 0, out[r], 1, count - 1);
        return out;
    }
}
