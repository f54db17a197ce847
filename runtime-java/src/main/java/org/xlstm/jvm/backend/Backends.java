package org.xlstm.jvm.backend;

import java.util.Locale;
import org.xlstm.jvm.backend.cpu.CpuOps;

/**
 * Backends by name, as {@code --device} takes them: {@code cpu}; {@code cuda} (float32), {@code cuda-tf32},
 * {@code cuda-bf16} (bf16 matrix products with float32 accumulation, fp32 master weights). {@code cuda:N} picks GPU N.
 * The CUDA backend is created reflectively so that the CPU path never loads the FFM bindings.
 */
public final class Backends {
    private Backends() {}

    public static Ops create(String device) {
        String d = device.trim().toLowerCase(Locale.ROOT);
        if (d.equals("cpu")) return new CpuOps();
        if (d.startsWith("cuda")) {
            String precision = "FP32";
            int ordinal = 0;
            String rest = d.substring(4);
            if (rest.startsWith(":")) {
                int dash = rest.indexOf('-');
                ordinal = Integer.parseInt(dash < 0 ? rest.substring(1) : rest.substring(1, dash));
                rest = dash < 0 ? "" : rest.substring(dash);
            }
            if (rest.equals("-tf32")) precision = "TF32";
            else if (rest.equals("-bf16")) precision = "BF16";
            else if (!rest.isEmpty()) throw new IllegalArgumentException("unknown device \"" + device + "\"; use cpu, cuda, cuda-tf32, cuda-bf16 (optionally cuda:N...)");
            return org.xlstm.jvm.backend.cuda.CudaBackend.open(ordinal, precision);
        }
        throw new IllegalArgumentException("unknown device \"" + device + "\"; use cpu, cuda, cuda-tf32 or cuda-bf16");
    }
}
