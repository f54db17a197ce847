package org.xlstm.jvm.io;

/** A malformed, truncated or inconsistent safetensors file, or a missing tensor; the message names file and tensor. */
public class SafeTensorsException extends RuntimeException {
    public SafeTensorsException(String message) { super(message); }

    public SafeTensorsException(String message, Throwable cause) { super(message, cause); }
}
