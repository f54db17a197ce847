package org.xlstm.jvm.cli

import kotlin.system.exitProcess

fun main(args: Array<String>) {
    println("xlstm: placeholder")
    exitProcess(0)
}
