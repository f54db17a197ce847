package org.xlstm.jvm.dsl

import org.xlstm.jvm.config.ConfigException
import org.xlstm.jvm.config.ModelConfig
import java.nio.file.Path

/**
 * A named, validated architecture, as a recipe file (`*.xlstm.kts`) describes it. Later issues add the training
 * and ablation settings here; a recipe whose last expression is a bare `xlstm { }` gets its name from the file.
 *
 * @property name   from `recipe { name = ... }`, else the file name without `.xlstm.kts`
 * @property model  the architecture, already validated
 * @property source the recipe file, null for a recipe built in code
 */
class Recipe @JvmOverloads constructor(
    val name: String,
    val model: ModelConfig,
    val source: Path? = null,
    val description: String? = null,
    /** The `training { }` block, or null when the recipe only describes an architecture. */
    val training: TrainingSpec? = null,
) {
    internal fun withOrigin(file: Path, defaultName: String) =
        Recipe(if (name.isBlank()) defaultName else name, model, file, description, training)

    override fun toString() = "Recipe($name${source?.let { " from $it" } ?: ""})"
}

/**
 * A recipe with a name and a description:
 * ```
 * recipe {
 *     name = "xLSTM[7:1] 125M"
 *     model = xlstm { ... }
 * }
 * ```
 */
fun recipe(configure: RecipeScope.() -> Unit): Recipe = RecipeScope().apply(configure).build()

@XlstmDsl
class RecipeScope internal constructor() {
    /** Shown by `xlstm summary`; defaults to the file name. */
    var name: String = ""

    /** One line saying what this recipe is (e.g. where its numbers come from). */
    var description: String? = null

    /** The architecture: `xlstm { }` or `xlstmLarge { }`. */
    var model: ModelConfig? = null

    private var training: TrainingSpec? = null

    /** How `xlstm train` trains this model: task or data, steps, optimiser. */
    fun training(configure: TrainingScope.() -> Unit) {
        training = TrainingScope().apply(configure).build()
    }

    internal fun build(): Recipe {
        val m = model ?: throw ConfigException("model", "recipe { } has no model; add model = xlstm { ... }")
        return Recipe(name, m, null, description, training)
    }
}
