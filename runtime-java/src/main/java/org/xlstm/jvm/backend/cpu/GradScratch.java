package org.xlstm.jvm.backend.cpu;

/**
 * Reusable arrays for the backward kernels, separate from {@link Scratch} (which the forward kernels use inside
 * their tasks) so the two never hand out the same array. Two pools per thread: {@link #task} for arrays private to
 * one parallel task, {@link #shared} for arrays the calling thread owns and its tasks write disjoint parts of
 * (partial sums reduced afterwards in a fixed order). Grown on demand, then reused: steady-state training steps
 * allocate nothing here.
 */
final class GradScratch {
    private GradScratch() {}

    private static final int SLOTS = 48;
    private static final ThreadLocal<float[][]> TASK = ThreadLocal.withInitial(() -> new float[SLOTS][]);
    private static final ThreadLocal<float[][]> SHARED = ThreadLocal.withInitial(() -> new float[SLOTS][]);
    private static final ThreadLocal<double[][]> TASK_D = ThreadLocal.withInitial(() -> new double[SLOTS][]);
    private static final ThreadLocal<double[][]> SHARED_D = ThreadLocal.withInitial(() -> new double[SLOTS][]);

    static float[] task(int slot, int size) { return grow(TASK.get(), slot, size); }

    static float[] shared(int slot, int size) { return grow(SHARED.get(), slot, size); }

    static double[] taskDoubles(int slot, int size) { return grow(TASK_D.get(), slot, size); }

    static double[] sharedDoubles(int slot, int size) { return grow(SHARED_D.get(), slot, size); }

    private static float[] grow(float[][] b, int slot, int size) {
        float[] a = b[slot];
        if (a == null || a.length < size) {
            a = new float[Math.max(size, a == null ? 0 : a.length * 3 / 2)];
            b[slot] = a;
        }
        return a;
    }

    private static double[] grow(double[][] b, int slot, int size) {
        double[] a = b[slot];
        if (a == null || a.length < size) {
            a = new double[Math.max(size, a == null ? 0 : a.length * 3 / 2)];
            b[slot] = a;
        }
        return a;
    }
}
