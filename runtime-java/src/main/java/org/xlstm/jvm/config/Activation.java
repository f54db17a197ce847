package org.xlstm.jvm.config;

import java.util.Arrays;
import java.util.stream.Collectors;

/** Feed-forward activations of the official registry, keyed by the official names. */
public enum Activation {
    GELU("gelu"),
    RELU("relu"),
    RELU2("relu^2"),
    SIGMOID("sigmoid"),
    /** SiLU; the official registry calls it "swish". */
    SWISH("swish"),
    SELU("selu");

    private final String officialName;

    Activation(String officialName) { this.officialName = officialName; }

    public String officialName() { return officialName; }

    /** Looks up an official name (case-insensitive; "silu" is accepted for "swish"). */
    public static Activation fromOfficial(String name) {
        String n = name.trim().toLowerCase();
        if (n.equals("silu")) return SWISH;
        for (Activation a : values()) if (a.officialName.equals(n)) return a;
        throw new ConfigException("act_fn", "unknown activation \"" + name + "\"; known: " + known());
    }

    public static String known() {
        return Arrays.stream(values()).map(Activation::officialName).collect(Collectors.joining(", "));
    }
}
