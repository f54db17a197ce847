package org.xlstm.jvm.dsl.script

import java.io.File
import kotlin.script.experimental.annotations.KotlinScript
import kotlin.script.experimental.api.ScriptAcceptedLocation
import kotlin.script.experimental.api.ScriptCompilationConfiguration
import kotlin.script.experimental.api.ScriptEvaluationConfiguration
import kotlin.script.experimental.api.acceptedLocations
import kotlin.script.experimental.api.defaultImports
import kotlin.script.experimental.api.ide
import kotlin.script.experimental.jvm.baseClassLoader
import kotlin.script.experimental.jvm.jvm
import kotlin.script.experimental.jvm.loadDependencies
import kotlin.script.experimental.jvm.updateClasspath

/**
 * The script definition of recipe files (`*.xlstm.kts`): the DSL and the config model are imported, and the
 * script's last expression is its result (an `xlstm { }`, `xlstmLarge { }` or `recipe { }`).
 */
@KotlinScript(
    displayName = "xlstm-jvm recipe",
    fileExtension = "xlstm.kts",
    compilationConfiguration = RecipeCompilationConfiguration::class,
    evaluationConfiguration = RecipeEvaluationConfiguration::class,
)
abstract class RecipeScript

object RecipeCompilationConfiguration : ScriptCompilationConfiguration({
    defaultImports("org.xlstm.jvm.dsl.*", "org.xlstm.jvm.config.*")
    jvm {
        // Only the jars a recipe can see: ours and the Kotlin standard library. Handing the compiler the whole
        // class path (compiler jars included) makes every cold compile slower for nothing.
        updateClasspath(RecipeClasspath.files)
    }
    ide { acceptedLocations(ScriptAcceptedLocation.Everywhere) }
}) {
    private fun readResolve(): Any = RecipeCompilationConfiguration
}

object RecipeEvaluationConfiguration : ScriptEvaluationConfiguration({
    jvm {
        // The script must see our classes, not copies: the ModelConfig it returns is used by the caller.
        baseClassLoader(RecipeScript::class.java.classLoader)
        loadDependencies(false)
    }
}) {
    private fun readResolve(): Any = RecipeEvaluationConfiguration
}

/** Where the classes a recipe compiles against live: a jar (launcher) or a classes folder (tests, IDE). */
internal object RecipeClasspath {
    val files: List<File> by lazy {
        listOf(RecipeScript::class.java, org.xlstm.jvm.config.XlstmConfig::class.java, Unit::class.java)
            .map { File(it.protectionDomain.codeSource.location.toURI()) }
            .distinct()
    }
}
