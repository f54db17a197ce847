package org.xlstm.jvm.ablation

import com.fasterxml.jackson.databind.JsonNode
import com.fasterxml.jackson.databind.ObjectMapper
import org.knowm.xchart.BitmapEncoder
import org.knowm.xchart.CategoryChartBuilder
import org.knowm.xchart.XYChartBuilder
import org.knowm.xchart.style.Styler
import org.xlstm.jvm.config.BlockKind
import org.xlstm.jvm.dsl.Ablation
import java.nio.file.Files
import java.nio.file.Path
import kotlin.math.sqrt

/**
 * The sweep's report in its folder: `results.csv` (one row per run), `report.md` (mean ± std over seeds per
 * variant and task, with the plots), `accuracy-<task>.png` (metric per variant with error bars) and
 * `loss-<task>.png` (training loss curves per variant, mean over seeds).
 */
object AblationReport {
    private val JSON = ObjectMapper()

    /** One finished run, read back from its folder. */
    class RunResult(val run: Ablation.Run, val summary: JsonNode, val records: List<JsonNode>) {
        fun num(field: String): Double = summary.path(field).asDouble(Double.NaN)
    }

    fun read(run: Ablation.Run, dir: Path): RunResult? {
        val s = dir.resolve("summary.json")
        if (!Files.isRegularFile(s)) return null
        val records = dir.resolve("metrics.jsonl").takeIf { Files.isRegularFile(it) }?.let { f ->
            Files.readAllLines(f).filter { it.isNotBlank() }.map { JSON.readTree(it) }
        } ?: emptyList()
        return RunResult(run, JSON.readTree(s.toFile()), records)
    }

    private fun mean(xs: List<Double>) = xs.filter { !it.isNaN() }.let { if (it.isEmpty()) Double.NaN else it.average() }

    /** Sample standard deviation (0 for one seed). */
    private fun std(xs: List<Double>): Double {
        val v = xs.filter { !it.isNaN() }
        if (v.size < 2) return 0.0
        val m = v.average()
        return sqrt(v.sumOf { (it - m) * (it - m) } / (v.size - 1))
    }

    private fun pm(xs: List<Double>, digits: Int = 3) =
        if (xs.all { it.isNaN() }) "–" else "%.${digits}f ± %.${digits}f".format(mean(xs), std(xs))

    fun write(ablation: Ablation, results: List<RunResult>, out: Path, command: String) {
        Files.createDirectories(out)
        writeCsv(results, out.resolve("results.csv"))
        val plots = ablation.tasks.flatMap { task ->
            val rs = results.filter { it.run.task == task }
            if (rs.isEmpty()) emptyList() else listOfNotNull(accuracyPlot(ablation, task, rs, out), lossPlot(ablation, task, rs, out))
        }
        Files.writeString(out.resolve("report.md"), markdown(ablation, results, command, plots))
    }

    private fun writeCsv(results: List<RunResult>, file: Path) {
        val cols = listOf("variant", "task", "seed", "parameters", "steps", "tokens_per_s", "final_train_loss",
            "validation_loss", "accuracy", "accuracy_long", "sequence_accuracy", "elapsed_s", "run")
        val sb = StringBuilder(cols.joinToString(",")).append('\n')
        for (r in results) {
            val fe = r.summary.path("final_eval")
            val row = listOf(r.run.variant.name, r.run.task, r.run.seed.toString(), r.summary.path("parameters").asText(),
                r.summary.path("steps").asText(), "%.1f".format(r.num("tokens_per_s")), "%.6f".format(r.num("train_loss")),
                "%.6f".format(fe.path("validation").path("loss").asDouble(Double.NaN)), fmt(r.num("accuracy")),
                fmt(r.num("accuracy_long")), fmt(fe.path("validation").path("sequence_accuracy").asDouble(Double.NaN)),
                "%.1f".format(r.num("elapsed_s")), r.run.id)
            sb.append(row.joinToString(",") { csv(it) }).append('\n')
        }
        Files.writeString(file, sb.toString())
    }

    private fun fmt(x: Double) = if (x.isNaN()) "" else "%.6f".format(x)

    private fun csv(s: String) = if (s.any { it == ',' || it == '"' || it == '\n' }) "\"" + s.replace("\"", "\"\"") + "\"" else s

    private fun accuracyPlot(a: Ablation, task: String, rs: List<RunResult>, out: Path): Pair<String, Path>? {
        val names = a.variants().map { it.name }.filter { n -> rs.any { it.run.variant.name == n } }
        val chart = CategoryChartBuilder().width(760).height(440).title("$task: accuracy per variant (mean ± std over seeds)")
            .xAxisTitle("variant").yAxisTitle("accuracy").build()
        chart.styler.legendPosition = Styler.LegendPosition.InsideNE
        chart.styler.yAxisMin = 0.0
        chart.styler.yAxisMax = 1.0
        chart.styler.isErrorBarsColorSeriesColor = true
        for ((label, field) in listOf("training lengths" to "accuracy", "longer sequences" to "accuracy_long")) {
            val per = names.map { n -> rs.filter { it.run.variant.name == n }.map { it.num(field) } }
            if (per.all { xs -> xs.all { it.isNaN() } }) continue
            chart.addSeries(label, names, per.map { mean(it).let { m -> if (m.isNaN()) 0.0 else m } }, per.map { std(it) })
        }
        if (chart.seriesMap.isEmpty()) return null
        val file = out.resolve("accuracy-$task.png")
        BitmapEncoder.saveBitmap(chart, file.toString().removeSuffix(".png"), BitmapEncoder.BitmapFormat.PNG)
        return "accuracy on $task" to file
    }

    private fun lossPlot(a: Ablation, task: String, rs: List<RunResult>, out: Path): Pair<String, Path>? {
        val chart = XYChartBuilder().width(760).height(440).title("$task: training loss (mean over seeds)")
            .xAxisTitle("step").yAxisTitle("loss").build()
        chart.styler.legendPosition = Styler.LegendPosition.InsideNE
        for (v in a.variants()) {
            val runs = rs.filter { it.run.variant.name == v.name }
            if (runs.isEmpty()) continue
            val bySteps = sortedMapOf<Long, MutableList<Double>>()
            for (r in runs) for (rec in r.records) if (rec.path("kind").asText() == "train")
                bySteps.getOrPut(rec.path("step").asLong()) { mutableListOf() } += rec.path("loss").asDouble()
            if (bySteps.isEmpty()) continue
            chart.addSeries(v.name, bySteps.keys.map { it.toDouble() }, bySteps.values.map { it.average() }).marker =
                org.knowm.xchart.style.markers.SeriesMarkers.NONE
        }
        if (chart.seriesMap.isEmpty()) return null
        val file = out.resolve("loss-$task.png")
        BitmapEncoder.saveBitmap(chart, file.toString().removeSuffix(".png"), BitmapEncoder.BitmapFormat.PNG)
        return "training loss on $task" to file
    }

    private fun markdown(a: Ablation, results: List<RunResult>, command: String, plots: List<Pair<String, Path>>): String {
        val sb = StringBuilder()
        sb.append("# ${a.name}\n\n")
        sb.append("Produced by `$command`. ${results.size} runs: ${a.variants().size} variants × ${a.tasks.size} tasks × " +
            "${a.seeds} seeds; ${a.training.settings.steps()} steps of batch ${a.training.settings.batchSize()} each. " +
            "Accuracy is on the answer positions only (official metric), at the training lengths and — for the " +
            "formal-language tasks — on longer sequences than seen in training (`accuracy_long`). Mean ± sample " +
            "standard deviation over seeds.\n\n")
        for (task in a.tasks) {
            val rs = results.filter { it.run.task == task }
            if (rs.isEmpty()) continue
            sb.append("## $task\n\n")
            sb.append("| variant | block map | parameters | accuracy | accuracy_long | final train loss | tokens/s |\n")
            sb.append("|---|---|---:|---:|---:|---:|---:|\n")
            for (v in a.variants()) {
                val vr = rs.filter { it.run.variant.name == v.name }
                if (vr.isEmpty()) continue
                val map = vr.first().run.model.blockMap().joinToString("") { it.letter().toString() }
                sb.append("| ${v.name} | `$map` | ${vr.first().summary.path("parameters").asLong()} | ${pm(vr.map { it.num("accuracy") })} | " +
                    "${pm(vr.map { it.num("accuracy_long") })} | ${pm(vr.map { it.num("train_loss") })} | " +
                    "%.0f |\n".format(mean(vr.map { it.num("tokens_per_s") })))
            }
            sb.append('\n')
            findings(task, a, rs)?.let { sb.append(it).append("\n\n") }
        }
        if (plots.isNotEmpty()) {
            sb.append("## Plots\n\n")
            for ((title, file) in plots) sb.append("![$title](${file.fileName})\n\n")
        }
        sb.append("Per-run figures: `results.csv`; each run's folder under `runs/` holds its metrics.jsonl, summary.json, " +
            "metrics.png and checkpoint.\n")
        return sb.toString()
    }

    /** A factual sentence comparing sLSTM-containing with mLSTM-only variants (what the paper's claims are about). */
    private fun findings(task: String, a: Ablation, rs: List<RunResult>): String? {
        fun hasS(r: RunResult) = BlockKind.SLSTM in r.run.model.blockMap()
        fun hasM(r: RunResult) = BlockKind.MLSTM in r.run.model.blockMap()
        val field = if (rs.any { !it.num("accuracy_long").isNaN() }) "accuracy_long" else "accuracy"
        val withS = rs.filter { hasS(it) }.map { it.num(field) }
        val mOnly = rs.filter { !hasS(it) }.map { it.num(field) }
        val withM = rs.filter { hasM(it) }.map { it.num("accuracy") }
        val sOnly = rs.filter { !hasM(it) }.map { it.num("accuracy") }
        val parts = mutableListOf<String>()
        if (withS.isNotEmpty() && mOnly.isNotEmpty())
            parts += "Variants with sLSTM blocks reach %s = %.3f on average, mLSTM-only ones %.3f.".format(field, mean(withS), mean(mOnly))
        if (withM.isNotEmpty() && sOnly.isNotEmpty())
            parts += "Variants with mLSTM blocks reach accuracy = %.3f on average, sLSTM-only ones %.3f.".format(mean(withM), mean(sOnly))
        return parts.takeIf { it.isNotEmpty() }?.joinToString(" ")
    }
}
