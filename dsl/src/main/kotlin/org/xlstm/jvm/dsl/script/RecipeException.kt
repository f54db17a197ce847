package org.xlstm.jvm.dsl.script

import org.xlstm.jvm.config.ConfigError
import org.xlstm.jvm.config.ConfigException
import java.nio.file.Path

/**
 * A recipe file that does not compile, throws while it runs, or describes an impossible architecture. The
 * message starts with `file:line:` (and `:column` for compile errors) so editors and terminals can jump there.
 *
 * @property file   the recipe, as the caller named it
 * @property line   1-based line, null when unknown
 * @property column 1-based column, null when unknown
 * @property problem the message without the location
 */
class RecipeException(
    val file: Path,
    val line: Int?,
    val column: Int?,
    val problem: String,
    cause: Throwable? = null,
) : RuntimeException(location(file, line, column) + ": " + problem, cause) {

    /** The broken rules when the cause is a [ConfigException]; empty otherwise. */
    val configErrors: List<ConfigError>
        get() = (cause as? ConfigException)?.errors() ?: emptyList()

    private companion object {
        fun location(file: Path, line: Int?, column: Int?) = buildString {
            append(file)
            if (line != null) append(':').append(line)
            if (line != null && column != null) append(':').append(column)
        }
    }
}
