package org.xlstm.jvm.model;

import java.util.List;

/** A checkpoint that does not fit the architecture: every missing, unexpected or mis-shaped tensor, each named. */
public class WeightLoadException extends RuntimeException {
    private final List<String> problems;

    public WeightLoadException(String source, List<String> problems) {
        super(source + ": " + problems.size() + (problems.size() == 1 ? " problem" : " problems")
                + " with the weights:\n  - " + String.join("\n  - ", problems));
        this.problems = List.copyOf(problems);
    }

    public List<String> problems() { return problems; }
}
