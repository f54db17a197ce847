package org.xlstm.jvm.cli

import java.io.PrintWriter
import java.io.StringWriter

/** One in-process run of the command line. */
internal data class CliRun(val exit: Int, val out: String, val err: String)

internal fun xlstm(vararg args: String): CliRun {
    val out = StringWriter()
    val err = StringWriter()
    val code = Cli.run(arrayOf(*args), PrintWriter(out, true), PrintWriter(err, true))
    return CliRun(code, out.toString(), err.toString())
}
