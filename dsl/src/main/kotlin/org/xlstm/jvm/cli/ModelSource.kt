package org.xlstm.jvm.cli

import org.xlstm.jvm.config.ModelConfig
import org.xlstm.jvm.config.OfficialConfigs
import org.xlstm.jvm.dsl.Recipes
import java.nio.file.Files
import java.nio.file.Path

/**
 * A MODEL argument, loaded: a recipe (`*.xlstm.kts`), an official config file (`.json`, `.yaml`, `.yml`) or a
 * folder holding `config.json` (a checkpoint or a conformance fixture).
 *
 * @property name  the recipe's name, or the file / folder name
 * @property model the validated architecture
 */
class ModelSource private constructor(val path: Path, val name: String, val model: ModelConfig) {
    companion object {
        const val KINDS = "a recipe (*.xlstm.kts), an official config (.json, .yaml, .yml) or a folder with config.json"

        fun load(path: Path): ModelSource {
            val fileName = path.fileName?.toString() ?: path.toString()
            return when {
                Files.isDirectory(path) -> {
                    if (!Files.isRegularFile(path.resolve("config.json")))
                        throw CliException("$path: the folder holds no config.json; MODEL is $KINDS")
                    ModelSource(path, fileName, OfficialConfigs.loadDirectory(path))
                }
                !Files.exists(path) -> throw CliException("$path: no such file or folder")
                Recipes.isRecipe(path) -> Recipes.load(path).let { ModelSource(path, it.name, it.model) }
                fileName.endsWith(".json") || fileName.endsWith(".yaml") || fileName.endsWith(".yml") ->
                    ModelSource(path, fileName.substringBeforeLast('.'), OfficialConfigs.load(path))
                else -> throw CliException("$path: not a model; MODEL is $KINDS")
            }
        }
    }
}
