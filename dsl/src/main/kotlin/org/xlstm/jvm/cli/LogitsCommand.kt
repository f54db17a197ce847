package org.xlstm.jvm.cli

import org.xlstm.jvm.backend.cpu.CpuOps
import org.xlstm.jvm.io.DType
import org.xlstm.jvm.io.SafeTensors
import org.xlstm.jvm.io.SafeTensorsWriter
import org.xlstm.jvm.io.TensorData
import org.xlstm.jvm.model.Models
import org.xlstm.jvm.nn.Mode
import picocli.CommandLine.Command
import picocli.CommandLine.Model.CommandSpec
import picocli.CommandLine.Option
import picocli.CommandLine.Parameters
import picocli.CommandLine.Spec
import java.nio.file.Files
import java.nio.file.Path
import java.util.concurrent.Callable

/** `xlstm logits`: token ids in, logits out, on the CPU engine. */
@Command(
    name = "logits",
    mixinStandardHelpOptions = true,
    description = [
        "Compute logits: input_ids (int64 [B, S]) from TOKENS (a safetensors file) → logits (float32 [B, S, V]) " +
            "written to OUT (safetensors). Weights under their official names; a checkpoint or fixture folder can " +
            "serve as --config and --weights at once, or be given as MODEL.",
    ],
)
class LogitsCommand : Callable<Int> {
    @Spec
    lateinit var spec: CommandSpec

    @Parameters(index = "0", arity = "0..1", paramLabel = "MODEL",
        description = ["A checkpoint folder (config.json + model.safetensors); replaces --config and --weights."])
    var modelDir: Path? = null

    @Option(names = ["--config"], paramLabel = "CONFIG",
        description = ["Architecture: recipe (*.xlstm.kts), official config (.json, .yaml) or a folder with config.json."])
    var config: Path? = null

    @Option(names = ["--weights"], paramLabel = "WEIGHTS",
        description = ["A .safetensors file, or a folder with model.safetensors or a sharded index."])
    var weights: Path? = null

    @Option(names = ["--tokens"], required = true, paramLabel = "TOKENS",
        description = ["safetensors file holding input_ids (int64 or int32, [B, S])."])
    lateinit var tokens: Path

    @Option(names = ["--out"], required = true, paramLabel = "OUT", description = ["Where to write the logits (safetensors)."])
    lateinit var out: Path

    @Option(names = ["--mode"], paramLabel = "MODE", defaultValue = "chunkwise",
        description = ["parallel (quadratic), chunkwise (any length; default) or step (recurrent, one token after another)."])
    var mode: String = "chunkwise"

    @Option(names = ["--chunk"], paramLabel = "L", description = ["Chunk length of the chunkwise form (default: 64, " +
        "xLSTM-7B: its chunk_size)."])
    var chunk: Int = 0

    override fun call(): Int {
        val m = try { Mode.parse(mode) } catch (e: IllegalArgumentException) { throw CliException("--mode: ${e.message}") }
        val configPath = config ?: modelDir
            ?: throw CliException("name the model: a checkpoint folder as MODEL, or --config and --weights")
        val weightsPath = weights ?: modelDir ?: config?.takeIf { Files.isDirectory(it) }
            ?: throw CliException("--weights is needed when --config is a file ($config)")
        val source = ModelSource.load(configPath)
        val ids = readTokens(tokens)
        val model = try {
            Models.load(source.model, weightsPath, CpuOps(), chunk)
        } catch (e: org.xlstm.jvm.model.WeightLoadException) {
            throw CliException(e.message ?: "bad weights", e)
        }
        model.use {
            for ((r, row) in ids.withIndex()) for ((t, id) in row.withIndex())
                if (id < 0 || id >= it.vocabSize())
                    throw CliException("$tokens: input_ids[$r][$t] = $id is outside the vocabulary [0, ${it.vocabSize()})")
            val logits = it.forward(ids, m).toArray()
            val shape = longArrayOf(ids.size.toLong(), ids[0].size.toLong(), it.vocabSize().toLong())
            out.toAbsolutePath().parent?.let { p -> Files.createDirectories(p) }
            SafeTensorsWriter.write(out, mapOf("logits" to TensorData.f32(shape, logits)),
                mapOf("mode" to m.name.lowercase(), "model" to source.name))
            spec.commandLine().out.println("wrote logits ${shape.joinToString(", ", "[", "]")} ($m form) to $out")
        }
        return Cli.EXIT_OK
    }

    private fun readTokens(file: Path): Array<IntArray> {
        if (!Files.isRegularFile(file)) throw CliException("$file: no such file")
        SafeTensors.open(file).use { st ->
            if (!st.contains("input_ids"))
                throw CliException("$file: no tensor named input_ids (found: ${st.names().joinToString()})")
            val info = st.info("input_ids")
            if (info.dtype() != DType.I64 && info.dtype() != DType.I32)
                throw CliException("$file: input_ids is ${info.dtype()}; int64 or int32 expected")
            val shape = info.shape()
            if (shape.size != 2 || shape[0] < 1 || shape[1] < 1)
                throw CliException("$file: input_ids must be [B, S] with B, S ≥ 1; found ${shape.contentToString()}")
            val v = st.longs("input_ids")
            val s = shape[1].toInt()
            return Array(shape[0].toInt()) { b -> IntArray(s) { t -> Math.toIntExact(v[b * s + t]) } }
        }
    }
}
