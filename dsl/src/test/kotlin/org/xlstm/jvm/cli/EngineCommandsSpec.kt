package org.xlstm.jvm.cli

import com.fasterxml.jackson.databind.ObjectMapper
import io.kotest.assertions.withClue
import io.kotest.core.spec.style.FunSpec
import io.kotest.matchers.doubles.shouldBeGreaterThan
import io.kotest.matchers.doubles.shouldBeLessThan
import io.kotest.matchers.ints.shouldBeGreaterThan
import io.kotest.matchers.shouldBe
import io.kotest.matchers.shouldNotBe
import io.kotest.matchers.string.shouldContain
import org.xlstm.jvm.dsl.TestPaths
import org.xlstm.jvm.io.SafeTensors
import java.nio.file.Files
import kotlin.math.sqrt

class EngineCommandsSpec : FunSpec({
    val fixtures by lazy { TestPaths.fixtures }
    val json = ObjectMapper()

    fun relErr(a: DoubleArray, b: DoubleArray): Double {
        var num = 0.0
        var den = 0.0
        for (i in b.indices) {
            num += (a[i] - b[i]) * (a[i] - b[i]); den += b[i] * b[i]
        }
        return sqrt(num / den)
    }

    test("conformance prints a table, passes on the fixtures and exits 0") {
        val r = xlstm("conformance", fixtures.toString())
        withClue(r.err + r.out) { r.exit shouldBe 0 }
        r.out shouldContain "mixed_4blk"
        r.out shouldContain "logits_step"
        r.out shouldContain "skipped or reported without a verdict"
        r.out shouldContain " 0 failed"
    }

    test("conformance --json prints one array of case/quantity/error/tolerance/passed objects") {
        val r = xlstm("conformance", fixtures.resolve("mlstm_only_bias_tied").toString(), "--json")
        withClue(r.err) { r.exit shouldBe 0 }
        val arr = json.readTree(r.out)
        arr.isArray shouldBe true
        arr.size() shouldBeGreaterThan 5
        for (row in arr) for (f in listOf("case", "quantity", "error", "tolerance", "passed")) withClue(f) { row.has(f) shouldBe true }
        val logits = arr.first { it["quantity"].asText() == "logits" }
        logits["passed"].asBoolean() shouldBe true
        logits["error"].asDouble() shouldBeLessThan 1e-5
    }

    test("conformance exits non-zero when no case is found") {
        val empty = Files.createTempDirectory("no-cases")
        val r = xlstm("conformance", empty.toString())
        r.exit shouldNotBe 0
        r.err shouldContain "no conformance case"
    }

    test("logits from a fixture folder match the reference in every mode") {
        val case = fixtures.resolve("mixed_4blk")
        val expected = SafeTensors.open(case.resolve("expected.safetensors")).use { it.doubles("logits") }
        for (mode in listOf("parallel", "chunkwise", "step")) {
            val out = Files.createTempDirectory("logits").resolve("out.safetensors")
            val r = xlstm("logits", case.toString(), "--tokens", case.resolve("expected.safetensors").toString(),
                "--out", out.toString(), "--mode", mode)
            withClue(r.err) { r.exit shouldBe 0 }
            SafeTensors.open(out).use { st ->
                st.info("logits").shape().toList() shouldBe listOf(2L, 32L, 64L)
                st.info("logits").dtype().name shouldBe "F32"
                relErr(st.doubles("logits"), expected) shouldBeLessThan 1e-5
            }
        }
    }

    test("logits with --config and --weights given separately") {
        val case = fixtures.resolve("large_tiny")
        val out = Files.createTempDirectory("logits").resolve("out.safetensors")
        val r = xlstm("logits", "--config", case.resolve("config.json").toString(), "--weights",
            case.resolve("model.safetensors").toString(), "--tokens", case.resolve("expected.safetensors").toString(),
            "--out", out.toString())
        withClue(r.err) { r.exit shouldBe 0 }
        val expected = SafeTensors.open(case.resolve("expected.safetensors")).use { it.doubles("logits") }
        SafeTensors.open(out).use { relErr(it.doubles("logits"), expected) shouldBeLessThan 1e-5 }
    }

    test("logits reports a missing input_ids tensor by name") {
        val case = fixtures.resolve("mixed_4blk")
        val r = xlstm("logits", case.toString(), "--tokens", case.resolve("model.safetensors").toString(),
            "--out", Files.createTempDirectory("x").resolve("o.safetensors").toString())
        r.exit shouldBe Cli.EXIT_BAD_INPUT
        r.err shouldContain "no tensor named input_ids"
    }

    test("bench --json reports forward and generation throughput") {
        val r = xlstm("bench", TestPaths.repo.resolve("recipes/bench/cpu-bench.json").toString(), "--batch", "1",
            "--seq", "16", "--runs", "1", "--warmup", "0", "--warmup-seconds", "0", "--gen-tokens", "4", "--json")
        withClue(r.err) { r.exit shouldBe 0 }
        val o = json.readTree(r.out)
        o["forward_tokens_per_s"].asDouble() shouldBeGreaterThan 0.0
        o["generate_b1_tokens_per_s"].asDouble() shouldBeGreaterThan 0.0
        o["train_tokens_per_s"].asDouble() shouldBeGreaterThan 0.0
        o["batch"].asInt() shouldBe 1
    }
})
