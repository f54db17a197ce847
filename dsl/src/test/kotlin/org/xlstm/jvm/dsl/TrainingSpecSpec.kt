package org.xlstm.jvm.dsl

import io.kotest.assertions.throwables.shouldThrow
import io.kotest.core.spec.style.FunSpec
import io.kotest.matchers.shouldBe
import io.kotest.matchers.shouldNotBe
import io.kotest.matchers.string.shouldContain
import org.xlstm.jvm.config.ConfigException
import org.xlstm.jvm.train.TrainSettings
import java.nio.file.Path

class TrainingSpecSpec : FunSpec({
    val tiny = xlstm { vocabSize = 3; contextLength = 256; embeddingDim = 32; blocks(2) { slstmAt(1) }; mlstm { heads = 1 }; slstm { heads = 1 } }

    test("a training block sets what it names and keeps the official defaults elsewhere") {
        val r = recipe {
            model = tiny
            training { task = "parity"; steps = 3123; batchSize = 16; lr = 2e-3; gradClip = 1.0 }
        }
        val t = r.training!!
        t.task shouldBe "parity"
        t.settings.steps() shouldBe 3123
        t.settings.batchSize() shouldBe 16
        t.settings.lr() shouldBe 2e-3
        t.settings.gradClip() shouldBe 1.0
        val d = TrainSettings.builder().build()
        t.settings.weightDecay() shouldBe d.weightDecay()
        t.settings.warmupSteps() shouldBe d.warmupSteps()
        t.settings.schedule() shouldBe TrainSettings.Schedule.WARMUP_COSINE
    }

    test("a recipe without training has none") {
        recipe { model = tiny }.training shouldBe null
    }

    test("bad training settings name the field") {
        shouldThrow<ConfigException> { recipe { model = tiny; training { task = "sorting" } } }.message shouldContain "training.task"
        shouldThrow<ConfigException> { recipe { model = tiny; training { task = "parity"; data = "x.txt" } } }.message shouldContain "not both"
        shouldThrow<ConfigException> { recipe { model = tiny; training { schedule = "linear" } } }.message shouldContain "schedule"
        shouldThrow<ConfigException> { recipe { model = tiny; training { task = "parity"; mqar(64, 32, 4) } } }.message shouldContain "mqar"
    }

    test("the parity recipe trains an sLSTM-containing model on parity") {
        val repo = Path.of(System.getProperty("xlstm.repo", "..."))
        val r = Recipes.load(repo.resolve("recipes/parity.xlstm.kts"))
        r.training shouldNotBe null
        r.training!!.task shouldBe "parity"
        (r.model as org.xlstm.jvm.config.XlstmConfig).effectiveSlstmAt().isNotEmpty() shouldBe true
    }
})
