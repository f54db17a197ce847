package org.xlstm.jvm.cli

import org.xlstm.jvm.ablation.AblationReport
import org.xlstm.jvm.ablation.AblationRunner
import org.xlstm.jvm.dsl.Ablation
import org.xlstm.jvm.dsl.Recipes
import org.xlstm.jvm.train.ConsoleProgress
import picocli.CommandLine.Command
import picocli.CommandLine.Model.CommandSpec
import picocli.CommandLine.Option
import picocli.CommandLine.Parameters
import picocli.CommandLine.Spec
import java.io.PrintStream
import java.nio.file.Files
import java.nio.file.Path
import java.util.concurrent.Callable

/** `xlstm ablate SWEEP`: every variant × task × seed as a training run, then a report with tables and plots. */
@Command(
    name = "ablate",
    mixinStandardHelpOptions = true,
    description = [
        "Run a sweep recipe (ablation { }): every variant on every task with every seed, each an ordinary training " +
            "run in DIR/runs/<id>/. Restarted with the same DIR it skips finished runs and resumes unfinished ones. " +
            "Ends with DIR/results.csv, DIR/report.md (mean ± std per variant) and PNG plots.",
    ],
)
class AblateCommand : Callable<Int> {
    @Spec
    lateinit var spec: CommandSpec

    @Parameters(index = "0", paramLabel = "SWEEP", description = ["A sweep recipe (*.xlstm.kts ending in ablation { })."])
    lateinit var sweep: Path

    @Option(names = ["--parallel"], paramLabel = "N", description = ["Runs at once (default: \${DEFAULT-VALUE}; " +
        "with N > 1 each run's kernels are single-threaded)."])
    var parallel: Int = 1

    @Option(names = ["--steps"], paramLabel = "N", description = ["Override the steps of every run."])
    var steps: Long? = null

    @Option(names = ["--seeds"], paramLabel = "N", description = ["Override the number of seeds."])
    var seeds: Int? = null

    @Option(names = ["--out"], paramLabel = "DIR", description = ["Sweep folder (default: runs/<sweep name>)."])
    var out: Path? = null

    override fun call(): Int {
        if (parallel < 1) throw CliException("--parallel must be >= 1; got $parallel")
        val loaded = Recipes.loadAblation(sweep)
        val training = steps?.let { s ->
            val settings = try {
                loaded.training.settings.toBuilder().steps(s).warmupSteps(minOf(loaded.training.settings.warmupSteps(), s / 2)).build()
            } catch (e: IllegalArgumentException) {
                throw CliException(e.message ?: e.toString())
            }
            org.xlstm.jvm.dsl.TrainingSpec(settings, loaded.training.task, loaded.training.data, loaded.training.mqar,
                loaded.training.evalBatches, loaded.training.trimToLongest)
        } ?: loaded.training
        val ablation = Ablation(loaded.name, loaded.base, loaded.axes, loaded.variants, loaded.tasks, seeds ?: loaded.seeds, training, loaded.source)
        val dir = out ?: Path.of("runs").resolve(TrainCommand.slug(ablation.name))
        Files.createDirectories(dir)
        Files.copy(sweep, dir.resolve("sweep.xlstm.kts"), java.nio.file.StandardCopyOption.REPLACE_EXISTING)
        val err = PrintStream(System.err, true)
        val recipeText = Files.readString(sweep)
        val runner = AblationRunner(ablation, dir, parallel, err) { run, runDir, resume ->
            val settings = run.training.settings.toBuilder().outputDir(runDir).resumeFrom(resume).progress(parallel == 1).build()
            TrainRun.run(run.model, settings, run.task, null, run.training.mqar, run.training.evalBatches,
                run.training.trimToLongest, recipeText, if (parallel == 1) ConsoleProgress.toStderr() else null, err)
        }
        val results = runner.run()
        val command = "./xlstm ablate $sweep" + (steps?.let { " --steps $it" } ?: "") + (seeds?.let { " --seeds $it" } ?: "") +
            (if (parallel != 1) " --parallel $parallel" else "") + " --out $dir"
        AblationReport.write(ablation, results, dir, command)
        val o = spec.commandLine().out
        o.println("${results.size} runs finished; report: ${dir.resolve("report.md")}")
        o.flush()
        return Cli.EXIT_OK
    }
}
