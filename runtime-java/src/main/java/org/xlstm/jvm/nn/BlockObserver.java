package org.xlstm.jvm.nn;

import org.xlstm.jvm.tensor.Tensor;

/** Receives each block's output (before any final norm); the tensor is only valid during the call. */
@FunctionalInterface
public interface BlockObserver {
    void blockOutput(int index, Tensor output);
}
