package org.xlstm.jvm.config;

/** One broken rule: the field's official path and a message naming the values and the rule. */
public record ConfigError(String field, String message) {
    @Override
    public String toString() { return field + ": " + message; }
}
