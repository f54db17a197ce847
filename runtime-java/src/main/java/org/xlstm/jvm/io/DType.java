package org.xlstm.jvm.io;

/** Element types of the safetensors format, with their byte sizes. */
public enum DType {
    F64(8), F32(4), F16(2), BF16(2), I64(8), I32(4), I16(2), I8(1), U8(1), BOOL(1);

    private final int bytes;

    DType(int bytes) { this.bytes = bytes; }

    public int bytes() { return bytes; }

    public boolean isFloating() { return this == F64 || this == F32 || this == F16 || this == BF16; }

    public boolean isInteger() { return this == I64 || this == I32 || this == I16 || this == I8 || this == U8; }

    /** Parses a header dtype; unknown names are an error that names the tensor. */
    static DType parse(String s, String tensor, Object file) {
        try {
            return valueOf(s);
        } catch (IllegalArgumentException e) {
            throw new SafeTensorsException(file + ": tensor '" + tensor + "' has unsupported dtype \"" + s
                    + "\" (supported: F64, F32, F16, BF16, I64, I32, I16, I8, U8, BOOL)");
        }
    }
}
