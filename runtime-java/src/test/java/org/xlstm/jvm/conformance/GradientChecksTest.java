package org.xlstm.jvm.conformance;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.xlstm.jvm.backend.cpu.CpuOps;
import org.xlstm.jvm.config.FixtureCases;
import org.xlstm.jvm.io.SafeTensors;
import org.xlstm.jvm.train.TrajectoryReplay;

/** Conformance reports the training quantities: a grad row, one grad.<name> row per reference gradient, train rows. */
class GradientChecksTest {
    @Test
    void gradientAndTrainingRowsAreMeasuredForEveryCaseThatHasThem() {
        for (Path dir : FixtureCases.all()) {
            if (!Conformance.isCase(dir)) continue;
            List<CheckResult> rows = Conformance.runCase(dir, new CpuOps());
            String name = dir.getFileName().toString();
            assertTrue(rows.stream().noneMatch(r -> r.status() == CheckResult.Status.SKIPPED && r.quantity().startsWith("grad")),
                    name + ": gradients are no longer skipped");
            long refGrads;
            try (SafeTensors e = SafeTensors.open(dir.resolve("expected.safetensors"))) {
                refGrads = e.names().stream().filter(n -> n.startsWith("grad.")).count();
            }
            long gradRows = rows.stream().filter(r -> r.quantity().startsWith("grad.")).count();
            assertEquals(refGrads, gradRows, name + ": one row per reference gradient");
            if (refGrads > 0) {
                CheckResult all = rows.stream().filter(r -> r.quantity().equals("grad")).findFirst().orElseThrow();
                assertEquals(CheckResult.Status.PASSED, all.status(), name + ": " + all);
                assertEquals(GradientChecks.ALL_GRADIENTS_TOLERANCE, all.tolerance());
            }
            if (TrajectoryReplay.has(dir)) {
                assertTrue(rows.stream().anyMatch(r -> r.quantity().equals("train.loss.1") && r.status() == CheckResult.Status.PASSED), name);
                assertTrue(rows.stream().anyMatch(r -> r.quantity().startsWith("train.final.")), name);
            }
            assertFalse(rows.stream().anyMatch(CheckResult::failed), name + ": " + ConformanceReport.table(rows));
        }
    }
}
