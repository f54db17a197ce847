package org.xlstm.jvm.cli

import org.xlstm.jvm.backend.cpu.CpuOps
import org.xlstm.jvm.config.ModelConfig
import org.xlstm.jvm.data.Batch
import org.xlstm.jvm.data.BatchSource
import org.xlstm.jvm.data.TextDataset
import org.xlstm.jvm.data.tasks.SyntheticTask
import org.xlstm.jvm.data.tasks.TaskDataset
import org.xlstm.jvm.data.tasks.Tasks
import org.xlstm.jvm.dsl.MqarSpec
import org.xlstm.jvm.model.Models
import org.xlstm.jvm.model.TrainableLanguageModel
import org.xlstm.jvm.tokenizer.ByteTokenizer
import org.xlstm.jvm.train.ConsoleProgress
import org.xlstm.jvm.train.TrainSettings
import org.xlstm.jvm.train.ResidentTraining
import org.xlstm.jvm.train.TrainableXlstm
import org.xlstm.jvm.train.Trainer
import java.io.PrintStream
import java.nio.file.Path

/**
 * One training run as `xlstm train` and `xlstm ablate` start it: the model freshly initialised (seeded), the data
 * (a synthetic task with its validation split at training lengths and, for formal languages, a "long" split at the
 * evaluation lengths; or a text file with its validation part), and the trainer.
 */
internal object TrainRun {
    /** Eval split names: accuracy at training lengths, and beyond them. */
    const val VALIDATION = "validation"
    const val LONG = "long"

    fun task(name: String, mqar: MqarSpec?): SyntheticTask =
        if (name == "mqar" && mqar != null) Tasks.mqar(mqar.vocabSize, mqar.sequenceLength, mqar.kvPairs) else Tasks.official(name)

    fun run(
        model: ModelConfig,
        settings: TrainSettings,
        task: String?,
        data: Path?,
        mqar: MqarSpec?,
        evalBatches: Int,
        trimToLongest: Boolean,
        recipeSource: String?,
        progress: ConsoleProgress?,
        notes: PrintStream,
        device: String = "cpu",
    ): Trainer.Result {
        val train: BatchSource
        val evals = LinkedHashMap<String, List<Batch>>()
        when {
            task != null -> {
                val t = task(task, mqar)
                requireVocab(model, t.vocabSize(), "task $task")
                train = TaskDataset(t, settings.batchSize(), settings.seed(), trimToLongest)
                // evaluation data from other seeds than training
                evals[VALIDATION] = TaskDataset(t, settings.batchSize(), settings.seed() + 1_000_003, trimToLongest).batches(evalBatches)
                val long = Tasks.evaluationSplit(t)
                if (long !== t) evals[LONG] = TaskDataset(long, settings.batchSize(), settings.seed() + 2_000_003, trimToLongest).batches(evalBatches)
            }
            data != null -> {
                val text = TextDataset.load(data, ByteTokenizer.INSTANCE, TextDataset.DEFAULT_VALIDATION_FRACTION)
                requireVocab(model, text.vocabSize(), "byte-level text")
                val seqLen = (model as? org.xlstm.jvm.config.XlstmConfig)?.contextLength()?.takeIf { it > 0 } ?: 256
                train = text.train(settings.batchSize(), seqLen, settings.seed())
                evals[VALIDATION] = text.validation(settings.batchSize(), seqLen, evalBatches)
            }
            else -> throw CliException("nothing to train on: give --task NAME or --data FILE (or a training { } block in the recipe)")
        }
        val ops = if (device == "cpu") CpuOps() else try {
            org.xlstm.jvm.backend.Backends.create(device)
        } catch (e: RuntimeException) {
            throw CliException("--device $device: ${e.message}")
        }
        if (!ops.supportsTraining()) throw CliException("--device $device cannot train (no backward kernels)")
        val lm = Models.initialized(model, settings.seed(), ops) as TrainableLanguageModel
        lm.use {
            // on a GPU the parameters, gradients and optimizer state stay in device memory for the whole run
            val trainable = if (ops.hostMemory()) TrainableXlstm(lm, settings.seed()) else ResidentTraining(lm, settings.seed())
            val trainer = Trainer(settings, trainable, train, evals).notes(notes)
            if (progress != null || !settings.progress()) trainer.progress(progress)
            recipeSource?.let { trainer.recipe(it) }
            try {
                return trainer.run()
            } finally {
                (trainable as? ResidentTraining)?.close()
            }
        }
    }

    private fun requireVocab(model: ModelConfig, needed: Int, what: String) {
        if (model.vocabSize() < needed)
            throw CliException("the model's vocabulary (${model.vocabSize()}) is smaller than $what needs ($needed); set vocabSize = $needed")
    }
}
