package org.xlstm.jvm.cli

import com.fasterxml.jackson.databind.ObjectMapper
import io.kotest.assertions.withClue
import io.kotest.core.spec.style.FunSpec
import io.kotest.matchers.collections.shouldNotBeEmpty
import io.kotest.matchers.shouldBe
import io.kotest.matchers.string.shouldContain
import io.kotest.matchers.string.shouldStartWith
import org.xlstm.jvm.config.OfficialConfigs
import org.xlstm.jvm.config.XlstmConfig
import org.xlstm.jvm.dsl.TestPaths
import org.xlstm.jvm.io.SafeTensors
import java.nio.file.Files
import java.nio.file.Path
import kotlin.io.path.isDirectory
import kotlin.io.path.writeText

class SummaryCommandSpec : FunSpec({
    val repo = TestPaths.repo
    val fixtures by lazy { TestPaths.fixtures }
    val json = ObjectMapper()

    /** Distinct parameters stored in a checkpoint: every tensor once, a tied lm_head not again. */
    fun storedParameters(dir: Path): Long {
        val tied = (OfficialConfigs.loadDirectory(dir) as? XlstmConfig)?.tieWeights() == true
        SafeTensors.open(dir.resolve("model.safetensors")).use { st ->
            return st.infos().values.filterNot { tied && it.name() == "lm_head.weight" }.sumOf { it.numel() }
        }
    }

    test("summary --json of every fixture folder counts the checkpoint's parameters") {
        val dirs = Files.list(fixtures).use { s ->
            s.filter { it.isDirectory() && Files.exists(it.resolve("model.safetensors")) }.sorted().toList()
        }
        dirs.shouldNotBeEmpty()
        for (dir in dirs) {
            val r = xlstm("summary", dir.toString(), "--json")
            withClue("$dir: ${r.err}") {
                r.exit shouldBe 0
                val obj = json.readTree(r.out)   // exactly one object: trailing content fails to parse as one tree
                obj.isObject shouldBe true
                obj["parameters"].asLong() shouldBe storedParameters(dir)
            }
        }
    }

    test("plain summary of a recipe draws the block map and names the totals") {
        val r = xlstm("summary", repo.resolve("recipes/xlstm-7-1-125m.xlstm.kts").toString())
        r.exit shouldBe 0
        r.out shouldStartWith "xLSTM[7:1] 125M"
        r.out shouldContain "mmmsmmmm mmmmmmmm mmmmsmmm"
        r.err shouldBe ""
    }

    test("--seq-len changes the FLOPs, not the parameters") {
        val tiny = repo.resolve("recipes/tiny-mixed.xlstm.kts").toString()
        val a = json.readTree(xlstm("summary", tiny, "--json", "--seq-len", "16").out)
        val b = json.readTree(xlstm("summary", tiny, "--json", "--seq-len", "32").out)
        a["parameters"] shouldBe b["parameters"]
        (a["flops_per_token"].asLong() < b["flops_per_token"].asLong()) shouldBe true
        val byDefault = json.readTree(xlstm("summary", tiny, "--json").out)   // context_length 32
        byDefault["flops_per_token"] shouldBe b["flops_per_token"]
    }

    test("errors: bad sequence length, broken recipe") {
        val tiny = repo.resolve("recipes/tiny-mixed.xlstm.kts").toString()
        xlstm("summary", tiny, "--seq-len", "0").let {
            it.exit shouldBe Cli.EXIT_BAD_INPUT
            it.err shouldContain "--seq-len"
        }
        xlstm("summary", tiny, "--seq-len", "many").exit shouldBe Cli.EXIT_USAGE
        val f = Files.createTempFile("broken", ".xlstm.kts").also { it.writeText("xlstm {\n  vocabSize = 3\n  mlstm { heds = 1 }\n}\n") }
        xlstm("summary", f.toString()).let {
            it.exit shouldBe Cli.EXIT_BAD_INPUT
            it.err shouldStartWith "xlstm: $f:3:11: "
        }
    }
})
