package org.xlstm.jvm.cli

import io.kotest.core.spec.style.FunSpec
import io.kotest.matchers.shouldBe
import io.kotest.matchers.string.shouldContain
import io.kotest.matchers.string.shouldNotContain
import io.kotest.matchers.string.shouldStartWith
import org.xlstm.jvm.config.OfficialConfigs
import org.xlstm.jvm.dsl.Recipes
import org.xlstm.jvm.dsl.TestPaths
import java.nio.file.Files
import java.nio.file.Path
import kotlin.io.path.writeText

class ConfigCommandSpec : FunSpec({
    val repo = TestPaths.repo
    val fixtures by lazy { TestPaths.fixtures }
    val tmp = Files.createTempDirectory("config-command")

    test("a recipe prints as the official JSON that reads back to the same model") {
        val recipe = repo.resolve("recipes/tiny-mixed.xlstm.kts")
        val r = xlstm("config", recipe.toString())
        r.exit shouldBe 0
        r.err shouldBe ""
        OfficialConfigs.read(r.out, OfficialConfigs.Format.JSON) shouldBe Recipes.load(recipe).model
    }

    test("--format yaml gives the official model: section; a fixture folder is a MODEL too") {
        val dir = fixtures.resolve("mixed_4blk")
        val r = xlstm("config", dir.toString(), "--format", "yaml")
        r.exit shouldBe 0
        r.out shouldStartWith "model:\n"
        OfficialConfigs.read(r.out, OfficialConfigs.Format.YAML) shouldBe OfficialConfigs.loadDirectory(dir)
    }

    test("an impossible recipe: one line with file:line on stderr, exit 1, no stack trace") {
        val f = tmp.resolve("bad.xlstm.kts")
        f.writeText("xlstm {\n    vocabSize = 10; contextLength = 4\n    blocks(10) { ratio(7, 1) }\n}\n")
        val r = xlstm("config", f.toString())
        r.exit shouldBe Cli.EXIT_BAD_INPUT
        r.out shouldBe ""
        r.err shouldStartWith "xlstm: $f:1: "
        r.err shouldContain "multiple of 8"
        r.err.trimEnd().lines().size shouldBe 1
        r.err shouldNotContain "\tat "
    }

    test("--debug adds the stack trace") {
        val f = tmp.resolve("bad-debug.xlstm.kts")
        f.writeText("xlstm { vocabSize = 0; contextLength = 4 }\n")
        val r = xlstm("config", f.toString(), "--debug")
        r.exit shouldBe Cli.EXIT_BAD_INPUT
        r.err shouldStartWith "xlstm: $f:1: vocab_size"
        r.err shouldContain "\tat "
    }

    test("an impossible official config names the file and the line of the field") {
        val f = tmp.resolve("config.json")
        f.writeText("{\n  \"vocab_size\": 10,\n  \"context_length\": 4,\n  \"embedding_dim\": 64,\n" +
            "  \"mlstm_block\": {\"mlstm\": {\"num_heads\": 5}}\n}\n")
        val r = xlstm("config", f.toString())
        r.exit shouldBe Cli.EXIT_BAD_INPUT
        r.err shouldStartWith "xlstm: $f"
        r.err shouldContain "mlstm_block.mlstm.num_heads"
        r.err shouldContain ":5"
    }

    test("missing files, unknown kinds and bad options") {
        xlstm("config", tmp.resolve("none.json").toString()).let {
            it.exit shouldBe Cli.EXIT_BAD_INPUT
            it.err shouldContain "no such file"
        }
        val txt = tmp.resolve("notes.txt").also { it.writeText("hi") }
        xlstm("config", txt.toString()).err shouldContain "not a model"
        xlstm("config", Files.createTempDirectory(tmp, "empty").toString()).err shouldContain "no config.json"
        xlstm("config").exit shouldBe Cli.EXIT_USAGE
        xlstm("config", txt.toString(), "--format", "toml").let {
            it.exit shouldBe Cli.EXIT_USAGE
            it.err shouldContain "toml"
        }
    }
})
