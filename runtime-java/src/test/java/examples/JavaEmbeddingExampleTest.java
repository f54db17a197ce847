package examples;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

class JavaEmbeddingExampleTest {
    @Test
    void theExampleRunsOnAFixtureCheckpoint() throws Exception {
        String f = System.getProperty("xlstm.fixtures", System.getenv().getOrDefault("XLSTM_FIXTURES", "../../shared/fixtures"));
        Path dir = Path.of(f).resolve("mixed_4blk");
        assertTrue(Files.isDirectory(dir), "fixture not found: " + dir);
        PrintStream old = System.out;
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        System.setOut(new PrintStream(buf, true));
        try {
            JavaEmbeddingExample.main(new String[] {dir.toString(), "1,2,3,4"});
        } finally {
            System.setOut(old);
        }
        String out = buf.toString();
        assertTrue(out.matches("(?s)greedy: \\[(\\d+, ){7}\\d+\\]\\nsampled:( \\d+){8}\\nvocab 64, branch logits equal: true\\n"), out);
    }
}
