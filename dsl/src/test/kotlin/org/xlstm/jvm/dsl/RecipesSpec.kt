package org.xlstm.jvm.dsl

import io.kotest.assertions.throwables.shouldThrow
import io.kotest.assertions.withClue
import io.kotest.core.spec.style.FunSpec
import io.kotest.matchers.collections.shouldContainExactly
import io.kotest.matchers.collections.shouldHaveSize
import io.kotest.matchers.shouldBe
import io.kotest.matchers.string.shouldContain
import io.kotest.matchers.string.shouldStartWith
import io.kotest.matchers.types.shouldBeInstanceOf
import org.xlstm.jvm.config.ConfigException
import org.xlstm.jvm.config.XlstmConfig
import org.xlstm.jvm.config.XlstmLargeConfig
import org.xlstm.jvm.dsl.script.RecipeException
import java.nio.file.Files
import java.nio.file.Path
import kotlin.io.path.writeText

internal val repoRoot: Path get() = TestPaths.repo

/** Every model recipe (sweeps under recipes/ablations/ are loaded by [allSweeps]). */
internal fun allRecipes(): List<Path> = Files.walk(repoRoot.resolve("recipes")).use { s ->
    s.filter { Recipes.isRecipe(it) && it.parent.fileName.toString() != "ablations" }.sorted().toList()
}

/** Every sweep recipe. */
internal fun allSweeps(): List<Path> = Files.walk(repoRoot.resolve("recipes/ablations")).use { s ->
    s.filter { Recipes.isRecipe(it) }.sorted().toList()
}

class RecipesSpec : FunSpec({
    val tmp = Files.createTempDirectory("recipes-spec")
    fun recipeFile(name: String, text: String): Path = tmp.resolve(name).also { it.writeText(text.trimIndent() + "\n") }

    test("every recipe under recipes/ evaluates and validates") {
        val recipes = allRecipes()
        withClue("recipes found: $recipes") { (recipes.size >= 15) shouldBe true }
        for (file in recipes) {
            val r = Recipes.load(file)
            withClue(file) {
                r.source shouldBe file
                r.model.validated() shouldBe r.model
                r.name.isNotBlank() shouldBe true
            }
        }
    }

    test("the spelled-out default recipe is the paper's 125M xLSTM[7:1]") {
        val full = Recipes.load(repoRoot.resolve("recipes/xlstm-7-1-125m.xlstm.kts"))
        val paper = Recipes.load(repoRoot.resolve("recipes/paper/xlstm-7-1-125m.xlstm.kts"))
        full.model shouldBe paper.model
        full.name shouldBe "xLSTM[7:1] 125M"
        (full.model as XlstmConfig).slstmAt() shouldContainExactly listOf(3, 20)
    }

    test("paper recipes have the sizes and placements they are named for") {
        for (file in allRecipes().filter { it.parent.fileName.toString() == "paper" }) {
            val m = Recipes.load(file).model as XlstmConfig
            val name = Recipes.nameOf(file)
            withClue(name) {
                m.vocabSize() shouldBe 50304
                m.contextLength() shouldBe 2048
                val (dim, blocks) = when {
                    name.endsWith("125m") -> 768 to 24
                    name.endsWith("350m") -> 1024 to 48
                    name.endsWith("760m") -> 1536 to 48
                    name.endsWith("1.3b") -> 2048 to 48
                    else -> error("unexpected paper recipe $name")
                }
                m.embeddingDim() shouldBe dim
                m.numBlocks() shouldBe blocks
                val sAt = m.effectiveSlstmAt()
                when {
                    name.startsWith("xlstm-1-0") -> sAt shouldBe emptyList()
                    name.startsWith("xlstm-0-1") -> sAt shouldBe (0 until blocks).toList()
                    blocks == 24 -> sAt shouldBe listOf(3, 20)
                    else -> sAt shouldBe listOf(3, 5, 7, 40, 42, 44)
                }
            }
        }
    }

    test("a bare model expression gets its name from the file") {
        val r = Recipes.load(recipeFile("bare-model.xlstm.kts", "xlstm { vocabSize = 10; contextLength = 4 }"))
        r.name shouldBe "bare-model"
        r.model.shouldBeInstanceOf<XlstmConfig>()
        Recipes.load(repoRoot.resolve("recipes/xlstm-7b.xlstm.kts")).model shouldBe XlstmLargeConfig.xlstm7b()
    }

    test("a compile error names file, line and column") {
        val f = recipeFile("typo.xlstm.kts", """
            xlstm {
                vocabSize = 10; contextLength = 4
                mlstm { heds = 4 }
            }
        """)
        val e = shouldThrow<RecipeException> { Recipes.load(f) }
        e.line shouldBe 3
        e.column shouldBe 13
        e.message shouldStartWith "$f:3:13: "
        e.message shouldContain "heds"
    }

    test("the DSL marker rejects a field of an outer scope") {
        val f = recipeFile("marker.xlstm.kts", """
            xlstm {
                vocabSize = 10; contextLength = 4
                slstm {
                    feedForward { heads = 2 }
                }
            }
        """)
        shouldThrow<RecipeException> { Recipes.load(f) }.line shouldBe 4
    }

    test("an impossible architecture names the file and the line of the failing statement") {
        val f = recipeFile("bad-ratio.xlstm.kts", """
            // 10 blocks cannot hold groups of 8
            recipe {
                model = xlstm {
                    vocabSize = 10; contextLength = 4
                    blocks(10) { ratio(7, 1) }
                }
            }
        """)
        val e = shouldThrow<RecipeException> { Recipes.load(f) }
        e.line shouldBe 3   // the builder resolves the ratio when xlstm { } ends; the call starts on line 3
        e.message shouldStartWith "$f:3: "
        e.message shouldContain "multiple of 8"
        e.cause.shouldBeInstanceOf<ConfigException>()
        e.configErrors shouldHaveSize 1
    }

    test("an error thrown inside a nested scope points at its own line") {
        val f = recipeFile("twice.xlstm.kts", """
            xlstm {
                vocabSize = 10; contextLength = 4
                blocks(8) {
                    ratio(7, 1)
                    slstmAt(2)
                }
            }
        """)
        shouldThrow<RecipeException> { Recipes.load(f) }.line shouldBe 5
    }

    test("a recipe must end in a model") {
        val f = recipeFile("nothing.xlstm.kts", "val x = 1")
        shouldThrow<RecipeException> { Recipes.load(f) }.message shouldContain "produces no model"
        val g = recipeFile("number.xlstm.kts", "42")
        shouldThrow<RecipeException> { Recipes.load(g) }.message shouldContain "not a model"
        shouldThrow<RecipeException> { Recipes.load(tmp.resolve("missing.xlstm.kts")) }.message shouldContain "no such"
    }
})
