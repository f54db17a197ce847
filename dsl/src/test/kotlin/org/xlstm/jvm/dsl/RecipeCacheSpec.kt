package org.xlstm.jvm.dsl

import io.kotest.core.spec.style.FunSpec
import io.kotest.matchers.collections.shouldBeEmpty
import io.kotest.matchers.collections.shouldHaveSize
import io.kotest.matchers.shouldBe
import io.kotest.matchers.shouldNotBe
import java.nio.file.Files
import java.nio.file.Path
import kotlin.io.path.listDirectoryEntries
import kotlin.io.path.readBytes
import kotlin.io.path.writeText

class RecipeCacheSpec : FunSpec({
    val key = "xlstm.recipe.cache"
    val saved = System.getProperty(key)
    afterSpec { if (saved == null) System.clearProperty(key) else System.setProperty(key, saved) }

    val tmp = Files.createTempDirectory("recipe-cache-spec")
    val recipe = tmp.resolve("cached.xlstm.kts").also {
        it.writeText("xlstm { vocabSize = 12; contextLength = 4; blocks(2) { ratio(1, 1) } }\n")
    }

    fun jars(dir: Path) = if (Files.isDirectory(dir)) dir.listDirectoryEntries("*.jar") else emptyList()

    test("a compiled recipe is stored once and reused; the result is the same") {
        val dir = tmp.resolve("cache-a")
        System.setProperty(key, dir.toString())
        val first = Recipes.load(recipe)
        jars(dir) shouldHaveSize 1
        val jar = jars(dir).single()
        val bytes = jar.readBytes()
        val second = Recipes.load(recipe)
        second.model shouldBe first.model
        jars(dir) shouldHaveSize 1
        jar.readBytes().contentEquals(bytes) shouldBe true // reused, not rewritten
    }

    test("changing the recipe text makes a new entry") {
        val dir = tmp.resolve("cache-b")
        System.setProperty(key, dir.toString())
        Recipes.load(recipe)
        val other = tmp.resolve("other.xlstm.kts").also { it.writeText("xlstm { vocabSize = 13; contextLength = 4 }\n") }
        Recipes.load(other).model.vocabSize() shouldBe 13
        jars(dir) shouldHaveSize 2
    }

    test("a damaged cache entry is dropped and the recipe recompiled") {
        val dir = tmp.resolve("cache-c")
        System.setProperty(key, dir.toString())
        val expected = Recipes.load(recipe).model
        val jar = jars(dir).single()
        Files.write(jar, byteArrayOf(1, 2, 3))
        Recipes.load(recipe).model shouldBe expected
        jar.readBytes().size shouldNotBe 3
    }

    test("\"off\" disables the cache") {
        System.setProperty(key, "off")
        val before = jars(tmp)
        Recipes.load(recipe).model.vocabSize() shouldBe 12
        jars(tmp) shouldBe before
        before.shouldBeEmpty()
    }
})
