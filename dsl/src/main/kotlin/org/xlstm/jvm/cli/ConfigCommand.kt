package org.xlstm.jvm.cli

import org.xlstm.jvm.config.OfficialConfigs
import picocli.CommandLine.Command
import picocli.CommandLine.Model.CommandSpec
import picocli.CommandLine.Option
import picocli.CommandLine.Parameters
import picocli.CommandLine.Spec
import java.nio.file.Path
import java.util.concurrent.Callable

/** `xlstm config MODEL`: the official-layout config, e.g. to hand a recipe to the official PyTorch code. */
@Command(
    name = "config",
    mixinStandardHelpOptions = true,
    description = [
        "Print a model's configuration in the official layout (every field explicit), as config.json or YAML, " +
            "for the official NX-AI/xlstm code or a checkpoint folder.",
    ],
)
class ConfigCommand : Callable<Int> {
    enum class Format { JSON, YAML }

    @Spec
    lateinit var spec: CommandSpec

    @Parameters(index = "0", paramLabel = "MODEL", description = ["Recipe (*.xlstm.kts), official config (.json, " +
        ".yaml, .yml) or a folder holding config.json."])
    lateinit var model: Path

    @Option(names = ["--format"], paramLabel = "FORMAT", description = ["json (default) or yaml."])
    var format: Format = Format.JSON

    override fun call(): Int {
        val config = ModelSource.load(model).model
        val text = when (format) {
            Format.JSON -> OfficialConfigs.toJson(config)
            Format.YAML -> OfficialConfigs.toYaml(config)
        }
        val out = spec.commandLine().out
        out.print(if (text.endsWith("\n")) text else text + "\n")
        out.flush()
        return Cli.EXIT_OK
    }
}
