package org.xlstm.jvm.config;

import java.util.List;
import java.util.stream.Collectors;

/**
 * An impossible or unreadable architecture. Each {@link ConfigError} names the field (official path, e.g.
 * {@code mlstm_block.mlstm.num_heads}), the offending values and the rule broken.
 */
public class ConfigException extends RuntimeException {
    private final List<ConfigError> errors;

    public ConfigException(List<ConfigError> errors) {
        super(render(errors));
        this.errors = List.copyOf(errors);
    }

    public ConfigException(String field, String message) {
        this(List.of(new ConfigError(field, message)));
    }

    /** For subclasses that frame the same errors differently (e.g. naming the file they came from). */
    protected ConfigException(String message, List<ConfigError> errors) {
        super(message);
        this.errors = List.copyOf(errors);
    }

    public List<ConfigError> errors() { return errors; }

    private static String render(List<ConfigError> errors) {
        if (errors.size() == 1) return errors.getFirst().toString();
        return errors.size() + " problems in the architecture:\n"
                + errors.stream().map(e -> "  - " + e).collect(Collectors.joining("\n"));
    }
}
