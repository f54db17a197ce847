package org.xlstm.jvm.cli

import org.xlstm.jvm.config.XlstmConfig
import org.xlstm.jvm.summary.ModelSummary
import picocli.CommandLine.Command
import picocli.CommandLine.Model.CommandSpec
import picocli.CommandLine.Option
import picocli.CommandLine.Parameters
import picocli.CommandLine.Spec
import java.nio.file.Path
import java.util.concurrent.Callable

/** `xlstm summary MODEL`: block map, parameters, FLOPs, state and weight sizes. */
@Command(
    name = "summary",
    mixinStandardHelpOptions = true,
    description = [
        "Describe a model: its block map (m = mLSTM, s = sLSTM), parameters per block and in total (tied matrices " +
            "counted once), forward FLOPs per token at the sequence length, recurrent state bytes per sequence, " +
            "and weight bytes in fp32 and bf16.",
    ],
)
class SummaryCommand : Callable<Int> {
    @Spec
    lateinit var spec: CommandSpec

    @Parameters(index = "0", paramLabel = "MODEL", description = ["Recipe (*.xlstm.kts), official config (.json, " +
        ".yaml, .yml) or a folder holding config.json."])
    lateinit var model: Path

    @Option(names = ["--json"], description = ["Print one JSON object instead of text; its \"parameters\" field is " +
        "the total."])
    var json: Boolean = false

    @Option(names = ["--seq-len"], paramLabel = "N", description = ["Sequence length for the FLOP count " +
        "(default: the model's context_length, else 2048)."])
    var seqLen: Int? = null

    override fun call(): Int {
        val source = ModelSource.load(model)
        val n = seqLen ?: defaultSeqLen(source)
        if (n <= 0) throw CliException("--seq-len must be positive; got $n")
        val summary = ModelSummary.of(source.model, n)
        val out = spec.commandLine().out
        if (json) {
            out.println(summary.toJson())
        } else {
            out.println("${source.name}  ($model)")
            out.println()
            out.print(summary.render().let { if (it.endsWith("\n")) it else it + "\n" })
        }
        out.flush()
        return Cli.EXIT_OK
    }

    private fun defaultSeqLen(source: ModelSource): Int =
        (source.model as? XlstmConfig)?.contextLength()?.takeIf { it > 0 } ?: 2048
}
