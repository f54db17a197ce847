package org.xlstm.jvm.dsl

import io.kotest.assertions.throwables.shouldThrow
import io.kotest.core.spec.style.FunSpec
import io.kotest.matchers.collections.shouldContainExactly
import io.kotest.matchers.shouldBe
import io.kotest.matchers.string.shouldContain
import org.xlstm.jvm.config.BlockKind
import org.xlstm.jvm.config.ConfigException
import org.xlstm.jvm.dsl.script.RecipeException

class AblationSpec : FunSpec({
    val base = XlstmScope().apply { embeddingDim = 32; contextLength = 64; blocks(2); mlstm { heads = 1 }; slstm { heads = 1 } }.buildTemplate()

    test("axes are crossed, tasks and seeds multiply, and each model gets its task's vocabulary") {
        val a = ablation {
            this.base = base
            vary { ratio(1, 0); ratio(0, 1); ratio(1, 1) }
            vary { heads(1, 2) }
            tasks("parity", "mqar")
            seeds(2)
            training { steps = 3000; seed = 10 }
        }
        val vs = a.variants()
        vs.map { it.name } shouldContainExactly listOf(
            "xLSTM[1:0] heads=1", "xLSTM[1:0] heads=2", "xLSTM[0:1] heads=1", "xLSTM[0:1] heads=2",
            "xLSTM[1:1] heads=1", "xLSTM[1:1] heads=2")
        vs[0].model.blockMap() shouldBe listOf(BlockKind.MLSTM, BlockKind.MLSTM)
        vs[2].model.blockMap() shouldBe listOf(BlockKind.SLSTM, BlockKind.SLSTM)
        vs[3].model.slstmBlock()!!.slstm().numHeads() shouldBe 2
        vs[1].model.mlstmBlock()!!.mlstm().numHeads() shouldBe 2
        val runs = a.runs()
        runs.size shouldBe 6 * 2 * 2
        runs.map { it.id }.toSet().size shouldBe runs.size
        runs.filter { it.task == "parity" }.all { it.model.vocabSize() == 3 } shouldBe true
        runs.filter { it.task == "mqar" }.all { it.model.vocabSize() == 256 } shouldBe true
        runs.filter { it.task == "parity" }.all { it.model.contextLength() >= 255 } shouldBe true
        runs.map { it.seed }.toSet() shouldBe setOf(10L, 11L)
        runs.all { it.training.task == it.task && it.training.settings.seed() == it.seed } shouldBe true
    }

    test("listed variants stand alone or cross with axes") {
        val a = ablation {
            this.base = base
            variant("ms") { slstmAt(1) }
            variant("sm") { slstmAt(0) }
            vary { embeddingDim(32, 64) }
            tasks("parity")
        }
        a.variants().map { it.name } shouldContainExactly listOf("ms D=32", "ms D=64", "sm D=32", "sm D=64")
        a.variants()[2].model.slstmAt() shouldBe listOf(0)
        a.variants()[3].model.embeddingDim() shouldBe 64
    }

    test("every variant is validated before anything runs, and the error names it") {
        val e = shouldThrow<ConfigException> {
            ablation {
                this.base = base
                vary { ratio(1, 0); ratio(7, 1) }
                tasks("parity")
            }
        }
        e.message shouldContain "xLSTM[7:1]"
        e.message shouldContain "multiple of 8"
        shouldThrow<ConfigException> { ablation { this.base = base; vary { heads(3) }; tasks("parity") } }.message shouldContain "heads=3"
        shouldThrow<ConfigException> { ablation { this.base = base } }.message shouldContain "tasks"
        shouldThrow<ConfigException> { ablation { this.base = base; tasks("sorting") } }.message shouldContain "sorting"
    }

    test("every sweep recipe loads and validates; the ratio sweep has its 3 ratios on parity and mqar") {
        for (f in allSweeps()) Recipes.loadAblation(f).runs().isNotEmpty() shouldBe true
        val a = Recipes.loadAblation(repoRoot.resolve("recipes/ablations/ratio-formal-languages.xlstm.kts"))
        a.variants().map { it.name } shouldContainExactly listOf("xLSTM[1:0]", "xLSTM[0:1]", "xLSTM[1:1]")
        a.tasks shouldContainExactly listOf("parity", "mqar")
        a.runs().size shouldBe 3 * 2 * a.seeds
        shouldThrow<RecipeException> { Recipes.loadAblation(repoRoot.resolve("recipes/parity.xlstm.kts")) }.message shouldContain "ablation"
    }
})
