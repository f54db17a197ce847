package org.xlstm.jvm.dsl

import org.xlstm.jvm.config.ConfigException
import org.xlstm.jvm.data.tasks.Tasks
import org.xlstm.jvm.train.TrainSettings

/**
 * What a recipe says about training: the optimiser and loop settings ([settings], without output folders, which
 * the command line decides) and the data: a synthetic [task] by name, or a text file [data].
 *
 * @property task         one of [Tasks.NAMES], or null when training on text
 * @property data         a text file (relative paths are relative to the recipe's folder), or null
 * @property mqar         sizes for the `mqar` task (null: its CPU-sized defaults)
 * @property evalBatches  batches in each evaluation split
 * @property trimToLongest pad each batch only to its longest example (same loss for a causal model, much cheaper)
 */
class TrainingSpec(
    val settings: TrainSettings,
    val task: String?,
    val data: String?,
    val mqar: MqarSpec?,
    val evalBatches: Int,
    val trimToLongest: Boolean,
) {
    override fun toString() = "TrainingSpec(task=$task, data=$data, steps=${settings.steps()}, batch=${settings.batchSize()})"
}

/** Sizes of the multi-query associative recall task. */
data class MqarSpec(val vocabSize: Int, val sequenceLength: Int, val kvPairs: Int)

/**
 * ```
 * training {
 *     task = "parity"           // or: data = "corpus.txt"
 *     steps = 3000; batchSize = 64; lr = 3e-3; warmupSteps = 100
 *     weightDecay = 0.1; gradClip = 1.0; seed = 42; evalEvery = 250
 * }
 * ```
 * Unset fields keep the official experiment defaults (see `TrainSettings`).
 */
@XlstmDsl
class TrainingScope internal constructor() {
    private val defaults = TrainSettings.builder().build()

    /** A synthetic task: parity, modular_arithmetic, cycle_navigation, even_pairs or mqar. */
    var task: String? = null

    /** A UTF-8 text file for byte-level language modelling (instead of a task). */
    var data: String? = null

    var steps: Long = defaults.steps()
    var batchSize: Int = defaults.batchSize()
    var lr: Double = defaults.lr()
    var beta1: Double = defaults.beta1()
    var beta2: Double = defaults.beta2()
    var eps: Double = defaults.eps()
    var weightDecay: Double = defaults.weightDecay()

    /** "warmup_cosine" (official LinearWarmupCosineAnnealing) or "constant". */
    var schedule: String = defaults.schedule().jsonName()
    var warmupSteps: Long = defaults.warmupSteps()

    /** Last step of the cosine decay; -1 means the last training step. */
    var decayUntil: Long = defaults.decayUntil()
    var lrDecayFactor: Double = defaults.lrDecayFactor()

    /** Max global gradient norm; 0 = no clipping. */
    var gradClip: Double = defaults.gradClip()
    var seed: Long = defaults.seed()
    var evalEvery: Long = defaults.evalEvery()
    var logEvery: Long = defaults.logEvery()
    var checkpointEvery: Long = defaults.checkpointEvery()
    var evalBatches: Int = 4
    var trimToLongest: Boolean = true
    private var mqar: MqarSpec? = null

    /** Sizes for the mqar task. */
    fun mqar(vocabSize: Int = 256, sequenceLength: Int = 64, kvPairs: Int = 8) {
        mqar = MqarSpec(vocabSize, sequenceLength, kvPairs)
    }

    internal fun build(): TrainingSpec {
        if (task != null && data != null)
            throw ConfigException("training", "give either task = \"$task\" or data = \"$data\", not both")
        task?.let {
            if (it !in Tasks.NAMES) throw ConfigException("training.task", "unknown task \"$it\"; known: ${Tasks.NAMES.joinToString()}")
        }
        if (mqar != null && task != null && task != "mqar") throw ConfigException("training.mqar", "mqar { } sizes given but task is \"$task\"")
        if (evalBatches < 1) throw ConfigException("training.evalBatches", "must be >= 1; got $evalBatches")
        val settings = try {
            TrainSettings.builder().steps(steps).batchSize(batchSize).lr(lr).betas(beta1, beta2).eps(eps)
                .weightDecay(weightDecay).schedule(TrainSettings.Schedule.parse(schedule)).warmupSteps(warmupSteps)
                .decayUntil(decayUntil).lrDecayFactor(lrDecayFactor).gradClip(gradClip).seed(seed).evalEvery(evalEvery)
                .logEvery(logEvery).checkpointEvery(checkpointEvery).build()
        } catch (e: IllegalArgumentException) {
            throw ConfigException("training", e.message ?: e.toString())
        }
        return TrainingSpec(settings, task, data, mqar, evalBatches, trimToLongest)
    }
}
