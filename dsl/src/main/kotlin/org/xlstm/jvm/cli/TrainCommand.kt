package org.xlstm.jvm.cli

import org.xlstm.jvm.dsl.Recipes
import org.xlstm.jvm.train.TrainSettings
import picocli.CommandLine.Command
import picocli.CommandLine.Model.CommandSpec
import picocli.CommandLine.Option
import picocli.CommandLine.Parameters
import picocli.CommandLine.Spec
import java.io.PrintStream
import java.nio.file.Files
import java.nio.file.Path
import java.util.concurrent.Callable

/** `xlstm train RECIPE`: train on the CPU or a GPU with the recipe's training { } settings, overridable here. */
@Command(
    name = "train",
    mixinStandardHelpOptions = true,
    description = [
        "Train a model on the CPU (or a GPU: --device). Settings come from the recipe's training { } block (official defaults " +
            "otherwise); options here override them. Writes DIR/metrics.jsonl, DIR/summary.json (for tasks: " +
            "accuracy at training lengths and accuracy_long beyond them), DIR/metrics.png and DIR/checkpoint/ " +
            "(official config.json + model.safetensors, optimizer and RNG state).",
    ],
)
class TrainCommand : Callable<Int> {
    @Spec
    lateinit var spec: CommandSpec

    @Parameters(index = "0", paramLabel = "MODEL", description = ["Recipe (*.xlstm.kts) or official config."])
    lateinit var model: Path

    @Option(names = ["--task"], paramLabel = "NAME", description = ["Synthetic task: parity, modular_arithmetic, " +
        "cycle_navigation, even_pairs, mqar."])
    var task: String? = null

    @Option(names = ["--data"], paramLabel = "FILE", description = ["A UTF-8 text file (byte-level language modelling)."])
    var data: Path? = null

    @Option(names = ["--steps"], paramLabel = "N") var steps: Long? = null
    @Option(names = ["--batch-size"], paramLabel = "B") var batchSize: Int? = null
    @Option(names = ["--lr"], paramLabel = "LR") var lr: Double? = null
    @Option(names = ["--warmup-steps"], paramLabel = "N") var warmup: Long? = null
    @Option(names = ["--seed"], paramLabel = "S") var seed: Long? = null
    @Option(names = ["--eval-every"], paramLabel = "N") var evalEvery: Long? = null
    @Option(names = ["--checkpoint-every"], paramLabel = "N") var checkpointEvery: Long? = null

    @Option(names = ["--out"], paramLabel = "DIR", description = ["Run folder (default: runs/<recipe>-<task>, " +
        "numbered if it exists)."])
    var out: Path? = null

    @Option(names = ["--resume"], paramLabel = "DIR", description = ["Continue the run in DIR from its checkpoint " +
        "(exactly as if it had not stopped)."])
    var resume: Path? = null

    @Option(names = ["--device"], paramLabel = "DEVICE", defaultValue = "cpu",
        description = ["cpu (default), cuda (float32), cuda-tf32 or cuda-bf16 (bf16 products, float32 master weights " +
            "and optimizer); cuda:N picks GPU N. On a GPU the parameters, gradients and AdamW state stay on the device."])
    var device: String = "cpu"

    @Option(names = ["--no-progress"], description = ["No progress line (log lines only)."])
    var noProgress: Boolean = false

    override fun call(): Int {
        if (task != null && data != null) throw CliException("give --task or --data, not both")
        val isRecipe = Recipes.isRecipe(model)
        val recipe = if (isRecipe) Recipes.load(model) else null
        val config = recipe?.model ?: ModelSource.load(model).model
        val spec = recipe?.training
        val taskName = task ?: if (data == null) spec?.task else null
        val dataFile = data ?: if (task == null) spec?.data?.let { (model.parent ?: Path.of(".")).resolve(it) } else null
        val name = recipe?.name ?: model.fileName.toString()
        val dir = resume ?: out ?: freshDir(Path.of("runs"), slug("$name-${taskName ?: dataFile?.fileName ?: "run"}"))
        val b = (spec?.settings ?: TrainSettings.builder().build()).toBuilder()
        steps?.let { b.steps(it) }
        batchSize?.let { b.batchSize(it) }
        lr?.let { b.lr(it) }
        warmup?.let { b.warmupSteps(it) }
        seed?.let { b.seed(it) }
        evalEvery?.let { b.evalEvery(it) }
        checkpointEvery?.let { b.checkpointEvery(it) }
        val settings = try {
            b.outputDir(dir).resumeFrom(resume?.resolve("checkpoint")).progress(!noProgress).build()
        } catch (e: IllegalArgumentException) {
            throw CliException(e.message ?: e.toString())
        }
        val err = PrintStream(System.err, true)
        err.println("xlstm train: ${recipe?.name ?: model} on ${taskName ?: dataFile} for ${settings.steps()} steps, " +
            "batch ${settings.batchSize()} -> $dir")
        val result = TrainRun.run(config, settings, taskName, dataFile, spec?.mqar, spec?.evalBatches ?: 4,
            spec?.trimToLongest ?: true, if (isRecipe) Files.readString(model) else null, null, err, device)
        val o = spec().commandLine().out
        o.println("trained ${result.steps()} steps; final train loss %.4f".format(result.trainLoss()))
        for ((split, r) in result.eval()) o.println("  %-10s loss %.4f  accuracy %.4f".format(split, r.loss(), r.accuracy()))
        o.println("run folder: ${result.outputDir()}  (summary.json, metrics.jsonl, metrics.png, checkpoint/)")
        o.flush()
        return Cli.EXIT_OK
    }

    private fun spec() = spec

    companion object {
        fun slug(s: String) = s.lowercase().replace(Regex("[^a-z0-9._-]+"), "-").trim('-')

        /** base, or base-2, base-3, ... if taken. */
        fun freshDir(parent: Path, base: String): Path {
            var d = parent.resolve(base)
            var i = 2
            while (Files.exists(d)) d = parent.resolve("$base-${i++}")
            return d
        }
    }
}
