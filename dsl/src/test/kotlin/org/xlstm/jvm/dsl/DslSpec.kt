package org.xlstm.jvm.dsl

import io.kotest.assertions.throwables.shouldThrow
import io.kotest.core.spec.style.FunSpec
import io.kotest.matchers.collections.shouldContainExactly
import io.kotest.matchers.shouldBe
import io.kotest.matchers.shouldNotBe
import io.kotest.matchers.string.shouldContain
import org.xlstm.jvm.config.Activation
import org.xlstm.jvm.config.BlockKind
import org.xlstm.jvm.config.BlockPlacement
import org.xlstm.jvm.config.ConfigException
import org.xlstm.jvm.config.FeedForwardConfig
import org.xlstm.jvm.config.MlstmLayerConfig
import org.xlstm.jvm.config.SlstmBackend
import org.xlstm.jvm.config.SlstmBlockConfig
import org.xlstm.jvm.config.SlstmLayerConfig
import org.xlstm.jvm.config.XlstmConfig
import org.xlstm.jvm.config.XlstmLargeConfig

private fun drawn(c: XlstmConfig) = BlockPlacement.draw(c.blockMap(), 8)

class DslSpec : FunSpec({
    test("the paper's notation builds the model it says") {
        val c = xlstm {
            vocabSize = 50304; contextLength = 2048; embeddingDim = 768
            blocks(24) { ratio(mLSTM = 7, sLSTM = 1) }
            mlstm { heads = 4; projFactor = 2.0; convKernel = 4; qkvBlockSize = 4 }
            slstm { heads = 4; convKernel = 4; backend = CUDA; feedForward { projFactor = 1.3; activation = GELU } }
            tieWeights = true; bias = false; dropout = 0.0
        }
        c.vocabSize() shouldBe 50304
        c.contextLength() shouldBe 2048
        c.embeddingDim() shouldBe 768
        c.numBlocks() shouldBe 24
        c.slstmAt() shouldContainExactly listOf(3, 11, 19)
        drawn(c) shouldBe "mmmsmmmm mmmsmmmm mmmsmmmm"
        c.tieWeights() shouldBe true
        c.mlstmBlock().mlstm() shouldBe MlstmLayerConfig.DEFAULTS
        c.slstmBlock() shouldBe SlstmBlockConfig(SlstmLayerConfig.DEFAULTS.withBackend(SlstmBackend.CUDA),
            FeedForwardConfig.DEFAULTS.withProjFactor(1.3).withActFn(Activation.GELU))
    }

    test("unset fields take the official defaults of the Java builder") {
        val dsl = xlstm { vocabSize = 100; contextLength = 16 }
        val java = XlstmConfig.builder().vocabSize(100).contextLength(16).build()
        dsl shouldBe java
        dsl.numBlocks() shouldBe 1
        dsl.embeddingDim() shouldBe 128
        dsl.slstmBlock() shouldBe null
    }

    test("explicit positions, top-level pattern and a repeating pattern inside blocks") {
        xlstm { vocabSize = 8; contextLength = 8; blocks(24) { slstmAt(3, 20) } }.slstmAt() shouldContainExactly listOf(3, 20)
        val p = xlstm { vocabSize = 8; contextLength = 8; pattern("mmms mmmm") }
        p.numBlocks() shouldBe 8
        p.slstmAt() shouldContainExactly listOf(3)
        val tiled = xlstm { vocabSize = 8; contextLength = 8; blocks(16) { pattern("mmms mmmm") } }
        tiled.slstmAt() shouldContainExactly listOf(3, 11)
        val list = xlstm { vocabSize = 8; contextLength = 8; blocks(4) { slstmAt(listOf(0, 2)) } }
        drawn(list) shouldBe "smsm"
    }

    test("a property block count with a top-level pattern must agree") {
        xlstm { vocabSize = 8; contextLength = 8; blocks = 4; pattern("msmm") }.slstmAt() shouldContainExactly listOf(1)
        shouldThrow<ConfigException> { xlstm { vocabSize = 8; contextLength = 8; blocks = 5; pattern("msmm") } }
            .message shouldContain "num_blocks = 5"
    }

    test("ratio(1, 0) is mLSTM only, without an sLSTM block configuration") {
        val c = xlstm { vocabSize = 8; contextLength = 8; blocks(4) { ratio(mLSTM = 1, sLSTM = 0) }; slstm { heads = 2 } }
        c.blockMap().toSet() shouldBe setOf(BlockKind.MLSTM)
        c.slstmBlock() shouldBe null
        c.mlstmBlock() shouldNotBe null
        xlstm { vocabSize = 8; contextLength = 8; blocks(4) { mlstmOnly() } } shouldBe c
    }

    test("ratio(0, 1) is sLSTM only: no mLSTM block configuration, as the official code expects") {
        val c = xlstm { vocabSize = 8; contextLength = 8; embeddingDim = 64; blocks(3) { ratio(mLSTM = 0, sLSTM = 1) } }
        c.blockMap() shouldBe List(3) { BlockKind.SLSTM }
        c.mlstmBlock() shouldBe null
        c.slstmBlock() shouldBe SlstmBlockConfig.DEFAULTS
        c.effectiveSlstmAt() shouldContainExactly listOf(0, 1, 2)
        xlstm { vocabSize = 8; contextLength = 8; embeddingDim = 64; blocks(3) { slstmOnly() } } shouldBe c
        xlstm { vocabSize = 8; contextLength = 8; embeddingDim = 64; pattern("sss") }.mlstmBlock() shouldBe null
    }

    test("noFeedForward() and feedForward = null are the same") {
        val a = xlstm { vocabSize = 8; contextLength = 8; embeddingDim = 64; pattern("ms"); slstm { noFeedForward() } }
        val b = xlstm { vocabSize = 8; contextLength = 8; embeddingDim = 64; pattern("ms"); slstm { feedForward = null } }
        a shouldBe b
        a.slstmBlock().feedforward() shouldBe null
        // A later feedForward { } starts again from the official defaults.
        val c = xlstm {
            vocabSize = 8; contextLength = 8; embeddingDim = 64; pattern("ms")
            slstm { noFeedForward(); feedForward { activation = SWISH } }
        }
        c.slstmBlock().feedforward() shouldBe FeedForwardConfig.DEFAULTS.withActFn(Activation.SWISH)
    }

    test("nested scopes keep earlier settings") {
        val c = xlstm {
            vocabSize = 8; contextLength = 8; embeddingDim = 64; pattern("ms")
            slstm { heads = 2 }
            slstm { convKernel = 0 }
            mlstm { heads = 2 }
            mlstm { projFactor = 1.5 }
        }
        c.slstmBlock().slstm().numHeads() shouldBe 2
        c.slstmBlock().slstm().conv1dKernelSize() shouldBe 0
        c.mlstmBlock().mlstm().numHeads() shouldBe 2
        c.mlstmBlock().mlstm().projFactor() shouldBe 1.5
    }

    test("extras travel to the config") {
        val c = xlstm { vocabSize = 8; contextLength = 8; extra("note", "kept"); mlstm { extra("kernel", "chunkwise") } }
        c.extras()["note"] shouldBe "kept"
        c.mlstmBlock().mlstm().extras()["kernel"] shouldBe "chunkwise"
    }

    test("builder and placement errors surface as ConfigException naming the field") {
        shouldThrow<ConfigException> { xlstm { vocabSize = 8; contextLength = 8; blocks(10) { ratio(7, 1) } } }
            .message shouldContain "multiple of 8"
        shouldThrow<ConfigException> { xlstm { vocabSize = 8; contextLength = 8; blocks(8) { ratio(7, 1); slstmAt(1) } } }
            .errors().single().field() shouldBe "slstm_at"
        shouldThrow<ConfigException> { xlstm { vocabSize = 8; contextLength = 8; blocks(8) { ratio(7, 1) }; pattern("ms") } }
            .message shouldContain "twice"
        shouldThrow<ConfigException> { xlstm { vocabSize = 8; contextLength = 8; blocks(10) { pattern("mmms") } } }
            .errors().single().field() shouldBe "pattern"
        shouldThrow<ConfigException> { xlstm { contextLength = 8 } }
            .errors().map { it.field() } shouldContainExactly listOf("vocab_size")
    }

    test("the validator's rules reach the DSL user with official field paths") {
        val e = shouldThrow<ConfigException> {
            xlstm {
                vocabSize = 8; contextLength = 8; embeddingDim = 64; pattern("ms")
                mlstm { heads = 5 }            // inner dim 128 does not split into 5 heads
                slstm { heads = 3 }            // 64 does not split into 3 heads
            }
        }
        e.errors().map { it.field() }.toSet() shouldBe setOf("mlstm_block.mlstm.num_heads", "slstm_block.slstm.num_heads")
    }

    test("xlstmLarge { } is xLSTM-7B; fields override the official defaults") {
        xlstmLarge { } shouldBe XlstmLargeConfig.xlstm7b()
        xlstmLarge { embeddingDim = 4096; heads = 8; blocks = 32; vocabSize = 50304 } shouldBe XlstmLargeConfig.xlstm7b()
        val small = xlstmLarge { embeddingDim = 64; heads = 4; blocks = 2; vocabSize = 50; chunkSize = 16; weightMode = FUSED }
        small shouldBe XlstmLargeConfig.defaults(64, 4, 2, 50).toBuilder().chunkSize(16)
            .weightMode(org.xlstm.jvm.config.WeightMode.FUSED).build()
    }

    test("recipe { } carries name and description; a model is required") {
        val r = recipe { name = "tiny"; description = "d"; model = xlstm { vocabSize = 8; contextLength = 8 } }
        r.name shouldBe "tiny"
        r.description shouldBe "d"
        r.source shouldBe null
        shouldThrow<ConfigException> { recipe { name = "x" } }.errors().single().field() shouldBe "model"
    }
})
