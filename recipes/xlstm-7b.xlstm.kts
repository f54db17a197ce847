// xLSTM-7B (Beck et al. 2025, "xLSTM 7B: A Recurrent LLM for Fast and Efficient Inference", arXiv 2503.13427):
// the official xlstm_large architecture, published as NX-AI/xLSTM-7b. Every block is an mLSTM layer followed by a
// SwiGLU feed-forward; all values not written here are the official defaults (qk_dim_factor 0.5, v_dim_factor 1,
// ffn_proj_factor 2.6667, gate soft cap 15, output logit soft cap 30, chunk size 64, weight mode "single").
recipe {
    name = "xLSTM-7B"
    description = "xLSTM 7B (official xlstm_large defaults)"
    model = xlstmLarge {
        embeddingDim = 4096
        heads = 8
        blocks = 32
        vocabSize = 50304
    }
}
