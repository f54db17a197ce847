package org.xlstm.jvm.cuda;

/** The CUDA backend cannot start here: no driver, no GPU, a missing library or kernels not built. Says which. */
public class CudaUnavailableException extends RuntimeException {
    public CudaUnavailableException(String message) { super(message); }

    public CudaUnavailableException(String message, Throwable cause) { super(message, cause); }
}
