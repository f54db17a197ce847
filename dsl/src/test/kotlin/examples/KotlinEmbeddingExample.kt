package examples

import org.xlstm.jvm.api.XlstmModel
import org.xlstm.jvm.dsl.xlstm
import org.xlstm.jvm.generate.GenerationOptions
import java.nio.file.Path

/**
 * A minimal Kotlin application embedding xLSTM models (see docs/embedding.md): one loaded from a checkpoint, one
 * declared with the DSL and freshly initialised. The tests run it on a conformance fixture.
 */
fun main(args: Array<String>) {
    XlstmModel.load(Path.of(args[0])).use { model ->
        val prompt = intArrayOf(1, 2, 3, 4)
        val greedy = model.generate(prompt, GenerationOptions.greedy(8))
        println("greedy: ${greedy.joinToString()}")
        val batch = model.generate(arrayOf(prompt, intArrayOf(5, 6, 7, 8)), GenerationOptions.greedy(4))
        println("batch rows: ${batch.size}")
    }
    // an architecture straight from the DSL, with official initialisation
    val config = xlstm {
        vocabSize = 256; contextLength = 64; embeddingDim = 32
        blocks(2) { ratio(mLSTM = 1, sLSTM = 1) }
        mlstm { heads = 2 }
        slstm { heads = 2 }
    }
    XlstmModel.create(config, 7).use { model ->
        val text = model.generate("xLSTM", GenerationOptions.builder().maxNewTokens(5).seed(1).build())
        println("bytes generated: ${text.toByteArray().size >= 0}")
    }
}
