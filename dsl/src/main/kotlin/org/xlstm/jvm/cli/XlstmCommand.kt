package org.xlstm.jvm.cli

import picocli.CommandLine.Command
import picocli.CommandLine.Model.CommandSpec
import picocli.CommandLine.Option
import picocli.CommandLine.ScopeType
import picocli.CommandLine.Spec

/** The root command: `xlstm [--debug] COMMAND ...`. Without a command it prints the help. */
@Command(
    name = "xlstm",
    mixinStandardHelpOptions = true,
    versionProvider = VersionProvider::class,
    description = [
        "Compose, inspect, train and run xLSTM networks on the JVM.",
        "A MODEL is a recipe (*.xlstm.kts), an official config file (.json, .yaml,",
        ".yml) or a checkpoint folder holding config.json.",
    ],
    synopsisSubcommandLabel = "COMMAND",
    commandListHeading = "%nCommands:%n",
    footerHeading = "%n",
    footer = ["Exit status: 0 success, 1 bad model or input (the message names the file and line), " +
        "2 bad command line, 3 internal error.", "Documentation: docs/user-guide.md, docs/dsl-reference.md."],
)
class XlstmCommand : Runnable {
    @Spec
    lateinit var spec: CommandSpec

    /** Inherited by every subcommand, so `xlstm summary x --debug` works as well as `xlstm --debug summary x`. */
    @Option(names = ["--debug"], scope = ScopeType.INHERIT, description = ["Print stack traces of errors."])
    var debug: Boolean = false

    override fun run() {
        spec.commandLine().usage(spec.commandLine().out)
    }
}
