package org.xlstm.jvm.cli

import kotlin.system.exitProcess

/** Entry point of the `xlstm` launcher. */
fun main(args: Array<String>) {
    exitProcess(Cli.run(args))
}
