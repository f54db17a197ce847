package org.xlstm.jvm.backend.cpu;

import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.RecursiveAction;
import java.util.function.IntConsumer;

/**
 * Parallel loops over independent task indices. Each task writes its own outputs and does its own reductions in a
 * fixed order, so results are bit-identical whatever the number of threads: the pool only decides who runs a task,
 * never how a value is summed.
 *
 * <p>Threads: system property {@code xlstm.threads} (default: available processors).
 */
public final class Parallel {
    private Parallel() {}

    private static final int THREADS = Math.max(1, Integer.getInteger("xlstm.threads",
            Runtime.getRuntime().availableProcessors()));
    private static final ForkJoinPool POOL = THREADS == 1 ? null : new ForkJoinPool(THREADS,
            pool -> {
                var t = ForkJoinPool.defaultForkJoinWorkerThreadFactory.newThread(pool);
                t.setName("xlstm-cpu-" + t.getPoolIndex());
                t.setDaemon(true);
                return t;
            }, null, false);
    /** Below roughly this many multiply-adds a fork/join costs more than it saves. */
    public static final long MIN_PARALLEL_WORK = 1L << 15;

    private static final ThreadLocal<Boolean> SEQUENTIAL = ThreadLocal.withInitial(() -> false);

    public static int threads() { return THREADS; }

    /**
     * Runs {@code body} with every parallel loop it starts executed on the calling thread only. Results must be
     * bit-identical to a parallel run; tests use this to prove it.
     */
    public static void sequentially(Runnable body) {
        boolean before = SEQUENTIAL.get();
        SEQUENTIAL.set(true);
        try {
            body.run();
        } finally {
            SEQUENTIAL.set(before);
        }
    }

    /** Runs body(0..tasks-1), in parallel when there are several tasks and enough total work. */
    public static void forEach(int tasks, long totalWork, IntConsumer body) {
        if (tasks <= 0) return;
        if (POOL == null || tasks == 1 || totalWork < MIN_PARALLEL_WORK || inWorker() || SEQUENTIAL.get()) {
            for (int i = 0; i < tasks; i++) body.accept(i);
            return;
        }
        POOL.invoke(new Range(body, 0, tasks));
    }

    private static boolean inWorker() {
        return Thread.currentThread() instanceof java.util.concurrent.ForkJoinWorkerThread w && w.getPool() == POOL;
    }

    private static final class Range extends RecursiveAction {
        private final IntConsumer body;
        private final int from, to;

        Range(IntConsumer body, int from, int to) {
            this.body = body;
            this.from = from;
            this.to = to;
        }

        @Override
        protected void compute() {
            if (to - from == 1) {
                body.accept(from);
                return;
            }
            int mid = (from + to) >>> 1;
            invokeAll(new Range(body, from, mid), new Range(body, mid, to));
        }
    }
}
