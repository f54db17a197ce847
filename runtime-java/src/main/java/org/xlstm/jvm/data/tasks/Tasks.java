package org.xlstm.jvm.data.tasks;

import java.util.List;
import java.util.Locale;

/**
 * The synthetic tasks by name, with official defaults: what a CLI flag or a recipe names. Formal-language tasks get
 * their official vocabulary, training lengths 3–40 and context 256 ({@link FormalLanguageTask#officialEvaluation()}
 * gives the 40–256 split); MQAR gets a CPU-sized default (vocab 256, length 64, 8 pairs) unless sizes are given.
 */
public final class Tasks {
    public static final List<String> NAMES = List.of("parity", "modular_arithmetic", "cycle_navigation", "even_pairs", "mqar");

    private Tasks() {}

    /** The official training split of a task ("mqar" with {@link #mqar(int, int, int)}'s defaults). */
    public static SyntheticTask official(String name) {
        return switch (name.toLowerCase(Locale.ROOT).replace('-', '_')) {
            case "parity" -> Parity.official();
            case "modular_arithmetic" -> ModularArithmetic.official();
            case "cycle_navigation" -> CycleNavigation.official();
            case "even_pairs" -> EvenPairs.official();
            case "mqar", "multiquery_ar" -> mqar(256, 64, 8);
            default -> throw new IllegalArgumentException("unknown task '" + name + "'; known tasks: " + String.join(", ", NAMES));
        };
    }

    /** The split to evaluate a model trained on {@code train}: longer sequences for formal languages, same for MQAR. */
    public static SyntheticTask evaluationSplit(SyntheticTask train) {
        return train instanceof FormalLanguageTask f ? f.officialEvaluation() : train;
    }

    public static Mqar mqar(int vocabSize, int sequenceLength, int numKvPairs) {
        return new Mqar(vocabSize, sequenceLength, numKvPairs);
    }
}
