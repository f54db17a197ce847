package examples;

import java.nio.file.Path;
import java.util.Arrays;
import org.xlstm.jvm.api.XlstmModel;
import org.xlstm.jvm.api.XlstmState;
import org.xlstm.jvm.generate.GenerationOptions;

/**
 * A minimal Java application embedding an xLSTM model (see docs/embedding.md). Run it with a checkpoint folder:
 * {@code java --add-modules jdk.incubator.vector -cp ... examples.JavaEmbeddingExample path/to/checkpoint 1,2,3}.
 * The tests run it on the conformance fixtures.
 */
public final class JavaEmbeddingExample {
    public static void main(String[] args) {
        Path checkpoint = Path.of(args[0]);
        int[] prompt = Arrays.stream(args[1].split(",")).mapToInt(Integer::parseInt).toArray();
        try (XlstmModel model = XlstmModel.load(checkpoint)) {
            // 1. greedy continuation
            int[] greedy = model.generate(prompt, GenerationOptions.greedy(8));
            System.out.println("greedy: " + Arrays.toString(greedy));

            // 2. sampling with the usual controls, streamed token by token
            GenerationOptions sampling = GenerationOptions.builder()
                    .maxNewTokens(8).temperature(0.8f).topK(10).topP(0.95f).seed(42).build();
            System.out.print("sampled:");
            model.stream(prompt, sampling).forEach(t -> System.out.print(" " + t));
            System.out.println();

            // 3. explicit state: prefill once, branch twice from the same prefix
            XlstmState state = model.newState(1);
            float[] logits = state.prefill(new int[][] {prompt})[0];
            XlstmState branch = state.copy();
            System.out.println("vocab " + logits.length + ", branch logits equal: "
                    + Arrays.equals(state.step(prompt[0])[0], branch.step(prompt[0])[0]));
        }
    }
}
