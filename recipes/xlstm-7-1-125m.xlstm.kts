// The xLSTM[7:1] language model of the xLSTM paper (Beck et al. 2024), 125M size class, with every setting
// written out. It is the same model as paper/xlstm-7-1-125m.xlstm.kts, which leaves the defaults implicit.
//
//   ./xlstm summary recipes/xlstm-7-1-125m.xlstm.kts          parameters, FLOPs, state and weight sizes
//   ./xlstm config recipes/xlstm-7-1-125m.xlstm.kts --format yaml   the official config, for the PyTorch code
//
// The DSL is described in docs/dsl-reference.md.
recipe {
    name = "xLSTM[7:1] 125M"
    description = "xLSTM[7:1] language model, 125M size class, all settings spelled out"
    model = xlstm {
        vocabSize = 50304          // GPT-NeoX tokenizer
        contextLength = 2048
        embeddingDim = 768

        // 24 blocks; the paper puts its two sLSTM blocks at 3 and 20 ("mmms mmmm mmmm mmmm mmmm smmm").
        blocks(24) { slstmAt(3, 20) }

        mlstm {
            heads = 4
            projFactor = 2.0       // inner dimension 2·768 = 1536
            convKernel = 4
            qkvBlockSize = 4
        }
        slstm {
            heads = 4
            convKernel = 4
            backend = CUDA         // stored layout of the recurrent kernel; the math is the same
            biasInit = BiasInit.POWERLAW_BLOCKDEPENDENT
            feedForward {
                projFactor = 1.3   // hidden 1.3·768 rounded up to a multiple of 64 = 1024
                activation = GELU
            }
        }

        tieWeights = false         // the paper's counts have a separate LM head
        bias = false
        dropout = 0.0
        postBlocksNorm = true
    }
}
