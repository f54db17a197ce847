@file:JvmName("Models")

package org.xlstm.jvm.dsl

import org.xlstm.jvm.config.XlstmConfig
import org.xlstm.jvm.config.XlstmLargeConfig

/**
 * The xLSTM language model of the paper (official `xLSTMLMModelConfig`).
 *
 * ```
 * xlstm {
 *     vocabSize = 50304; contextLength = 2048; embeddingDim = 768
 *     blocks(24) { ratio(mLSTM = 7, sLSTM = 1) }
 *     mlstm { heads = 4 }
 * }
 * ```
 * Builds through [org.xlstm.jvm.config.XlstmConfigBuilder], so every rule is checked in one place; an impossible
 * architecture throws [org.xlstm.jvm.config.ConfigException] naming each broken rule.
 */
fun xlstm(configure: XlstmScope.() -> Unit): XlstmConfig = XlstmScope().apply(configure).build()

/**
 * The xLSTM-7B architecture (official `xlstm_large`). Every field starts at the official default, so
 * `xlstmLarge { }` alone is xLSTM-7B (D = 4096, 8 heads, 32 blocks, vocabulary 50304).
 */
fun xlstmLarge(configure: XlstmLargeScope.() -> Unit): XlstmLargeConfig = XlstmLargeScope().apply(configure).build()
