package org.xlstm.jvm.config;

/** sLSTM recurrent-kernel initialisations of the official code. */
public enum RecurrentWeightInit {
    ZEROS("zeros"),
    STANDARD("standard");

    private final String officialName;

    RecurrentWeightInit(String officialName) { this.officialName = officialName; }

    public String officialName() { return officialName; }

    public static RecurrentWeightInit fromOfficial(String name) {
        for (RecurrentWeightInit b : values()) if (b.officialName.equalsIgnoreCase(name.trim())) return b;
        throw new ConfigException("slstm.recurrent_weight_init", "unknown recurrent weight init \"" + name
                + "\"; known: zeros, standard");
    }
}
