package org.xlstm.jvm.cli

/**
 * The subcommands of `xlstm`, in the order `xlstm --help` lists them. A new command is one file holding a picocli
 * `@Command` class (see [SummaryCommand]) plus one line here.
 */
internal val subcommands: List<() -> Any> = listOf(
    ::SummaryCommand,
    ::ConfigCommand,
    ::LogitsCommand,
    ::ConformanceCommand,
    ::BenchCommand,
    ::GenerateCommand,
    ::TrainCommand,
    ::AblateCommand,
)
