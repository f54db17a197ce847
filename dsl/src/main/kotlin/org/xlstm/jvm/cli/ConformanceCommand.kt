package org.xlstm.jvm.cli

import org.xlstm.jvm.backend.ReferenceOps
import org.xlstm.jvm.backend.cpu.CpuOps
import org.xlstm.jvm.conformance.CheckResult
import org.xlstm.jvm.conformance.Conformance
import org.xlstm.jvm.conformance.ConformanceReport
import picocli.CommandLine.Command
import picocli.CommandLine.Model.CommandSpec
import picocli.CommandLine.Option
import picocli.CommandLine.Parameters
import picocli.CommandLine.Spec
import java.nio.file.Files
import java.nio.file.Path
import java.util.concurrent.Callable

/** `xlstm conformance DIR`: every fixture case against the official reference values. */
@Command(
    name = "conformance",
    mixinStandardHelpOptions = true,
    description = [
        "Run the conformance cases under DIR (each a folder with config.json, model.safetensors and " +
            "expected.safetensors, or DIR itself) and print one row per checked quantity: case, quantity, " +
            "normwise relative error, tolerance, passed. Quantities not supported yet are listed as skipped.",
        "Exit status 1 if any check fails or no case is found.",
    ],
)
class ConformanceCommand : Callable<Int> {
    @Spec
    lateinit var spec: CommandSpec

    @Parameters(index = "0", paramLabel = "DIR", description = ["Fixtures folder, or one case folder."])
    lateinit var dir: Path

    @Option(names = ["--json"], description = ["Print one JSON array of {case, quantity, error, tolerance, passed}."])
    var json: Boolean = false

    @Option(names = ["--backend", "--device"], paramLabel = "NAME", defaultValue = "cpu",
        description = ["cpu (Vector API, default), reference (plain double-precision loops, slow), cuda " +
            "(float32 on the GPU, tolerance 1e-4), cuda-tf32, or cuda-bf16 (bf16 products, tolerance 2e-2)."])
    var backend: String = "cpu"

    override fun call(): Int {
        if (!Files.isDirectory(dir)) throw CliException("$dir: no such folder")
        val ops = when (backend.lowercase()) {
            "cpu" -> { { CpuOps() } }
            "reference" -> { { ReferenceOps() } }
            else -> if (backend.lowercase().startsWith("cuda")) {
                val gpu = try {
                    org.xlstm.jvm.backend.Backends.create(backend)
                } catch (e: RuntimeException) {
                    throw CliException("--device $backend: ${e.message}")
                }
                ({ gpu })
            } else throw CliException("--device must be cpu, reference, cuda, cuda-tf32 or cuda-bf16; got $backend")
        }
        val out = spec.commandLine().out
        val err = spec.commandLine().err
        if (Conformance.findCases(dir).isEmpty()) {
            if (json) out.println("[]")
            err.println("xlstm: no conformance case under $dir (a case is a folder with config.json, " +
                "model.safetensors and expected.safetensors)")
            return Cli.EXIT_BAD_INPUT
        }
        val results = Conformance.run(dir, ops)
        out.print(if (json) ConformanceReport.json(results) + "\n" else ConformanceReport.table(results))
        out.flush()
        val failed = results.count { it.status() == CheckResult.Status.FAILED }
        if (!json) {
            val passed = results.count { it.status() == CheckResult.Status.PASSED }
            val skipped = results.count { it.status() == CheckResult.Status.SKIPPED }
            out.println()
            out.println("$passed passed, $failed failed, $skipped skipped or reported without a verdict (see their notes)")
        }
        return if (failed == 0) Cli.EXIT_OK else Cli.EXIT_BAD_INPUT
    }
}
