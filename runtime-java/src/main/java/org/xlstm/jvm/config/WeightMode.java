package org.xlstm.jvm.config;

/** xLSTM-7B weight storage: "single" keeps q,k,v,o and i,f apart; "fused" concatenates them. */
public enum WeightMode {
    SINGLE("single"),
    FUSED("fused");

    private final String officialName;

    WeightMode(String officialName) { this.officialName = officialName; }

    public String officialName() { return officialName; }

    public static WeightMode fromOfficial(String name) {
        for (WeightMode b : values()) if (b.officialName.equalsIgnoreCase(name.trim())) return b;
        throw new ConfigException("weight_mode", "unknown weight mode \"" + name + "\"; known: single, fused");
    }
}
