// xLSTM[7:1], 125M size class (mostly mLSTM): a language model of Beck et al., "xLSTM: Extended Long
// Short-Term Memory" (arXiv 2405.04517), trained there on SlimPajama. GPT-3-like sizes with twice the blocks,
// context 2048, vocabulary 50304, 4 heads, untied embedding and LM head, official defaults elsewhere.
// Sources and what was checked: recipes/paper/README.md.
// The paper places its 7:1 sLSTM blocks explicitly. At 24 blocks it uses two of them, at 3 and 20
// (ratio(7, 1) would give three: 3, 11 and 19).
recipe {
    name = "xLSTM[7:1] 125M"
    description = "xLSTM[7:1] language model, 125M size class (xLSTM paper, SlimPajama experiments)"
    model = xlstm {
        vocabSize = 50304; contextLength = 2048; embeddingDim = 768
        blocks(24) { slstmAt(3, 20) }
        mlstm { heads = 4 }
        slstm { heads = 4 }
    }
}
