package org.xlstm.jvm.dsl

import java.nio.file.Files
import java.nio.file.Path

/** Where the tests find the repository and the conformance fixtures (Surefire passes both). */
object TestPaths {
    /** The repository root; recipes live under recipes/. */
    val repo: Path = Path.of(System.getProperty("xlstm.repo", "..")).toAbsolutePath().normalize()

    /** The conformance fixtures; a missing folder fails with how to point the build at it. */
    val fixtures: Path by lazy {
        val p = Path.of(System.getProperty("xlstm.fixtures", "../../shared/fixtures")).toAbsolutePath().normalize()
        check(Files.isDirectory(p)) {
            "conformance fixtures not found at $p; run with -Dxlstm.fixtures=/path/to/fixtures or XLSTM_FIXTURES=/path"
        }
        p
    }
}
