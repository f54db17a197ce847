package org.xlstm.jvm.backend.cuda;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.xlstm.jvm.cuda.CudaContext;

/**
 * Base of the GPU test classes that share one CUDA context per class: opened before the class (which is skipped,
 * with the reason, where there is no usable GPU: {@link GpuTests#openOrSkip}) and closed after it.
 */
abstract class GpuContextTest {
    protected static CudaContext ctx;

    @BeforeAll
    static void openContext() { ctx = GpuTests.openOrSkip(); }

    @AfterAll
    static void closeContext() {
        if (ctx != null) ctx.close();
        ctx = null;
    }
}
