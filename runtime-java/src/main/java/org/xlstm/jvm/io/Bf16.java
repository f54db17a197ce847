package org.xlstm.jvm.io;

/** bfloat16 conversions (the upper 16 bits of a float32). */
public final class Bf16 {
    private Bf16() {}

    public static float toFloat(short bits) { return Float.intBitsToFloat((bits & 0xFFFF) << 16); }

    /** Round to nearest even; NaN stays NaN. */
    public static short fromFloat(float f) {
        int x = Float.floatToRawIntBits(f);
        if (Float.isNaN(f)) return (short) ((x >>> 16) | 0x40);
        int rounding = 0x7FFF + ((x >>> 16) & 1);
        return (short) ((x + rounding) >>> 16);
    }
}
