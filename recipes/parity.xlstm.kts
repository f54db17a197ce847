// Parity (the formal-language task of the xLSTM paper): is the number of 2s in a sequence even?
// The model is the official experiments/parity_xlstm11.yaml one, xLSTM[1:1] with 2 blocks of width 64, one head.
// sLSTM's state tracking solves parity and extrapolates to longer sequences; mLSTM-only stacks do not.
// Train it with:  ./xlstm train recipes/parity.xlstm.kts
recipe {
    name = "parity xLSTM[1:1]"
    description = "official parity model (experiments/parity_xlstm11.yaml), trained on lengths 3-40, evaluated on 40-256"
    model = xlstm {
        vocabSize = 3
        contextLength = 256
        embeddingDim = 64
        blocks(2) { slstmAt(1) }
        mlstm { heads = 1 }
        slstm { heads = 1 }
    }
    training {
        task = "parity"
        steps = 1500
        batchSize = 64
        lr = 3e-3
        warmupSteps = 100
        weightDecay = 0.1
        gradClip = 1.0
        seed = 42
        evalEvery = 250
        evalBatches = 4
    }
}
