package org.xlstm.jvm.conformance;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.fail;

import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.xlstm.jvm.backend.cpu.CpuOps;

/**
 * Runs every fixture case (system property {@code xlstm.fixtures}, else env {@code XLSTM_FIXTURES}) on the CPU
 * backend. Fails when no case is found and on any failed check.
 */
class ConformanceTest {
    static Path fixtures() {
        String dir = System.getProperty("xlstm.fixtures");
        if (dir == null || dir.isBlank()) dir = System.getenv("XLSTM_FIXTURES");
        if (dir == null || dir.isBlank()) fail("no fixtures directory: set -Dxlstm.fixtures or XLSTM_FIXTURES");
        return Path.of(dir);
    }

    @Test
    void everyFixtureCasePasses() {
        Path root = fixtures();
        assertFalse(Conformance.findCases(root).isEmpty(), "no conformance case found under " + root.toAbsolutePath());
        List<CheckResult> results = Conformance.run(root, CpuOps::new);
        String table = ConformanceReport.table(results);
        System.out.println(table);
        if (results.stream().anyMatch(CheckResult::failed)) fail("conformance failures:\n" + table);
        if (results.stream().noneMatch(r -> r.status() == CheckResult.Status.PASSED)) fail("nothing was checked:\n" + table);
    }
}
