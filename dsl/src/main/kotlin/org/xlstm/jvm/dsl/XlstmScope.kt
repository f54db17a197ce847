package org.xlstm.jvm.dsl

import org.xlstm.jvm.config.BlockKind
import org.xlstm.jvm.config.ConfigException
import org.xlstm.jvm.config.FeedForwardConfig
import org.xlstm.jvm.config.MlstmLayerConfig
import org.xlstm.jvm.config.SlstmBlockConfig
import org.xlstm.jvm.config.SlstmLayerConfig
import org.xlstm.jvm.config.XlstmConfig
import org.xlstm.jvm.config.XlstmConfigBuilder

/**
 * Receiver of [xlstm]. Property names follow the paper; the official field each one sets is named in its comment.
 * Defaults are the official ones (read from the Java config model, not repeated here).
 *
 * Block configurations that no block uses are left out of the result: an all-sLSTM stack has no `mlstm_block`
 * (the official way to say "every block is sLSTM") and a stack without sLSTM blocks has no `slstm_block`.
 */
@XlstmDsl
class XlstmScope internal constructor() {
    private val defaults = XlstmConfig.defaults(-1, -1)

    /** `vocab_size`; required. */
    var vocabSize: Int = defaults.vocabSize()

    /** `context_length`; required (the longest sequence the official parallel form accepts). */
    var contextLength: Int = defaults.contextLength()

    /** `embedding_dim` D. */
    var embeddingDim: Int = defaults.embeddingDim()

    /** `tie_weights`: the LM head shares the embedding matrix. */
    var tieWeights: Boolean = defaults.tieWeights()

    /** `bias`: biases in the mLSTM layer's linear maps (copied into the layer by the official code). */
    var bias: Boolean = defaults.bias()

    /** `dropout`, used by every layer. */
    var dropout: Double = defaults.dropout()

    /** `add_post_blocks_norm`: a LayerNorm after the last block. */
    var postBlocksNorm: Boolean = defaults.addPostBlocksNorm()

    /** `weight_decay_on_embedding`. */
    var weightDecayOnEmbedding: Boolean = defaults.weightDecayOnEmbedding()

    /** `add_embedding_dropout`. */
    var embeddingDropout: Boolean = defaults.addEmbeddingDropout()

    /** `num_blocks`. Also set by [blocks] with a placement, or by a top-level [pattern]. */
    var blocks: Int
        get() = numBlocks ?: defaults.numBlocks()
        set(value) { numBlocks = value }

    private var numBlocks: Int? = null
    private var placement: Placement? = null
    private var mlstmLayer: MlstmLayerConfig = MlstmLayerConfig.DEFAULTS
    private var slstmLayer: SlstmLayerConfig = SlstmLayerConfig.DEFAULTS
    private var feedForward: FeedForwardConfig? = FeedForwardConfig.DEFAULTS
    private val extras = LinkedHashMap<String, Any?>()

    /** `count` blocks, with the sLSTM placement given inside, e.g. `blocks(24) { ratio(mLSTM = 7, sLSTM = 1) }`. */
    fun blocks(count: Int, placement: BlocksScope.() -> Unit = {}) {
        numBlocks = count
        BlocksScope(count).apply(placement).placement?.let { place(it) }
    }

    /**
     * One letter per block, 'm' (mLSTM) or 's' (sLSTM); spaces, '_' and '|' are ignored. Sets the block count to
     * the number of letters (an explicit, different [blocks] count is an error).
     */
    fun pattern(pattern: String) = place(Placement.Pattern(pattern))

    /** The mLSTM layer (`mlstm_block.mlstm`). */
    fun mlstm(configure: MlstmScope.() -> Unit) {
        mlstmLayer = MlstmScope(mlstmLayer).apply(configure).build()
    }

    /** The sLSTM layer and its feed-forward (`slstm_block.slstm`, `slstm_block.feedforward`). */
    fun slstm(configure: SlstmScope.() -> Unit) {
        val scope = SlstmScope(slstmLayer, feedForward).apply(configure)
        slstmLayer = scope.buildLayer()
        feedForward = scope.feedForward
    }

    /** An official top-level field we carry through unchanged (for tools that read it; no effect on the math). */
    fun extra(officialKey: String, value: Any?) { extras[officialKey] = value }

    private fun place(p: Placement) {
        placement?.let {
            throw ConfigException("slstm_at", "the sLSTM placement is given twice (${it.describe()} and " +
                    "${p.describe()}); keep one")
        }
        placement = p
    }

    internal fun build(): XlstmConfig = builder(keepUnused = false).build()

    /**
     * Unvalidated, with both block kinds' settings kept even where no block uses them: a sweep's base, whose
     * variants may move blocks from one kind to the other.
     */
    internal fun buildTemplate(): XlstmConfig = builder(keepUnused = true).buildUnchecked()

    private fun builder(keepUnused: Boolean): XlstmConfigBuilder {
        val b = XlstmConfigBuilder()
            .vocabSize(vocabSize)
            .contextLength(contextLength)
            .embeddingDim(embeddingDim)
            .tieWeights(tieWeights)
            .bias(bias)
            .dropout(dropout)
            .addPostBlocksNorm(postBlocksNorm)
            .weightDecayOnEmbedding(weightDecayOnEmbedding)
            .addEmbeddingDropout(embeddingDropout)
        numBlocks?.let { b.numBlocks(it) }
        extras.forEach { (k, v) -> b.extra(k, v) }
        when (val p = placement) {
            is Placement.Ratio -> b.ratio(p.mlstm, p.slstm)
            is Placement.At -> b.slstmAt(p.positions)
            is Placement.Pattern -> b.pattern(p.pattern)
            null -> {}
        }
        // Resolve the placement first (the builder owns that rule), then keep only the block kinds in use.
        val kinds = b.buildUnchecked().blockMap().toSet()
        if (keepUnused || BlockKind.MLSTM in kinds) b.mlstm(mlstmLayer) else b.noMlstm()
        b.slstmBlock(if (keepUnused || BlockKind.SLSTM in kinds) SlstmBlockConfig(slstmLayer, feedForward) else null)
        return b
    }
}
