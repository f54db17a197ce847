package org.xlstm.jvm.nn;

/** The recurrent memory of one block (conv windows, cell states), explicit and copyable for branching generation. */
public interface BlockState {
    /** A deep copy: stepping the copy leaves this state unchanged. */
    BlockState copy();
}
