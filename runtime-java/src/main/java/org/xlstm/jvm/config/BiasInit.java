package org.xlstm.jvm.config;

/** sLSTM gate-bias initialisations of the official code. */
public enum BiasInit {
    POWERLAW_BLOCKDEPENDENT("powerlaw_blockdependent"),
    SMALL_INIT("small_init"),
    STANDARD("standard"),
    ZEROS("zeros");

    private final String officialName;

    BiasInit(String officialName) { this.officialName = officialName; }

    public String officialName() { return officialName; }

    public static BiasInit fromOfficial(String name) {
        for (BiasInit b : values()) if (b.officialName.equalsIgnoreCase(name.trim())) return b;
        throw new ConfigException("slstm.bias_init", "unknown bias init \"" + name
                + "\"; known: powerlaw_blockdependent, small_init, standard, zeros");
    }
}
