package org.xlstm.jvm.cli

import com.fasterxml.jackson.databind.ObjectMapper
import org.xlstm.jvm.backend.cpu.CpuOps
import org.xlstm.jvm.backend.cpu.Parallel
import org.xlstm.jvm.model.LanguageModel
import org.xlstm.jvm.model.Models
import org.xlstm.jvm.model.TrainableLanguageModel
import org.xlstm.jvm.train.TrainThroughput
import org.xlstm.jvm.nn.Mode
import picocli.CommandLine.Command
import picocli.CommandLine.Model.CommandSpec
import picocli.CommandLine.Option
import picocli.CommandLine.Parameters
import picocli.CommandLine.Spec
import java.nio.file.Files
import java.nio.file.Path
import java.util.Locale
import java.util.SplittableRandom
import java.util.concurrent.Callable

/** `xlstm bench MODEL`: CPU throughput of the forward pass and of batch-1 generation. */
@Command(
    name = "bench",
    mixinStandardHelpOptions = true,
    description = [
        "Measure on the CPU: forward tokens/s (chunkwise form, BATCH × SEQ random tokens), batch-1 generation " +
            "tokens/s (steady-state recurrent steps with greedy argmax) and training tokens/s (forward, backward and " +
            "AdamW on BATCH × SEQ tokens), each the median of several runs after " +
            "warm-up. A recipe or config gets freshly initialised weights (official init, --seed); a checkpoint " +
            "folder its own.",
    ],
)
class BenchCommand : Callable<Int> {
    @Spec
    lateinit var spec: CommandSpec

    @Parameters(index = "0", paramLabel = "MODEL", description = ["Recipe, official config, or checkpoint folder."])
    lateinit var model: Path

    @Option(names = ["--batch"], paramLabel = "B", defaultValue = "8", description = ["Forward batch size (default 8)."])
    var batch: Int = 8

    @Option(names = ["--seq"], paramLabel = "S", defaultValue = "256", description = ["Forward sequence length (default 256)."])
    var seq: Int = 256

    @Option(names = ["--runs"], paramLabel = "N", defaultValue = "7", description = ["Timed runs per measurement (default 7)."])
    var runs: Int = 7

    @Option(names = ["--warmup"], paramLabel = "N", defaultValue = "10",
        description = ["Untimed warm-up runs, at least (default 10)."])
    var warmup: Int = 10

    @Option(names = ["--warmup-seconds"], paramLabel = "SEC", defaultValue = "3",
        description = ["Keep warming up each measurement until this much time has passed (default 3): the JIT " +
            "compiles the vector kernels only after seeing them run for a while."])
    var warmupSeconds: Double = 3.0

    @Option(names = ["--gen-tokens"], paramLabel = "N", defaultValue = "256",
        description = ["Tokens generated per timed generation run (default 256)."])
    var genTokens: Int = 256

    @Option(names = ["--seed"], paramLabel = "SEED", defaultValue = "0", description = ["Seed of the initialisation and tokens."])
    var seed: Long = 0

    @Option(names = ["--json"], description = ["Print one JSON object (forward_tokens_per_s, generate_b1_tokens_per_s, ...)."])
    var json: Boolean = false

    @Option(names = ["--gen-batch"], paramLabel = "B", defaultValue = "1",
        description = ["Also measure batched generation with B sequences (reported as generate_bB_tokens_per_s)."])
    var genBatch: Int = 1

    @Option(names = ["--no-train"], description = ["Skip the training measurement (train_tokens_per_s)."])
    var noTrain: Boolean = false

    @Option(names = ["--micro-batches"], paramLabel = "M", defaultValue = "1",
        description = ["Training measurement: split each batch into M micro-batches run side by side on replicas " +
            "(default 1: every operation split over the threads instead)."])
    var microBatches: Int = 1

    @Option(names = ["--device"], paramLabel = "DEVICE", defaultValue = "cpu",
        description = ["cpu (default), cuda, cuda-tf32 or cuda-bf16."])
    var device: String = "cpu"

    @Option(names = ["--profile"], description = ["Also time every operation (waiting for the device after each) and " +
        "print, per phase, where the time goes to stderr. Throughput figures are lower with it; use it to find hot spots."])
    var profile: Boolean = false

    override fun call(): Int {
        if (batch < 1 || seq < 1 || runs < 1 || warmup < 0 || genTokens < 1 || warmupSeconds < 0)
            throw CliException("--batch, --seq, --runs and --gen-tokens must be positive, --warmup and --warmup-seconds non-negative")
        val source = ModelSource.load(model)
        val checkpoint = Files.isDirectory(model) && (Files.exists(model.resolve("model.safetensors")) ||
            Files.exists(model.resolve("model.safetensors.index.json")))
        val backend = try {
            org.xlstm.jvm.backend.Backends.create(device)
        } catch (e: RuntimeException) {
            throw CliException("--device $device: ${e.message}")
        }
        val profiler = if (profile) org.xlstm.jvm.backend.OpProfile() else null
        val ops = if (profiler != null) org.xlstm.jvm.backend.OpProfile.wrap(backend, profiler) else backend
        fun <T> phase(name: String, body: () -> T): T {
            // profiling: a first pass loads kernels and libraries lazily (one-off costs of many ms); time the second
            if (profiler != null) body()
            profiler?.reset()
            val r = body()
            profiler?.let { System.err.print(it.table(name)) }
            return r
        }
        val lm = if (checkpoint) Models.load(source.model, model, ops) else Models.initialized(source.model, seed, ops)
        lm.use {
            val forward = phase("forward $batch x $seq") { benchForward(it) }
            val generate = phase("generate batch 1") { benchGenerate(it, 1) }
            val generateBatched = if (genBatch > 1) phase("generate batch $genBatch") { benchGenerate(it, genBatch) } else null
            // last: training steps change the weights (by a tiny learning rate)
            val train = if (noTrain || !it.ops().supportsTraining()) null else phase("train $batch x $seq") { benchTrain(it) }
            val out = spec.commandLine().out
            val result = linkedMapOf<String, Any>(
                "model" to source.name,
                "weights" to if (checkpoint) "checkpoint" else "initialized (seed $seed)",
                "backend" to it.ops().name(),
                "threads" to Parallel.threads(),
                "batch" to batch,
                "seq" to seq,
                "runs" to runs,
                "forward_tokens_per_s" to forward,
                "generate_b1_tokens_per_s" to generate,
            )
            if (generateBatched != null) result["generate_b${genBatch}_tokens_per_s"] = generateBatched
            if (train is Double) {
                result["train_tokens_per_s"] = train
                result["train_micro_batches"] = microBatches
            }
            else if (train is String) result["train"] = train
            if (json) {
                out.println(ObjectMapper().writeValueAsString(result))
            } else {
                out.println("model      ${source.name} (${result["weights"]})")
                out.println("backend    ${result["backend"]}")
                out.println(String.format(Locale.ROOT, "forward    %,.0f tokens/s  (batch %d × %d tokens, chunkwise, median of %d)",
                    forward, batch, seq, runs))
                out.println(String.format(Locale.ROOT, "generate   %,.0f tokens/s  (batch 1, %d steps per run, median of %d)",
                    generate, genTokens, runs))
                if (generateBatched != null)
                    out.println(String.format(Locale.ROOT, "generate   %,.0f tokens/s  (batch %d, %d steps per run, median of %d)",
                        generateBatched, genBatch, genTokens, runs))
                if (train is Double)
                    out.println(String.format(Locale.ROOT, "train      %,.0f tokens/s  (batch %d × %d tokens, forward + backward + AdamW, median of %d)",
                        train, batch, seq, runs))
                else if (train is String) out.println("train      $train")
            }
            out.flush()
        }
        return Cli.EXIT_OK
    }

    /** Training steps (zero gradients, forward, loss, backward, AdamW) on random tokens; a note when unsupported. */
    private fun benchTrain(lm: LanguageModel): Any {
        if (lm !is TrainableLanguageModel) return "skipped: this model has no backward pass"
        try {
            org.xlstm.jvm.backend.GradOps.forOps(lm.ops())
        } catch (e: IllegalArgumentException) {
            return "skipped: ${e.message}"
        }
        if (microBatches < 1) throw CliException("--micro-batches must be at least 1; got $microBatches")
        return TrainThroughput.tokensPerSecond(lm, batch, seq, runs, warmup, warmupSeconds, seed + 2, microBatches)
    }

    private fun randomTokens(rows: Int, cols: Int, vocab: Int): Array<IntArray> {
        val r = SplittableRandom(seed + 1)
        return Array(rows) { IntArray(cols) { r.nextInt(vocab) } }
    }

    private fun benchForward(lm: LanguageModel): Double {
        val tokens = randomTokens(batch, seq, lm.vocabSize())
        val one = FloatArray(1)
        // reading one value back waits for the device (a no-op wait on the CPU), so GPU timings are complete
        warm { lm.ops().read(lm.forward(tokens, Mode.CHUNKWISE), 0, one, 0, 1) }
        val times = DoubleArray(runs) {
            val t0 = System.nanoTime()
            lm.ops().read(lm.forward(tokens, Mode.CHUNKWISE), 0, one, 0, 1)
            (System.nanoTime() - t0) / 1e9
        }
        return batch * seq / median(times)
    }

    /**
     * Greedy generation of [rows] sequences from short prefilled prompts; each timed run continues the same state
     * ([LanguageModel.greedy]: on a GPU the arg-max feeds the next step on the device, no host round trip per token).
     */
    private fun benchGenerate(lm: LanguageModel, rows: Int): Double {
        val state = lm.newState(rows)
        val prompt = randomTokens(rows, 16, lm.vocabSize())
        val logits = lm.forward(prompt, state, Mode.CHUNKWISE, null)
        val v = lm.vocabSize()
        val row = FloatArray(v)
        var next = IntArray(rows) { r ->
            lm.ops().read(logits, (r * prompt[0].size + prompt[0].size - 1).toLong() * v, row, 0, v)
            org.xlstm.jvm.backend.Ops.argmax(row)
        }
        fun run(tokens: Int) {
            val out = lm.greedy(next, state, tokens)
            next = IntArray(rows) { out[it][tokens - 1] }
        }
        warm { run(16) }
        val times = DoubleArray(runs) {
            val t0 = System.nanoTime()
            run(genTokens)
            (System.nanoTime() - t0) / 1e9
        }
        return rows * genTokens / median(times)
    }

    /**
     * Runs [body] at least [warmup] times and [warmupSeconds] long, then on until it has stopped getting faster
     * (the best of the last 8 runs is no more than 2 % better than the best before them), at most 20 × warmupSeconds
     * and a minute: the JIT compiles the vector kernels late, and later still when other processes share the CPU.
     */
    private fun warm(body: () -> Unit) {
        val start = System.nanoTime()
        val end = start + (warmupSeconds * 1e9).toLong()
        val limit = start + minOf(60.0, 20 * warmupSeconds).times(1e9).toLong()
        val times = ArrayList<Long>()
        while (true) {
            val t0 = System.nanoTime()
            body()
            val t1 = System.nanoTime()
            times.add(t1 - t0)
            if (times.size < warmup || t1 < end) continue
            if (t1 > limit || times.size >= 16 && stable(times)) return
        }
    }

    private fun stable(times: List<Long>): Boolean {
        val recent = times.subList(times.size - 8, times.size).min()
        val before = times.subList(0, times.size - 8).min()
        return recent >= before * 0.98
    }

    private fun median(xs: DoubleArray): Double {
        val s = xs.sorted()
        return if (s.size % 2 == 1) s[s.size / 2] else (s[s.size / 2 - 1] + s[s.size / 2]) / 2
    }
}
