// The paper's ratio ablation in miniature: mLSTM-only, sLSTM-only and mixed stacks on parity (state tracking, where
// sLSTM should generalise to longer sequences and mLSTM should not) and on multi-query associative recall (memory,
// where mLSTM's matrix memory should be strong). Small enough for 2 CPU cores in about half an hour.
// Run it with:  ./xlstm ablate recipes/ablations/ratio-formal-languages.xlstm.kts --out runs/ratio
ablation {
    name = "xLSTM ratio on formal languages"
    base {
        embeddingDim = 64
        contextLength = 256
        blocks(2)
        mlstm { heads = 1 }
        slstm { heads = 1 }
    }
    vary {
        ratio(mLSTM = 1, sLSTM = 0)   // xLSTM[1:0]: mLSTM only
        ratio(mLSTM = 0, sLSTM = 1)   // xLSTM[0:1]: sLSTM only
        ratio(mLSTM = 1, sLSTM = 1)   // xLSTM[1:1]: one of each
    }
    tasks("parity", "mqar")
    seeds(2)
    training {
        steps = 800
        batchSize = 32
        lr = 3e-3
        warmupSteps = 50
        weightDecay = 0.1
        gradClip = 1.0
        evalEvery = 200
        evalBatches = 4
        mqar(vocabSize = 64, sequenceLength = 64, kvPairs = 4)
    }
}
