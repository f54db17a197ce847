package org.xlstm.jvm.cli

import io.kotest.core.spec.style.FunSpec
import io.kotest.matchers.shouldBe
import io.kotest.matchers.string.shouldContain
import io.kotest.matchers.string.shouldStartWith

class RootCommandSpec : FunSpec({
    test("--help lists the options and exits 0") {
        val r = xlstm("--help")
        r.exit shouldBe 0
        r.out shouldContain "Usage: xlstm"
        r.out shouldContain "--debug"
        r.err shouldBe ""
    }

    test("no command prints the help too") {
        xlstm().out shouldContain "Usage: xlstm"
    }

    test("--version names the project version from the build") {
        val r = xlstm("--version")
        r.exit shouldBe 0
        r.out shouldStartWith "xlstm-jvm "
        // Surefire passes the pom's version; the command reads it from a resource filtered at build time.
        r.out.lineSequence().first() shouldBe "xlstm-jvm " + System.getProperty("xlstm.version")
    }

    test("every command has help and the version") {
        for (command in listOf("summary", "config")) {
            xlstm(command, "--help").let {
                it.exit shouldBe 0
                it.out shouldStartWith "Usage: xlstm $command"
                it.out shouldContain "MODEL"
            }
            xlstm(command, "--version").out shouldStartWith "xlstm-jvm " + System.getProperty("xlstm.version")
        }
        xlstm("--help").out shouldContain "Commands:"
    }

    test("an unknown option is a usage error: exit 2, message and usage on stderr") {
        val r = xlstm("--frobnicate")
        r.exit shouldBe Cli.EXIT_USAGE
        r.err shouldStartWith "xlstm: Unknown option: '--frobnicate'"
        r.err shouldContain "Usage: xlstm"
        r.out shouldBe ""
    }
})
