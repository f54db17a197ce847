package org.xlstm.jvm.config;

import java.util.ArrayList;
import java.util.List;

/**
 * Rejects impossible architectures. Every rule reports the field (official path), the values and the rule.
 * TODO(issue 2): full rule set.
 */
public final class ConfigValidator {
    private ConfigValidator() {}

    public static List<ConfigError> check(ModelConfig config) {
        List<ConfigError> errors = new ArrayList<>();
        if (config.vocabSize() <= 0) errors.add(new ConfigError("vocab_size", "must be positive; got " + config.vocabSize()));
        return errors;
    }

    public static void requireValid(ModelConfig config) {
        List<ConfigError> errors = check(config);
        if (!errors.isEmpty()) throw new ConfigException(errors);
    }
}
