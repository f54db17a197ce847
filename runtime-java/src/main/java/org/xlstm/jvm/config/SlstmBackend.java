package org.xlstm.jvm.config;

/**
 * The official sLSTM "backend". It does not change the math, only how two tensors are stored
 * (XLSTM.md §5): "cuda" (the official default) and "vanilla".
 */
public enum SlstmBackend {
    CUDA("cuda"),
    VANILLA("vanilla");

    private final String officialName;

    SlstmBackend(String officialName) { this.officialName = officialName; }

    public String officialName() { return officialName; }

    public static SlstmBackend fromOfficial(String name) {
        for (SlstmBackend b : values()) if (b.officialName.equalsIgnoreCase(name.trim())) return b;
        throw new ConfigException("slstm.backend", "unknown sLSTM backend \"" + name + "\"; known: cuda, vanilla");
    }
}
