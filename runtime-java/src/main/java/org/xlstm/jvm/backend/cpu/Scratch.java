package org.xlstm.jvm.backend.cpu;

/**
 * Per-thread scratch arrays for kernels, grown on demand and then reused, so steady-state calls (a generation
 * step loop) allocate nothing. A kernel uses distinct slot numbers for buffers that are live at the same time.
 */
final class Scratch {
    private Scratch() {}

    private static final int SLOTS = 16;
    private static final ThreadLocal<float[][]> BUFFERS = ThreadLocal.withInitial(() -> new float[SLOTS][]);

    private static final ThreadLocal<double[][]> DOUBLES = ThreadLocal.withInitial(() -> new double[SLOTS][]);

    static double[] doubles(int slot, int size) {
        double[][] b = DOUBLES.get();
        double[] a = b[slot];
        if (a == null || a.length < size) {
            a = new double[Math.max(size, a == null ? 0 : a.length * 3 / 2)];
            b[slot] = a;
        }
        return a;
    }

    static float[] floats(int slot, int size) {
        float[][] b = BUFFERS.get();
        float[] a = b[slot];
        if (a == null || a.length < size) {
            a = new float[Math.max(size, a == null ? 0 : a.length * 3 / 2)];
            b[slot] = a;
        }
        return a;
    }
}
