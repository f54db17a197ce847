package org.xlstm.jvm.dsl

/**
 * Marks the receivers of the architecture DSL. Without it, a `heads = 4` written inside `feedForward { }` would
 * silently resolve to the enclosing `slstm { }` scope; with it the compiler rejects the line.
 */
@DslMarker
@Target(AnnotationTarget.CLASS, AnnotationTarget.TYPE)
annotation class XlstmDsl
