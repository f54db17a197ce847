package org.xlstm.jvm.ablation

import org.xlstm.jvm.backend.cpu.Parallel
import org.xlstm.jvm.dsl.Ablation
import java.io.PrintStream
import java.nio.file.Files
import java.nio.file.Path
import java.util.concurrent.Callable
import java.util.concurrent.Executors
import java.util.concurrent.atomic.AtomicInteger

/**
 * Runs a sweep: each run in `OUT/runs/<id>/` as an ordinary training run. A run whose summary.json exists is
 * finished and skipped; one with a checkpoint resumes from it; anything else starts (again) from scratch. With
 * `parallel` > 1, that many runs go at once, each on its own thread with single-threaded kernels, so they share
 * the cores instead of fighting over them; with 1, a run uses every core.
 */
class AblationRunner(
    private val ablation: Ablation,
    private val out: Path,
    private val parallel: Int,
    private val log: PrintStream,
    /** Trains one run into its folder (resume = its checkpoint folder, or null). */
    private val train: (Ablation.Run, Path, Path?) -> Unit,
) {
    fun runDir(run: Ablation.Run): Path = out.resolve("runs").resolve(run.id)

    /** Runs what is not finished; returns every finished run's result. */
    fun run(): List<AblationReport.RunResult> {
        val runs = ablation.runs()
        val done = AtomicInteger(runs.count { Files.isRegularFile(runDir(it).resolve("summary.json")) })
        val todo = runs.filter { !Files.isRegularFile(runDir(it).resolve("summary.json")) }
        log.println("ablation ${ablation.name}: ${runs.size} runs, ${done.get()} already finished, ${todo.size} to go " +
            "(${parallel.coerceAtLeast(1)} at a time) -> $out")
        val pool = Executors.newFixedThreadPool(parallel.coerceAtLeast(1)) { r -> Thread(r, "ablation-run").apply { isDaemon = true } }
        try {
            val futures = todo.map { run ->
                pool.submit(Callable {
                    val dir = runDir(run)
                    val checkpoint = dir.resolve("checkpoint")
                    val resume = if (Files.isDirectory(checkpoint) && Files.isRegularFile(checkpoint.resolve("trainer.json"))) checkpoint else null
                    if (resume == null && Files.exists(dir)) dir.toFile().deleteRecursively()   // crashed before its first checkpoint
                    Files.createDirectories(dir.parent)
                    val body = { train(run, dir, resume) }
                    if (parallel > 1) Parallel.sequentially(body) else body()
                    val n = done.incrementAndGet()
                    synchronized(log) { log.println("[$n/${runs.size}] finished ${run.id}" + (if (resume != null) " (resumed)" else "")) }
                })
            }
            // One run failing does not stop the others; the failures are reported together at the end.
            val failures = futures.zip(todo).mapNotNull { (f, run) ->
                runCatching { f.get() }.exceptionOrNull()?.let { run.id + ": " + (it.cause?.message ?: it.message) }
            }
            if (failures.isNotEmpty())
                throw IllegalStateException("${failures.size} run(s) failed (restart the sweep to retry them):\n" +
                    failures.joinToString("\n"))
        } finally {
            pool.shutdown()
        }
        return runs.mapNotNull { AblationReport.read(it, runDir(it)) }
    }
}
