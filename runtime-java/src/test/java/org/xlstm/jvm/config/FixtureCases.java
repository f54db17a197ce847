package org.xlstm.jvm.config;

import static org.junit.jupiter.api.Assertions.assertFalse;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

/**
 * The reference cases: every directory with a config.json under {@code -Dxlstm.fixtures} (or env XLSTM_FIXTURES).
 * Hidden cases exist too, so tests iterate over whatever is there and fail when nothing is found.
 */
public final class FixtureCases {
    private FixtureCases() {}

    public static Path root() {
        String p = System.getProperty("xlstm.fixtures");
        if (p == null || p.isBlank()) p = System.getenv("XLSTM_FIXTURES");
        if (p == null || p.isBlank()) p = "../shared/fixtures";
        return Path.of(p);
    }

    /** Case directories (those holding a config.json), sorted; fails the test when there is none. */
    public static List<Path> all() {
        Path root = root();
        List<Path> cases;
        try (Stream<Path> s = Files.isDirectory(root) ? Files.list(root) : Stream.empty()) {
            cases = s.filter(d -> Files.isRegularFile(d.resolve("config.json"))).sorted().toList();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        assertFalse(cases.isEmpty(), "no fixture case (a directory with config.json) under " + root.toAbsolutePath()
                + "; set -Dxlstm.fixtures or XLSTM_FIXTURES");
        return cases;
    }
}
