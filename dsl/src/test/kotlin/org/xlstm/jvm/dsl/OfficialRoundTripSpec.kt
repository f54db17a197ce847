package org.xlstm.jvm.dsl

import io.kotest.assertions.withClue
import io.kotest.core.spec.style.FunSpec
import io.kotest.matchers.shouldBe
import org.xlstm.jvm.config.OfficialConfigs
import org.xlstm.jvm.config.XlstmConfig
import org.xlstm.jvm.config.XlstmLargeConfig
import java.nio.file.Path

/** What the DSL builds is what the official layout says: recipes survive writing and reading back unchanged. */
class OfficialRoundTripSpec : FunSpec({
    val fixtures by lazy { TestPaths.fixtures }

    test("every recipe survives official JSON and YAML unchanged") {
        for (file in allRecipes()) {
            val model = Recipes.load(file).model
            withClue(file) {
                OfficialConfigs.read(OfficialConfigs.toJson(model), OfficialConfigs.Format.JSON) shouldBe model
                OfficialConfigs.read(OfficialConfigs.toYaml(model), OfficialConfigs.Format.YAML) shouldBe model
            }
        }
    }

    test("sLSTM-only ratio(0, 1) writes no mlstm_block and reads back as every block sLSTM") {
        val model = xlstm { vocabSize = 40; contextLength = 16; embeddingDim = 32; blocks(2) { slstmOnly() } }
        val json = OfficialConfigs.toJson(model)
        val back = OfficialConfigs.read(json, OfficialConfigs.Format.JSON) as XlstmConfig
        back shouldBe model
        back.mlstmBlock() shouldBe null
        back.effectiveSlstmAt() shouldBe listOf(0, 1)
    }

    test("the tiny recipe is the mixed_4blk fixture's architecture") {
        val recipe = Recipes.load(repoRoot.resolve("recipes/tiny-mixed.xlstm.kts")).model
        val fixture = OfficialConfigs.loadDirectory(fixtures.resolve("mixed_4blk"))
        recipe shouldBe fixture
    }

    test("the DSL writes the fixtures' architectures") {
        val sOnly = xlstm {
            vocabSize = 40; contextLength = 16; embeddingDim = 32; postBlocksNorm = false
            blocks(2) { slstmOnly() }
            slstm { heads = 2; convKernel = 0; backend = VANILLA; feedForward { projFactor = 1.3333; activation = SWISH } }
        }
        val sFixture = OfficialConfigs.loadDirectory(fixtures.resolve("slstm_only_noconv")) as XlstmConfig
        // Without an mlstm_block every block is sLSTM whatever slstm_at says (the official __post_init__ sets
        // "all"); the config model normalises slstm_at to every block, so the file that leaves it out and the DSL
        // that writes it out give equal configs.
        sOnly.slstmAt() shouldBe listOf(0, 1)
        sFixture.slstmAt() shouldBe listOf(0, 1)
        sOnly shouldBe sFixture
        sOnly.blockMap() shouldBe sFixture.blockMap()
        val mOnly = xlstm {
            vocabSize = 50; contextLength = 16; embeddingDim = 32; bias = true; tieWeights = true
            blocks(2) { mlstmOnly() }
            mlstm { heads = 2 }
        }
        mOnly shouldBe OfficialConfigs.loadDirectory(fixtures.resolve("mlstm_only_bias_tied"))
        val large = xlstmLarge { embeddingDim = 64; heads = 4; blocks = 2; vocabSize = 50; chunkSize = 16 }
        val fixtureLarge = OfficialConfigs.loadDirectory(fixtures.resolve("large_tiny"))
        // The fixture also carries kernel choices (extras) the DSL leaves at their absence.
        val withoutKernelChoices = (fixtureLarge as XlstmLargeConfig).let {
            XlstmLargeConfig(it.embeddingDim(), it.numHeads(), it.numBlocks(), it.vocabSize(), it.useBias(),
                it.normEps(), it.normReductionForceFloat32(), it.addOutNorm(), it.qkDimFactor(), it.vDimFactor(),
                it.ffnProjFactor(), it.ffnRoundUpToMultipleOf(), it.gateSoftCap(), it.outputLogitSoftCap(), it.eps(),
                it.chunkSize(), it.weightMode(), emptyMap())
        }
        fixtureLarge.extras().isEmpty() shouldBe false
        large shouldBe withoutKernelChoices
    }
})
