// xLSTM[7:1], 760M size class (mostly mLSTM): a language model of Beck et al., "xLSTM: Extended Long
// Short-Term Memory" (arXiv 2405.04517), trained there on SlimPajama. GPT-3-like sizes with twice the blocks,
// context 2048, vocabulary 50304, 4 heads, untied embedding and LM head, official defaults elsewhere.
// Sources and what was checked: recipes/paper/README.md.
// The paper places its 7:1 sLSTM blocks explicitly: six of 48, at 3, 5, 7, 40, 42 and 44 (near both
// ends of the stack; ratio(7, 1) would spread them as 3, 11, 19, 27, 35, 43).
recipe {
    name = "xLSTM[7:1] 760M"
    description = "xLSTM[7:1] language model, 760M size class (xLSTM paper, SlimPajama experiments)"
    model = xlstm {
        vocabSize = 50304; contextLength = 2048; embeddingDim = 1536
        blocks(48) { slstmAt(3, 5, 7, 40, 42, 44) }
        mlstm { heads = 4 }
        slstm { heads = 4 }
    }
}
