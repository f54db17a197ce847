package org.xlstm.jvm.dsl.script

import java.io.File
import java.nio.file.AtomicMoveNotSupportedException
import java.nio.file.Files
import java.nio.file.Path
import java.nio.file.StandardCopyOption
import java.security.MessageDigest
import kotlin.script.experimental.api.CompiledScript
import kotlin.script.experimental.api.ScriptCompilationConfiguration
import kotlin.script.experimental.api.SourceCode
import kotlin.script.experimental.jvm.CompiledJvmScriptsCache
import kotlin.script.experimental.jvm.impl.KJvmCompiledScript
import kotlin.script.experimental.jvmhost.loadScriptFromJar
import kotlin.script.experimental.jvmhost.saveToJar

/**
 * Compiled recipes, one jar per recipe text. Compiling costs seconds (the Kotlin compiler starts cold in every
 * `xlstm` process); loading a cached jar costs milliseconds. The key hashes the recipe text together with a
 * fingerprint of the DSL and config classes it was compiled against, so rebuilding xlstm-jvm never reuses a jar
 * compiled against other classes. Jars are written to a temporary name and moved into place, so concurrent
 * processes never read half a jar; a jar that fails to load is dropped and the recipe recompiled.
 */
internal class RecipeCache(private val dir: Path) : CompiledJvmScriptsCache {

    override fun get(script: SourceCode, scriptCompilationConfiguration: ScriptCompilationConfiguration): CompiledScript? {
        val jar = jarFor(script)
        if (!Files.isRegularFile(jar)) return null
        return try {
            jar.toFile().loadScriptFromJar(checkMissingDependencies = true)
        } catch (e: Exception) {
            null
        } ?: run { runCatching { Files.deleteIfExists(jar) }; null }
    }

    override fun store(compiledScript: CompiledScript, script: SourceCode,
                       scriptCompilationConfiguration: ScriptCompilationConfiguration) {
        val compiled = compiledScript as? KJvmCompiledScript ?: return
        runCatching {
            Files.createDirectories(dir)
            val jar = jarFor(script)
            val tmp = Files.createTempFile(dir, jar.fileName.toString(), ".tmp")
            try {
                compiled.saveToJar(tmp.toFile())
                try {
                    Files.move(tmp, jar, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING)
                } catch (e: AtomicMoveNotSupportedException) {
                    Files.move(tmp, jar, StandardCopyOption.REPLACE_EXISTING)
                }
            } finally {
                Files.deleteIfExists(tmp)
            }
        } // A cache that cannot be written only costs time; never fail a recipe for it.
    }

    fun jarFor(script: SourceCode): Path = dir.resolve(key(script.text) + ".jar")

    companion object {
        /** `xlstm.recipe.cache` (system property) or `XLSTM_RECIPE_CACHE` (environment): a folder, or "off". */
        fun fromEnvironment(): RecipeCache? {
            val setting = System.getProperty("xlstm.recipe.cache") ?: System.getenv("XLSTM_RECIPE_CACHE")
            if (setting != null && setting.equals("off", ignoreCase = true)) return null
            val dir = when {
                !setting.isNullOrBlank() -> Path.of(setting)
                !System.getenv("XDG_CACHE_HOME").isNullOrBlank() ->
                    Path.of(System.getenv("XDG_CACHE_HOME"), "xlstm-jvm", "recipes")
                else -> Path.of(System.getProperty("user.home"), ".cache", "xlstm-jvm", "recipes")
            }
            return RecipeCache(dir)
        }

        private val classesFingerprint: String by lazy {
            RecipeClasspath.files.joinToString(";") { f -> "${f.name}:${fingerprint(f)}" } +
                    ";kotlin=" + KotlinVersion.CURRENT
        }

        /** A jar by size and time; a classes folder by its newest file and file count (tests, IDE runs). */
        private fun fingerprint(f: File): String =
            if (f.isDirectory) {
                val files = f.walkTopDown().filter { it.isFile }.toList()
                "${files.size}/${files.maxOfOrNull { it.lastModified() } ?: 0}"
            } else "${f.length()}/${f.lastModified()}"

        fun key(text: String): String {
            val md = MessageDigest.getInstance("SHA-256")
            md.update(classesFingerprint.toByteArray())
            md.update(0)
            md.update(text.toByteArray())
            return md.digest().joinToString("") { "%02x".format(it) }.take(32)
        }
    }
}
