package org.xlstm.jvm.backend;

import java.lang.reflect.InvocationHandler;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.lang.reflect.Proxy;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Where the time goes: wraps a backend so that every forward and backward operation is timed (waiting for the
 * device after each, so GPU times are the kernels' own, launch overhead included) and summed per operation.
 * {@code xlstm bench --profile} prints the table. Timing each operation serialises the GPU, so throughput
 * measured through a profiled backend is lower than without it; the shares are what the table is for.
 */
public final class OpProfile {
    /** Calls that do no numerical work: not timed. */
    private static final Set<String> UNTIMED = Set.of("name", "hostMemory", "supportsTraining", "newWorkspace",
            "allocate", "synchronize", "gradOps", "resident", "repeatedStep", "toString", "hashCode", "equals", "read");

    private final Map<String, long[]> stats = new ConcurrentHashMap<>();

    /** {@code inner} with every operation timed into {@code profile} (its backward operations too). */
    public static Ops wrap(Ops inner, OpProfile profile) {
        GradOps[] grad = new GradOps[1];
        InvocationHandler h = (proxy, m, args) -> {
            if (m.getName().equals("gradOps") && m.getParameterCount() == 0) {
                synchronized (grad) {
                    if (grad[0] == null) grad[0] = (GradOps) Proxy.newProxyInstance(GradOps.class.getClassLoader(),
                            new Class<?>[] {GradOps.class}, profile.handler(GradOps.forOps(inner), inner, "backward "));
                    return grad[0];
                }
            }
            // no CUDA-graph replay while profiling: each operation is timed (and waited for) separately
            if (m.getName().equals("repeatedStep")) return ((java.util.function.Supplier<?>) args[3]).get();
            if (m.getName().equals("greedySteps")) return InvocationHandler.invokeDefault(proxy, m, args);
            return profile.handler(inner, inner, "").invoke(proxy, m, args);
        };
        return (Ops) Proxy.newProxyInstance(Ops.class.getClassLoader(), new Class<?>[] {Ops.class, GradOps.Paired.class}, h);
    }

    private InvocationHandler handler(Object target, Ops device, String prefix) {
        return (proxy, m, args) -> {
            if (UNTIMED.contains(m.getName())) return call(m, target, args);
            device.synchronize();
            long t0 = System.nanoTime();
            Object r = call(m, target, args);
            device.synchronize();
            long dt = System.nanoTime() - t0;
            long[] s = stats.computeIfAbsent(prefix + m.getName() + shapes(m.getName(), args), k -> new long[2]);
            synchronized (s) {
                s[0]++;
                s[1] += dt;
            }
            return r;
        };
    }

    /**
     * Matrix products are listed per shape (x · weight), where sizes decide how well they run; copies per shape and
     * direction ("host" marks a tensor in host memory), since a copy to or from the host waits for the device.
     */
    private static String shapes(String op, Object[] args) {
        if (op.equals("copy") && args != null && args.length == 2 && args[0] instanceof org.xlstm.jvm.tensor.Tensor a
                && args[1] instanceof org.xlstm.jvm.tensor.Tensor b)
            return " " + org.xlstm.jvm.tensor.Shapes.format(a.shape()) + where(a) + " →" + where(b);
        if (!op.startsWith("linear") && !op.startsWith("matmul")) return "";
        if (args == null || args.length < 2 || !(args[0] instanceof org.xlstm.jvm.tensor.Tensor a)
                || !(args[1] instanceof org.xlstm.jvm.tensor.Tensor b)) return "";
        return " " + org.xlstm.jvm.tensor.Shapes.format(a.shape()) + "·" + org.xlstm.jvm.tensor.Shapes.format(b.shape());
    }

    private static String where(org.xlstm.jvm.tensor.Tensor t) {
        return org.xlstm.jvm.backend.cuda.DeviceTensors.isDevice(t) ? " device" : " host";
    }

    private static Object call(Method m, Object target, Object[] args) throws Throwable {
        try {
            return m.invoke(target, args);
        } catch (InvocationTargetException e) {
            throw e.getCause();
        }
    }

    public void reset() { stats.clear(); }

    /** Operation → {calls, total nanoseconds}. */
    public Map<String, long[]> snapshot() {
        Map<String, long[]> out = new java.util.TreeMap<>();
        stats.forEach((k, v) -> {
            synchronized (v) {
                out.put(k, v.clone());
            }
        });
        return out;
    }

    /** The operations by total time, with calls, milliseconds, share and mean microseconds per call. */
    public String table(String title) {
        List<Map.Entry<String, long[]>> rows = new ArrayList<>(snapshot().entrySet());
        rows.sort((a, b) -> Long.compare(b.getValue()[1], a.getValue()[1]));
        long total = 0;
        for (var r : rows) total += r.getValue()[1];
        StringBuilder sb = new StringBuilder(String.format(Locale.ROOT, "%s: %.1f ms in %d operation kinds%n", title, total / 1e6, rows.size()));
        sb.append(String.format(Locale.ROOT, "  %-56s %8s %11s %7s %11s%n", "operation", "calls", "total ms", "share", "mean µs"));
        int shown = 0;
        for (var r : rows) {
            if (++shown > 30) break;
            long[] v = r.getValue();
            sb.append(String.format(Locale.ROOT, "  %-56s %8d %11.2f %6.1f%% %11.1f%n", r.getKey(), v[0], v[1] / 1e6,
                    100.0 * v[1] / Math.max(1, total), v[1] / 1e3 / v[0]));
        }
        return sb.toString();
    }
}
