package org.xlstm.jvm.nn;

/** What a block's training forward saved for its backward (references into the step's workspace). */
public interface BlockTape {}
