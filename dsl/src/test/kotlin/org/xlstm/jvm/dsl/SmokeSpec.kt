package org.xlstm.jvm.dsl

import io.kotest.core.spec.style.FunSpec
import io.kotest.matchers.shouldBe
import org.xlstm.jvm.config.BlockPlacement

class SmokeSpec : FunSpec({
    test("java config model is reachable from kotlin") {
        BlockPlacement.ratio(1, 1, 2) shouldBe listOf(0)
    }
})
