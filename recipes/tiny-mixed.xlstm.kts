// A tiny mixed stack for quick experiments on a laptop: 4 blocks of width 64, the sLSTM block second
// ("msmm" = xLSTM[3:1]). Same architecture as the conformance fixture mixed_4blk.
xlstm {
    vocabSize = 64; contextLength = 32; embeddingDim = 64
    blocks(4) { ratio(mLSTM = 3, sLSTM = 1) }
    mlstm { heads = 4 }
    slstm { heads = 4; backend = VANILLA }
}
