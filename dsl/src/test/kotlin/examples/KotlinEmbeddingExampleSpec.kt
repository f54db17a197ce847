package examples

import io.kotest.core.spec.style.FunSpec
import io.kotest.matchers.string.shouldMatch
import java.io.ByteArrayOutputStream
import java.io.PrintStream
import java.nio.file.Path

class KotlinEmbeddingExampleSpec : FunSpec({
    test("the Kotlin example runs on a fixture checkpoint and on a DSL model") {
        val fixtures = System.getProperty("xlstm.fixtures") ?: System.getenv("XLSTM_FIXTURES") ?: "../../shared/fixtures"
        val buf = ByteArrayOutputStream()
        val old = System.out
        System.setOut(PrintStream(buf, true))
        try {
            main(arrayOf(Path.of(fixtures).resolve("mixed_4blk").toString()))
        } finally {
            System.setOut(old)
        }
        buf.toString() shouldMatch Regex("(?s)greedy: (\\d+, ){7}\\d+\\nbatch rows: 2\\nbytes generated: true\\n")
    }
})
