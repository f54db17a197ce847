package org.xlstm.jvm.dsl

import org.xlstm.jvm.config.ConfigException
import org.xlstm.jvm.config.ModelConfig
import org.xlstm.jvm.dsl.script.RecipeCache
import org.xlstm.jvm.dsl.script.RecipeCompilationConfiguration
import org.xlstm.jvm.dsl.script.RecipeEvaluationConfiguration
import org.xlstm.jvm.dsl.script.RecipeException
import java.nio.file.Files
import java.nio.file.Path
import kotlin.script.experimental.api.ResultValue
import kotlin.script.experimental.api.ResultWithDiagnostics
import kotlin.script.experimental.api.ScriptDiagnostic
import kotlin.script.experimental.host.ScriptingHostConfiguration
import kotlin.script.experimental.host.toScriptSource
import kotlin.script.experimental.jvm.compilationCache
import kotlin.script.experimental.jvm.jvm
import kotlin.script.experimental.jvmhost.BasicJvmScriptingHost

/**
 * Loads recipe files (`*.xlstm.kts`). From Java: `Recipe r = Recipes.load(Path.of("recipes/xlstm-7b.xlstm.kts"));`.
 *
 * Compiled recipes are cached by content (see `RecipeCache`: `~/.cache/xlstm-jvm/recipes`, or the folder in the
 * `xlstm.recipe.cache` system property / `XLSTM_RECIPE_CACHE` variable; "off" disables it).
 */
object Recipes {
    /** The file-name ending of recipes. */
    const val EXTENSION = ".xlstm.kts"

    /**
     * Compiles (or takes from the cache) and runs the recipe, and returns its validated architecture.
     *
     * @throws RecipeException naming the file and line of a compile error, of an exception thrown while the
     *   recipe runs, or of an impossible architecture (then [RecipeException.configErrors] lists the rules)
     */
    @JvmStatic
    fun load(file: Path): Recipe {
        if (!Files.isRegularFile(file)) throw RecipeException(file, null, null, "no such recipe file")
        val text = try {
            Files.readString(file)
        } catch (e: Exception) {
            throw RecipeException(file, null, null, "cannot read the recipe: ${e.message}", e)
        }
        return toRecipe(file, evaluate(file, text))
    }

    /**
     * Loads a sweep recipe, whose last expression is `ablation { }`; its variants are already validated.
     *
     * @throws RecipeException naming file and line, as [load]
     */
    @JvmStatic
    fun loadAblation(file: Path): Ablation {
        if (!Files.isRegularFile(file)) throw RecipeException(file, null, null, "no such recipe file")
        val text = try {
            Files.readString(file)
        } catch (e: Exception) {
            throw RecipeException(file, null, null, "cannot read the recipe: ${e.message}", e)
        }
        return when (val v = evaluate(file, text)) {
            is Ablation -> Ablation(v.name.ifBlank { nameOf(file) }, v.base, v.axes, v.variants, v.tasks, v.seeds, v.training, file)
            else -> throw RecipeException(file, null, null, "the recipe's last expression is " +
                    (v?.let { it::class.qualifiedName } ?: "null") + ", not a sweep: end it with ablation { ... }")
        }
    }

    /** Whether [file] is named like a recipe. */
    @JvmStatic
    fun isRecipe(file: Path): Boolean = file.fileName?.toString()?.endsWith(EXTENSION) == true

    /** The name a recipe gets from its file: the file name without `.xlstm.kts`. */
    @JvmStatic
    fun nameOf(file: Path): String = file.fileName.toString().removeSuffix(EXTENSION)

    private fun host(): BasicJvmScriptingHost {
        val cache = RecipeCache.fromEnvironment()
        return if (cache == null) BasicJvmScriptingHost()
        else BasicJvmScriptingHost(ScriptingHostConfiguration { jvm { compilationCache(cache) } })
    }

    private fun evaluate(file: Path, text: String): Any? {
        // The source's name becomes the script class and stack-frame file name; keep it the file's own name.
        val source = text.toScriptSource(file.fileName.toString())
        val result = when (val r = host().eval(source, RecipeCompilationConfiguration, RecipeEvaluationConfiguration)) {
            is ResultWithDiagnostics.Success -> r.value.returnValue
            is ResultWithDiagnostics.Failure -> throw compileError(file, r.reports)
        }
        return when (result) {
            is ResultValue.Value -> result.value
            is ResultValue.Unit -> throw RecipeException(file, null, null, "the recipe produces no model: its last " +
                    "expression must be xlstm { ... }, xlstmLarge { ... } or recipe { ... }")
            is ResultValue.Error -> throw runtimeError(file, result.error)
            is ResultValue.NotEvaluated -> throw RecipeException(file, null, null, "the recipe was not evaluated")
        }
    }

    private fun toRecipe(file: Path, value: Any?): Recipe = when (value) {
        is Recipe -> value.withOrigin(file, nameOf(file))
        is ModelConfig -> Recipe(nameOf(file), value, file)
        else -> throw RecipeException(file, null, null, "the recipe's last expression is " +
                (value?.let { it::class.qualifiedName } ?: "null") + ", not a model: end it with xlstm { ... }, " +
                "xlstmLarge { ... } or recipe { ... }")
    }

    private fun compileError(file: Path, reports: List<ScriptDiagnostic>): RecipeException {
        val errors = reports.filter { it.severity >= ScriptDiagnostic.Severity.ERROR }.ifEmpty { reports }
        val first = errors.firstOrNull()
            ?: return RecipeException(file, null, null, "the recipe failed to compile (no diagnostics)")
        val start = first.location?.start
        val more = if (errors.size > 1) "\n" + errors.drop(1).joinToString("\n") { d ->
            val s = d.location?.start
            "$file${s?.let { ":${it.line}:${it.col}" } ?: ""}: ${d.message}"
        } else ""
        return RecipeException(file, start?.line, start?.col, first.message + more, first.exception)
    }

    /** Maps an exception thrown while the recipe ran to the recipe line: its innermost stack frame in the script. */
    private fun runtimeError(file: Path, error: Throwable): RecipeException {
        val scriptFile = file.fileName.toString()
        val line = generateSequence(error) { it.cause }
            .flatMap { it.stackTrace.asSequence() }
            .firstOrNull { it.fileName == scriptFile && it.lineNumber > 0 }
            ?.lineNumber
        val problem = when (error) {
            is ConfigException -> error.message ?: "impossible architecture"
            else -> "${error::class.java.simpleName}: ${error.message}"
        }
        return RecipeException(file, line, null, problem, error)
    }
}
