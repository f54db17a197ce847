// xLSTM[1:0], 350M size class (mLSTM blocks only): a language model of Beck et al., "xLSTM: Extended Long
// Short-Term Memory" (arXiv 2405.04517), trained there on SlimPajama. GPT-3-like sizes with twice the blocks,
// context 2048, vocabulary 50304, 4 heads, untied embedding and LM head, official defaults elsewhere.
// Sources and what was checked: recipes/paper/README.md.
recipe {
    name = "xLSTM[1:0] 350M"
    description = "xLSTM[1:0] language model, 350M size class (xLSTM paper, SlimPajama experiments)"
    model = xlstm {
        vocabSize = 50304; contextLength = 2048; embeddingDim = 1024
        blocks(48) { ratio(mLSTM = 1, sLSTM = 0) }
        mlstm { heads = 4 }
    }
}
