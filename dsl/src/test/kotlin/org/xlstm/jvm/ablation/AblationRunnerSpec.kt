package org.xlstm.jvm.ablation

import io.kotest.core.spec.style.FunSpec
import io.kotest.matchers.collections.shouldContainExactlyInAnyOrder
import io.kotest.matchers.shouldBe
import io.kotest.matchers.string.shouldContain
import org.xlstm.jvm.dsl.XlstmScope
import org.xlstm.jvm.dsl.ablation
import java.io.ByteArrayOutputStream
import java.io.PrintStream
import java.nio.file.Files
import java.nio.file.Path

class AblationRunnerSpec : FunSpec({
    val sweep = ablation {
        name = "spec"
        base { embeddingDim = 16; contextLength = 64; blocks(2); mlstm { heads = 1 }; slstm { heads = 1 } }
        vary { ratio(1, 0); ratio(0, 1) }
        tasks("parity")
        seeds(2)
        training { steps = 3000 }
    }

    /** A stand-in trainer: writes the files a finished run has; accuracy depends on the variant and seed. */
    fun fakeTrain(calls: MutableList<String>, crashOn: String? = null): (org.xlstm.jvm.dsl.Ablation.Run, Path, Path?) -> Unit = { run, dir, resume ->
        synchronized(calls) { calls += run.id + (if (resume != null) " resumed" else "") }
        Files.createDirectories(dir.resolve("checkpoint"))
        Files.writeString(dir.resolve("checkpoint/trainer.json"), "{}")
        if (run.id == crashOn) throw IllegalStateException("simulated crash in ${run.id}")
        val acc = if (run.variant.name.contains("0:1")) 0.9 + (run.seed - 42) * 0.02 else 0.5
        Files.writeString(dir.resolve("metrics.jsonl"), """{"kind":"train","step":10,"loss":0.5}""" + "\n" +
            """{"kind":"train","step":20,"loss":0.25}""" + "\n")
        Files.writeString(dir.resolve("summary.json"), """{"steps":20,"train_loss":0.25,"tokens":100,"tokens_per_s":50,
            "parameters":123,"accuracy":$acc,"accuracy_long":${acc - 0.1},"elapsed_s":2,"final_eval":{"validation":{"loss":0.3,"accuracy":$acc}}}""")
        Unit
    }

    test("a restarted sweep skips finished runs and resumes unfinished ones") {
        val out = Files.createTempDirectory("sweep")
        val calls = mutableListOf<String>()
        val log = PrintStream(ByteArrayOutputStream(), true)
        val crash = sweep.runs()[2].id
        runCatching { AblationRunner(sweep, out, 1, log, fakeTrain(calls, crashOn = crash)).run() }.isFailure shouldBe true
        // one run failing does not stop the others
        calls shouldBe sweep.runs().map { it.id }
        calls.clear()
        val results = AblationRunner(sweep, out, 2, log, fakeTrain(calls)).run()
        calls shouldContainExactlyInAnyOrder listOf("$crash resumed")
        results.size shouldBe 4
        calls.clear()
        AblationRunner(sweep, out, 1, log, fakeTrain(calls)).run().size shouldBe 4
        calls shouldBe emptyList()
    }

    test("the report has one CSV row per run and mean ± std per variant") {
        val out = Files.createTempDirectory("sweep-report")
        val log = PrintStream(ByteArrayOutputStream(), true)
        val results = AblationRunner(sweep, out, 1, log, fakeTrain(mutableListOf())).run()
        AblationReport.write(sweep, results, out, "./xlstm ablate spec")
        val csv = Files.readAllLines(out.resolve("results.csv"))
        csv.size shouldBe 5
        csv[0] shouldContain "variant,task,seed,parameters"
        val md = Files.readString(out.resolve("report.md"))
        md shouldContain "| xLSTM[0:1] | `ss` | 123 | 0.910 ± 0.014 | 0.810 ± 0.014 |"
        md shouldContain "| xLSTM[1:0] | `mm` | 123 | 0.500 ± 0.000 |"
        md shouldContain "Variants with sLSTM blocks reach accuracy_long = 0.810 on average, mLSTM-only ones 0.400."
        for (png in listOf("accuracy-parity.png", "loss-parity.png")) (Files.size(out.resolve(png)) > 1000) shouldBe true
    }
})
