package org.xlstm.jvm.cli

import com.fasterxml.jackson.databind.ObjectMapper
import org.xlstm.jvm.api.XlstmModel
import org.xlstm.jvm.generate.GenerationOptions
import org.xlstm.jvm.tokenizer.Tokenizer
import picocli.CommandLine.ArgGroup
import picocli.CommandLine.Command
import picocli.CommandLine.Model.CommandSpec
import picocli.CommandLine.Option
import picocli.CommandLine.Parameters
import picocli.CommandLine.Spec
import java.nio.file.Files
import java.nio.file.Path
import java.util.concurrent.Callable

/** `xlstm generate MODEL --prompt TEXT | --prompt-ids 1,2,3`: continue a prompt, streaming to the terminal. */
@Command(
    name = "generate",
    mixinStandardHelpOptions = true,
    description = [
        "Continue a prompt with a model and stream the new text (or token ids) as it is generated.",
        "MODEL is a checkpoint folder (config.json + model.safetensors, optionally tokenizer.json), or a recipe / " +
            "config, which then runs with freshly initialised weights (--seed).",
    ],
)
class GenerateCommand : Callable<Int> {
    @Spec
    lateinit var spec: CommandSpec

    @Parameters(index = "0", paramLabel = "MODEL", description = ["Checkpoint folder, recipe or official config."])
    lateinit var model: Path

    class Prompt {
        @Option(names = ["--prompt"], paramLabel = "TEXT", description = ["Prompt text (needs the checkpoint's " +
            "tokenizer.json, or a vocabulary of at least 256 for bytes)."])
        var text: String? = null

        @Option(names = ["--prompt-ids"], paramLabel = "IDS", description = ["Prompt token ids, comma-separated; " +
            "several prompts separated by ';' run as a batch."])
        var ids: String? = null
    }

    @ArgGroup(exclusive = true, multiplicity = "1")
    lateinit var prompt: Prompt

    @Option(names = ["--max-new-tokens", "-n"], paramLabel = "N", description = ["Tokens to generate at most (default: \${DEFAULT-VALUE})."])
    var maxNewTokens: Int = 64

    @Option(names = ["--greedy"], description = ["Arg-max decoding (ignores temperature, top-k, top-p)."])
    var greedy: Boolean = false

    @Option(names = ["--temperature", "-t"], paramLabel = "T", description = ["Sampling temperature (default: \${DEFAULT-VALUE})."])
    var temperature: Float = 1f

    @Option(names = ["--top-k"], paramLabel = "K", description = ["Sample among the K most likely tokens (0 = all)."])
    var topK: Int = 0

    @Option(names = ["--top-p"], paramLabel = "P", description = ["Nucleus sampling: the smallest set with probability >= P."])
    var topP: Float = 1f

    @Option(names = ["--repetition-penalty"], paramLabel = "R", description = ["> 1 discourages tokens already seen (1 = off)."])
    var repetitionPenalty: Float = 1f

    @Option(names = ["--stop"], paramLabel = "STR", description = ["Stop when the text contains STR (repeatable)."])
    var stop: List<String> = emptyList()

    @Option(names = ["--stop-id"], paramLabel = "ID", description = ["Stop after token ID (repeatable)."])
    var stopIds: List<Int> = emptyList()

    @Option(names = ["--seed"], paramLabel = "S", description = ["Sampling seed (and init seed for recipes; default: \${DEFAULT-VALUE})."])
    var seed: Long = 0

    @Option(names = ["--device"], paramLabel = "DEVICE", defaultValue = "cpu",
        description = ["cpu (default), cuda, cuda-tf32 or cuda-bf16."])
    var device: String = "cpu"

    @Option(names = ["--json"], description = ["Print one JSON object: \"tokens\" (the generated ids; a list per " +
        "prompt when several) and \"text\" when a tokenizer is known."])
    var json: Boolean = false

    override fun call(): Int {
        val options = try {
            GenerationOptions.builder().maxNewTokens(maxNewTokens).greedy(greedy).temperature(temperature).topK(topK)
                .topP(topP).repetitionPenalty(repetitionPenalty).stopStrings(stop).stopTokens(stopIds.toSet()).seed(seed)
                .build()
        } catch (e: IllegalArgumentException) {
            throw CliException(e.message ?: e.toString())
        }
        val out = spec.commandLine().out
        openModel().use { m ->
            val tokenizer: Tokenizer? = runCatching { m.textTokenizer() }.getOrNull()
            val prompts: List<IntArray> = prompt.ids?.let { parseIds(it, m.vocabSize()) }
                ?: listOf((tokenizer ?: throw CliException("$model has no tokenizer.json and its vocabulary (" +
                    "${m.vocabSize()}) cannot hold bytes; use --prompt-ids")).encode(prompt.text!!))
            if (prompts.any { it.isEmpty() }) throw CliException("the prompt is empty")
            if (json) {
                val rows = m.generate(prompts.toTypedArray(), options)
                val node = ObjectMapper().createObjectNode()
                if (rows.size == 1) node.putPOJO("tokens", rows[0].toList()) else node.putPOJO("tokens", rows.map { it.toList() })
                if (tokenizer != null) {
                    val texts = rows.map { cut(tokenizer.decode(it), stop) }
                    if (texts.size == 1) node.put("text", texts[0]) else node.putPOJO("text", texts)
                }
                out.println(node.toString())
            } else {
                for ((r, p) in prompts.withIndex()) {
                    if (prompts.size > 1) out.print("[${r}] ")
                    if (tokenizer != null && prompt.text != null) out.print(tokenizer.decode(p))
                    val generated = ArrayList<Int>()
                    var printed = ""
                    m.generate(p, options) { _, t ->
                        generated += t
                        if (tokenizer != null) {
                            val text = cut(tokenizer.decode(generated.toIntArray()), stop)
                            // print only what the new token added (multi-byte characters arrive whole)
                            if (text.startsWith(printed) && !text.endsWith("\uFFFD")) {
                                out.print(text.substring(printed.length))
                                printed = text
                            }
                        } else {
                            out.print(if (generated.size == 1) "$t" else ",$t")
                        }
                        out.flush()
                        true
                    }
                    out.println()
                }
            }
        }
        out.flush()
        return Cli.EXIT_OK
    }

    private fun openModel(): XlstmModel {
        val ops = try {
            org.xlstm.jvm.backend.Backends.create(device)
        } catch (e: RuntimeException) {
            throw CliException("--device $device: ${e.message}")
        }
        if (Files.isDirectory(model) && (Files.exists(model.resolve("model.safetensors")) ||
                Files.exists(model.resolve("model.safetensors.index.json"))))
            return XlstmModel.load(model, ops)
        val source = ModelSource.load(model)
        return XlstmModel.create(source.model, seed, ops)
    }

    private fun parseIds(s: String, vocab: Int): List<IntArray> = s.split(';').map { row ->
        row.split(',').filter { it.isNotBlank() }.map {
            val id = it.trim().toIntOrNull() ?: throw CliException("--prompt-ids: '$it' is not a token id")
            if (id < 0 || id >= vocab) throw CliException("--prompt-ids: token $id is outside the vocabulary (0..${vocab - 1})")
            id
        }.toIntArray()
    }

    private fun cut(text: String, stops: List<String>): String {
        var t = text
        for (s in stops) t.indexOf(s).takeIf { it >= 0 }?.let { t = t.substring(0, it) }
        return t
    }
}
