package org.xlstm.jvm.scratch;

import java.lang.foreign.Arena;
import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.xlstm.jvm.backend.*;
import org.xlstm.jvm.backend.cpu.CpuGradOps;
import org.xlstm.jvm.tensor.Tensor;

class DebugTest {
    @Test
    void run() {
        Arena a = Arena.ofShared();
        for (float qv : new float[] {0.9f, 0.3f, -0.7f}) {
            Tensor q = Tensor.of(a, new float[] {qv}, 1, 1, 1), k = Tensor.of(a, new float[] {0.8f}, 1, 1, 1), v = Tensor.of(a, new float[] {1.3f}, 1, 1, 1);
            Tensor i = Tensor.of(a, new float[] {0.4f}, 1, 1, 1), f = Tensor.of(a, new float[] {2f}, 1, 1, 1), dh = Tensor.of(a, new float[] {1f}, 1, 1, 1);
            for (GradOps g : new GradOps[] {new ReferenceGradOps(), new CpuGradOps()}) {
                Tensor dq = Tensor.allocate(a, 1, 1, 1), dk = Tensor.allocate(a, 1, 1, 1), dv = Tensor.allocate(a, 1, 1, 1), di = Tensor.allocate(a, 1, 1, 1), df = Tensor.allocate(a, 1, 1, 1);
                g.mlstmChunkwiseBackward(q, k, v, i, f, Float.NEGATIVE_INFINITY, 4, 1e-6f, dh, dq, dk, dv, di, df);
                System.out.println(g.name() + " q=" + qv + " dq=" + dq.get(0) + " dk=" + dk.get(0) + " dv=" + dv.get(0) + " di=" + di.get(0) + " df=" + df.get(0));
            }
        }
    }
}
