package org.xlstm.jvm.config;

import java.util.List;
import java.util.stream.Collectors;

/**
 * A configuration file that cannot be read, or that describes an impossible architecture. The message starts with
 * the file; each {@link ConfigError} names the official key path and, where the file gives one, the position as
 * {@code file:line:column}.
 */
public class ConfigFileException extends ConfigException {
    private final String source;

    public ConfigFileException(String source, List<ConfigError> errors) {
        super(render(source, errors), errors);
        this.source = source;
    }

    /** The file (or the name given to a text) the errors come from. */
    public String source() { return source; }

    private static String render(String source, List<ConfigError> errors) {
        if (errors.size() == 1) return source + ": " + errors.getFirst();
        return source + ": " + errors.size() + " problems:\n"
                + errors.stream().map(e -> "  - " + e).collect(Collectors.joining("\n"));
    }
}
