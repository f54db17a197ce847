package org.xlstm.jvm.cli

import org.xlstm.jvm.config.ConfigException
import org.xlstm.jvm.dsl.script.RecipeException
import picocli.CommandLine
import java.io.IOException
import java.io.PrintWriter

/**
 * Builds and runs the `xlstm` command line. Kept apart from [main] so tests run commands in-process with captured
 * output: `Cli.run(arrayOf("summary", "m.json"), out, err)`.
 */
object Cli {
    const val EXIT_OK = 0
    const val EXIT_BAD_INPUT = 1
    const val EXIT_USAGE = 2
    const val EXIT_INTERNAL = 3

    @JvmStatic
    @JvmOverloads
    fun run(args: Array<String>, out: PrintWriter = PrintWriter(System.out, true),
            err: PrintWriter = PrintWriter(System.err, true)): Int =
        try {
            commandLine(out, err).execute(*args)
        } finally {
            out.flush()
            err.flush()
        }

    /** The configured command line; subcommands come from [subcommands]. */
    fun commandLine(out: PrintWriter, err: PrintWriter): CommandLine {
        val root = XlstmCommand()
        val cl = CommandLine(root)
        for (make in subcommands) cl.addSubcommand(make())
        // `xlstm COMMAND --version` prints the same as `xlstm --version` without each command naming the provider.
        for (sub in cl.subcommands.values) if (sub.commandSpec.version().isEmpty())
            sub.commandSpec.versionProvider(VersionProvider())
        cl.out = out
        cl.err = err
        cl.isCaseInsensitiveEnumValuesAllowed = true
        cl.setExecutionExceptionHandler { e, _, _ -> report(e, root.debug, err) }
        cl.setParameterExceptionHandler { e, _ ->
            err.println("xlstm: ${e.message}")
            e.commandLine.usage(err)
            EXIT_USAGE
        }
        return cl
    }

    /** One clear message (file:line first where there is one); the stack trace only with `--debug`. */
    private fun report(e: Exception, debug: Boolean, err: PrintWriter): Int {
        val (message, code) = when (e) {
            is CliException -> e.message to EXIT_BAD_INPUT
            is RecipeException -> e.message to EXIT_BAD_INPUT
            is ConfigException -> e.message to EXIT_BAD_INPUT
            is IOException -> "${e::class.java.simpleName}: ${e.message}" to EXIT_BAD_INPUT
            else -> "internal error: ${e::class.java.name}: ${e.message}" +
                (if (debug) "" else " (run with --debug for the stack trace)") to EXIT_INTERNAL
        }
        err.println("xlstm: $message")
        if (debug) e.printStackTrace(err)
        return code
    }
}

/** A problem with the user's input, reported as one line without a stack trace. */
class CliException(message: String, cause: Throwable? = null) : RuntimeException(message, cause)
