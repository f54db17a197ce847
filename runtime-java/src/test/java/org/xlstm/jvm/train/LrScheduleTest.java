package org.xlstm.jvm.train;

import static org.junit.jupiter.api.Assertions.*;

import org.junit.jupiter.api.Test;

class LrScheduleTest {
    @Test
    void warmupCosineFollowsTheOfficialFormulaAndStepSemantics() {
        // The official parity run: lr 1e-3, factor 1e-3, warm-up 2000, decay until 20000.
        LrSchedule s = LrSchedule.WarmupCosine.official(1e-3, 1e-3, 2000, 20000);
        assertEquals(0.0, s.lr(0), "update 0 runs with compute_lr(0) = 0");
        assertEquals(1e-3 * 1000 / 2000, s.lr(1000), 1e-18);
        assertEquals(1e-3, s.lr(2000), 1e-18, "peak at the end of warm-up");
        assertEquals(1e-6 + 0.5 * (1e-3 - 1e-6), s.lr(11000), 1e-15, "half way down the cosine");
        assertEquals(1e-6, s.lr(20000), 0.0);
        assertEquals(1e-6, s.lr(50000), 0.0);
        for (long k = 2000; k < 20000; k += 100) assertTrue(s.lr(k + 100) < s.lr(k), "decreasing after warm-up");
        assertEquals(2e-3, new LrSchedule.Constant(2e-3).lr(12345));
        assertEquals(5e-4, LrSchedule.WarmupCosine.official(5e-4, 0.1, 0, 10).lr(0), "no warm-up starts at the peak");
        assertThrows(IllegalArgumentException.class, () -> new LrSchedule.WarmupCosine(1, 0, 10, 5));
    }
}
