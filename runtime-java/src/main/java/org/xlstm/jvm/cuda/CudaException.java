package org.xlstm.jvm.cuda;

/** A CUDA driver or cuBLAS call failed: carries the error's name and code and what was being done. */
public class CudaException extends RuntimeException {
    private final int code;
    private final String errorName;

    public CudaException(int code, String errorName, String what) {
        super(errorName + " (" + code + ") in " + what);
        this.code = code;
        this.errorName = errorName;
    }

    public int code() { return code; }

    public String errorName() { return errorName; }
}
