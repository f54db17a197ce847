package org.xlstm.jvm.cli

import com.fasterxml.jackson.databind.ObjectMapper
import io.kotest.core.spec.style.FunSpec
import io.kotest.matchers.shouldBe
import io.kotest.matchers.string.shouldContain
import org.xlstm.jvm.io.SafeTensors
import java.io.PrintWriter
import java.io.StringWriter
import java.nio.file.Files
import java.nio.file.Path

class GenerateCommandSpec : FunSpec({
    val fixtures = Path.of(System.getProperty("xlstm.fixtures") ?: System.getenv("XLSTM_FIXTURES") ?: "../../shared/fixtures")

    fun run(vararg args: String): Triple<Int, String, String> {
        val out = StringWriter()
        val err = StringWriter()
        val code = Cli.run(arrayOf(*args), PrintWriter(out, true), PrintWriter(err, true))
        return Triple(code, out.toString(), err.toString())
    }

    test("greedy --json equals the fixtures' greedy_tokens, every case, one prompt per row") {
        val cases = Files.list(fixtures).use { s -> s.filter { Files.isRegularFile(it.resolve("expected.safetensors")) }.sorted().toList() }
        var checked = 0
        for (c in cases) {
            SafeTensors.open(c.resolve("expected.safetensors")).use { ex ->
                if (!ex.contains("greedy_prompt")) return@use
                val shape = ex.info("greedy_prompt").shape()
                val p = ex.longs("greedy_prompt")
                val s = shape[1].toInt()
                val ids = (0 until shape[0].toInt()).joinToString(";") { r -> (0 until s).joinToString(",") { p[r * s + it].toString() } }
                val g = ex.longs("greedy_tokens")
                val n = ex.info("greedy_tokens").shape()[1].toInt()
                val (code, out, err) = run("generate", c.toString(), "--prompt-ids", ids, "--greedy", "-n", "$n", "--json")
                code shouldBe 0
                err shouldBe ""
                val tokens = ObjectMapper().readTree(out).get("tokens")
                for (r in 0 until shape[0].toInt())
                    (0 until n).map { tokens[r][it].asLong() } shouldBe (0 until n).map { g[r * n + it] }
                checked++
            }
        }
        (checked > 0) shouldBe true
    }

    test("text prompts need a tokenizer; bad ids are named") {
        val c = fixtures.resolve("mixed_4blk").toString()
        run("generate", c, "--prompt", "hello").let { (code, _, err) -> code shouldBe 1; err shouldContain "tokenizer" }
        run("generate", c, "--prompt-ids", "1,x").let { (code, _, err) -> code shouldBe 1; err shouldContain "'x'" }
        run("generate", c, "--prompt-ids", "1,999").let { (code, _, err) -> code shouldBe 1; err shouldContain "999" }
        run("generate", c, "--prompt-ids", "1,2", "--top-p", "2").let { (code, _, err) -> code shouldBe 1; err shouldContain "topP" }
    }

    test("streams ids as they come without --json") {
        val (code, out, _) = run("generate", fixtures.resolve("mixed_4blk").toString(), "--prompt-ids", "1,2,3", "--greedy", "-n", "5")
        code shouldBe 0
        out.trim() shouldBe Regex("\\d+(,\\d+){4}").find(out.trim())!!.value
    }
})
