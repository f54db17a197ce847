package org.xlstm.jvm.train;

import java.util.ArrayList;
import java.util.List;

/**
 * Which parameters get weight decay: the official rule ({@code WeightDecayOptimGroupMixin} and
 * {@code xLSTMLMModel._create_weight_decay_optim_groups}, the groups experiments/main.py gives AdamW).
 *
 * <p>The official rule goes by name, not by rank: a parameter decays when its name contains "weight" and does not
 * contain "norm"; then the token embedding is moved to the group {@code weight_decay_on_embedding} asks for
 * (no decay by default). So biases, norm weights, {@code learnable_skip} and the sLSTM {@code _recurrent_kernel_} and
 * {@code _bias_} (3-D and 1-D, but not named "weight") get none, while the 3-D {@code conv1d.conv.weight} and the
 * headwise q/k/v weights decay. (XLSTM.md §6 words it as "≥ 2 dims", which the 3-D recurrent kernel contradicts; the
 * fixtures' train.json agree with the name rule.) A tied head shares the embedding's tensor and its group.
 * The xLSTM-7B names follow the same rule with {@code embedding.weight} as the embedding.
 */
public final class WeightDecayRule {
    private WeightDecayRule() {}

    public record Groups(List<Parameter> decay, List<Parameter> noDecay) {
        public List<String> decayNames() { return decay.stream().map(Parameter::name).toList(); }

        public List<String> noDecayNames() { return noDecay.stream().map(Parameter::name).toList(); }
    }

    public static boolean isEmbedding(String name) {
        return name.equals("token_embedding.weight") || name.equals("embedding.weight");
    }

    public static boolean decays(String name, boolean weightDecayOnEmbedding) {
        if (isEmbedding(name)) return weightDecayOnEmbedding;
        return name.contains("weight") && !name.contains("norm");
    }

    /** Splits in list order. */
    public static Groups split(List<Parameter> parameters, boolean weightDecayOnEmbedding) {
        List<Parameter> d = new ArrayList<>(), n = new ArrayList<>();
        for (Parameter p : parameters) (decays(p.name(), weightDecayOnEmbedding) ? d : n).add(p);
        return new Groups(List.copyOf(d), List.copyOf(n));
    }
}
