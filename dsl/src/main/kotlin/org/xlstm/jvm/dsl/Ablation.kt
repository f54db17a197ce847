package org.xlstm.jvm.dsl

import org.xlstm.jvm.config.ConfigException
import org.xlstm.jvm.config.FeedForwardConfig
import org.xlstm.jvm.config.SlstmBlockConfig
import org.xlstm.jvm.config.XlstmConfig
import org.xlstm.jvm.config.XlstmConfigBuilder
import org.xlstm.jvm.data.tasks.SyntheticTask
import org.xlstm.jvm.data.tasks.Tasks
import java.nio.file.Path

/**
 * A sweep: a base architecture, the axes along which it varies (cross product) or listed variants, the tasks, the
 * number of seeds, and the training settings every run shares. [runs] expands and validates it; every run is an
 * ordinary training run.
 */
class Ablation internal constructor(
    val name: String,
    val base: XlstmConfig,
    val axes: List<Axis>,
    val variants: List<ListedVariant>,
    val tasks: List<String>,
    val seeds: Int,
    val training: TrainingSpec,
    val source: Path? = null,
) {
    /** One axis: a name ("ratio", "heads", ...) and its values. */
    class Axis(val name: String, val values: List<Change>)

    /** A change to the base: a label for reports, an order (block count before placement), and the edit. */
    class Change(val label: String, internal val order: Int, internal val apply: XlstmConfigBuilder.() -> Unit)

    /** A variant written out by hand: a name and its changes. */
    class ListedVariant(val name: String, val changes: List<Change>)

    /** One architecture of the sweep, validated. */
    class Variant(val name: String, val labels: List<String>, val model: XlstmConfig)

    /** One training run: a variant on a task with a seed. */
    class Run(val variant: Variant, val task: String, val seed: Long, val model: XlstmConfig, val training: TrainingSpec) {
        /** The run's folder name inside the sweep folder. */
        val id: String = "${slug(variant.name)}__${slug(task)}__seed$seed"
        override fun toString() = id
    }

    /** The variants: listed variants × the cross product of the axes (the base alone when there are neither). */
    fun variants(): List<Variant> {
        var combos: List<Pair<String?, List<Change>>> = if (variants.isEmpty()) listOf(null to emptyList())
        else variants.map { it.name to it.changes }
        for (axis in axes) combos = combos.flatMap { (n, cs) -> axis.values.map { v -> n to (cs + v) } }
        val errors = mutableListOf<String>()
        val out = combos.mapNotNull { (listed, changes) ->
            val labels = listOfNotNull(listed) + changes.filter { listed == null || it !in listedChanges(listed) }.map { it.label }
            val vname = labels.joinToString(" ").ifBlank { "base" }
            try {
                Variant(vname, labels, build(changes))
            } catch (e: ConfigException) {
                errors += "variant \"$vname\": ${e.message}"
                null
            }
        }
        if (errors.isNotEmpty()) throw ConfigException("ablation", errors.joinToString("\n"))
        val dup = out.groupBy { it.name }.filterValues { it.size > 1 }.keys
        if (dup.isNotEmpty()) throw ConfigException("ablation", "variant names repeat: ${dup.joinToString()}; name listed variants apart")
        return out
    }

    private fun listedChanges(name: String) = variants.first { it.name == name }.changes

    private fun build(changes: List<Change>): XlstmConfig {
        val b = base.toBuilder()
        for (c in changes.sortedBy { it.order }) c.apply(b)
        // The vocabulary comes from each run's task; a placeholder lets the rest be checked now.
        if (base.vocabSize() <= 0) b.vocabSize(2)
        // Keep only the block kinds this variant uses, as xlstm { } does.
        val kinds = b.buildUnchecked().blockMap().toSet()
        if (org.xlstm.jvm.config.BlockKind.MLSTM !in kinds) b.noMlstm()
        if (org.xlstm.jvm.config.BlockKind.SLSTM !in kinds) b.slstmBlock(null)
        return b.build()
    }

    /** Every run: variants × tasks × seeds, each model adapted to its task's vocabulary and length. */
    fun runs(): List<Run> {
        val vs = variants()
        val errors = mutableListOf<String>()
        val runs = mutableListOf<Run>()
        for (v in vs) for (t in tasks) {
            val task = task(t)
            val model = try {
                forTask(v.model, task)
            } catch (e: ConfigException) {
                errors += "variant \"${v.name}\" on task $t: ${e.message}"
                continue
            }
            for (s in 0 until seeds) {
                val seed = training.settings.seed() + s
                runs += Run(v, t, seed, model, training.withSeed(seed, t))
            }
        }
        if (errors.isNotEmpty()) throw ConfigException("ablation", errors.joinToString("\n"))
        return runs
    }

    /** The synthetic task a run trains on (mqar with the sweep's sizes). */
    fun task(name: String): SyntheticTask =
        if (name == "mqar" && training.mqar != null) Tasks.mqar(training.mqar.vocabSize, training.mqar.sequenceLength, training.mqar.kvPairs)
        else Tasks.official(name)

    companion object {
        /** The model as the task needs it: the task's vocabulary and a context long enough for its evaluation. */
        internal fun forTask(model: XlstmConfig, task: SyntheticTask): XlstmConfig {
            val longest = maxOf(task.sequenceLength(), Tasks.evaluationSplit(task).sequenceLength())
            return model.toBuilder().vocabSize(task.vocabSize()).contextLength(maxOf(model.contextLength(), longest)).build()
        }

        internal fun slug(s: String) = s.replace(Regex("[^A-Za-z0-9.=_-]+"), "_").trim('_').ifEmpty { "x" }
    }

    override fun toString() = "Ablation($name: ${axes.size} axes, ${variants.size} listed variants, tasks=$tasks, seeds=$seeds)"
}

/**
 * A sweep over architectures, as one recipe:
 * ```
 * ablation {
 *     name = "ratio on formal languages"
 *     base = xlstm { embeddingDim = 64; contextLength = 256; blocks(2); mlstm { heads = 1 }; slstm { heads = 1 } }
 *     vary { ratio(1, 0); ratio(0, 1); ratio(1, 1) }   // one axis; several vary { } blocks are crossed
 *     tasks("parity", "mqar")
 *     seeds(3)
 *     training { steps = 1500; batchSize = 32; lr = 3e-3 }
 * }
 * ```
 */
fun ablation(configure: AblationScope.() -> Unit): Ablation = AblationScope().apply(configure).build()

@XlstmDsl
class AblationScope internal constructor() {
    var name: String = ""

    /** The architecture every variant starts from (vocabulary and context are set per task). */
    var base: XlstmConfig? = null

    /**
     * The base as a template: like xlstm { } but the vocabulary may be left out (each task sets its own) and the
     * mlstm { } / slstm { } settings are kept even where the base itself uses only one kind of block.
     */
    fun base(configure: XlstmScope.() -> Unit) {
        base = XlstmScope().apply(configure).buildTemplate()
    }

    private val axes = mutableListOf<Ablation.Axis>()
    private val listed = mutableListOf<Ablation.ListedVariant>()
    private var taskNames = listOf<String>()
    private var seedCount = 1
    private var training: TrainingSpec? = null

    /** One axis of the cross product; each call inside adds a value. */
    fun vary(configure: ChangesScope.() -> Unit) {
        val s = ChangesScope().apply(configure)
        if (s.changes.isEmpty()) throw ConfigException("ablation.vary", "vary { } lists no values")
        axes += Ablation.Axis(s.kinds.joinToString("+"), s.changes.toList())
    }

    /** A variant written out: its changes apply together. Listed variants are crossed with the vary { } axes. */
    fun variant(name: String, configure: ChangesScope.() -> Unit) {
        listed += Ablation.ListedVariant(name, ChangesScope().apply(configure).changes.toList())
    }

    fun tasks(vararg names: String) {
        for (n in names) if (n !in Tasks.NAMES) throw ConfigException("ablation.tasks", "unknown task \"$n\"; known: ${Tasks.NAMES.joinToString()}")
        taskNames = names.toList()
    }

    fun task(name: String) = tasks(name)

    /** Runs per variant and task, with seeds seed, seed + 1, ... (the training seed). */
    fun seeds(n: Int) {
        if (n < 1) throw ConfigException("ablation.seeds", "must be >= 1; got $n")
        seedCount = n
    }

    /** Settings every run shares (its task is set per run). */
    fun training(configure: TrainingScope.() -> Unit) {
        training = TrainingScope().apply(configure).build()
    }

    internal fun build(): Ablation {
        val b = base ?: throw ConfigException("ablation.base", "ablation { } needs base = xlstm { ... }")
        if (taskNames.isEmpty()) throw ConfigException("ablation.tasks", "ablation { } needs tasks(\"parity\", ...)")
        val t = training ?: TrainingScope().build()
        val a = Ablation(name, b, axes.toList(), listed.toList(), taskNames, seedCount, t)
        a.runs()   // validate every variant now, before anything runs
        return a
    }
}

/** The edits an axis value or a listed variant makes to the base architecture. */
@XlstmDsl
class ChangesScope internal constructor() {
    internal val changes = mutableListOf<Ablation.Change>()
    internal val kinds = linkedSetOf<String>()

    private fun add(kind: String, label: String, order: Int, apply: XlstmConfigBuilder.() -> Unit) {
        kinds += kind
        changes += Ablation.Change(label, order, apply)
    }

    /** The paper's xLSTM[m:s] placement (see `BlocksScope.ratio`). */
    fun ratio(mLSTM: Int, sLSTM: Int) = add("ratio", "xLSTM[$mLSTM:$sLSTM]", 9) {
        if (sLSTM > 0) ensureSlstm(this)
        ratio(mLSTM, sLSTM)
    }

    /** Explicit sLSTM positions. */
    fun slstmAt(vararg positions: Int) = add("placement", "slstm_at=${positions.toList()}", 9) {
        if (positions.isNotEmpty()) ensureSlstm(this)
        slstmAt(*positions)
    }

    /** A block pattern such as "msmm" (sets the block count too). */
    fun pattern(pattern: String) = add("placement", "pattern=${pattern.replace(" ", "")}", 9) {
        if ('s' in pattern.lowercase()) ensureSlstm(this)
        numBlocks(org.xlstm.jvm.config.BlockPlacement.patternLength(pattern))
        pattern(pattern)
    }

    /** Heads of both cell kinds. */
    fun heads(vararg n: Int) = n.forEach { h ->
        add("heads", "heads=$h", 1) { mlstmHeads(this, h); slstmHeads(this, h) }
    }

    fun mlstmHeads(vararg n: Int) = n.forEach { h -> add("mlstm_heads", "mlstm_heads=$h", 1) { mlstmHeads(this, h) } }

    fun slstmHeads(vararg n: Int) = n.forEach { h -> add("slstm_heads", "slstm_heads=$h", 1) { slstmHeads(this, h) } }

    /** mLSTM up-projection factor. */
    fun projFactor(vararg f: Double) = f.forEach { v ->
        add("proj_factor", "proj=$v", 1) { peek(this).mlstmBlock()?.let { mlstm(it.mlstm().withProjFactor(v)) } }
    }

    /** sLSTM feed-forward projection factor. */
    fun ffnProjFactor(vararg f: Double) = f.forEach { v ->
        add("ffn_proj_factor", "ffn=$v", 1) {
            feedForward((peek(this).slstmBlock()?.feedforward() ?: FeedForwardConfig.DEFAULTS).withProjFactor(v))
        }
    }

    fun embeddingDim(vararg d: Int) = d.forEach { v -> add("embedding_dim", "D=$v", 0) { embeddingDim(v) } }

    /** Block count (placements given as ratios are re-derived for it). */
    fun blocks(vararg n: Int) = n.forEach { v -> add("blocks", "blocks=$v", 0) { numBlocks(v) } }

    private fun ensureSlstm(b: XlstmConfigBuilder) {
        if (peek(b).slstmBlock() == null) b.slstmBlock(SlstmBlockConfig.DEFAULTS)
    }

    private fun mlstmHeads(b: XlstmConfigBuilder, h: Int) { peek(b).mlstmBlock()?.let { b.mlstm(it.mlstm().withNumHeads(h)) } }

    private fun slstmHeads(b: XlstmConfigBuilder, h: Int) {
        peek(b).slstmBlock()?.let { b.slstmBlock(SlstmBlockConfig(it.slstm().withNumHeads(h), it.feedforward())) }
    }

    /** The builder's current state, unvalidated (to edit one field of a nested config). */
    private fun peek(b: XlstmConfigBuilder): XlstmConfig = b.buildUnchecked()
}

/** The same training settings with another seed (and the task set). */
internal fun TrainingSpec.withSeed(seed: Long, task: String) =
    TrainingSpec(settings.toBuilder().seed(seed).build(), task, null, mqar, evalBatches, trimToLongest)
