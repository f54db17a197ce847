package org.xlstm.jvm.config;

/** What sits at one position of the block stack. */
public enum BlockKind {
    MLSTM('m'),
    SLSTM('s');

    private final char letter;

    BlockKind(char letter) { this.letter = letter; }

    /** The letter used in block-map drawings and pattern strings ("mmms mmmm"). */
    public char letter() { return letter; }
}
