package org.xlstm.jvm.summary;

import org.xlstm.jvm.config.BlockKind;
import org.xlstm.jvm.config.FeedForwardConfig;
import org.xlstm.jvm.config.MlstmLayerConfig;
import org.xlstm.jvm.config.ModelConfig;
import org.xlstm.jvm.config.SlstmLayerConfig;
import org.xlstm.jvm.config.XlstmConfig;
import org.xlstm.jvm.config.XlstmLargeConfig;

/**
 * Forward FLOPs per token and recurrent state per block, by the conventions stated on {@link ModelSummary}:
 * 2 FLOPs per multiply-add of every matrix product (dense and block-diagonal projections, depthwise convolutions,
 * the sLSTM recurrent matrices, the mLSTM cell's q·kᵀ and weights·v products, the lm_head); element-wise work
 * (norms, activations, gating, exponentials) is not counted. The mLSTM cell is costed in its parallel form over a
 * sequence of S tokens with the causal mask honoured: token t (1-based) meets t keys, so on average (S + 1)/2.
 */
final class Costs {
    private Costs() {}

    static final int FP32 = 4;

    static long blockFlops(ModelConfig config, int i, int seqLen) {
        return switch (config) {
            case XlstmConfig c -> c.blockMap().get(i) == BlockKind.MLSTM ? mlstmFlops(c, seqLen) : slstmFlops(c);
            case XlstmLargeConfig c -> largeFlops(c, seqLen);
        };
    }

    /** Scalars of recurrent state a block carries from one token to the next, per sequence. */
    static long blockStateScalars(ModelConfig config, int i) {
        return switch (config) {
            case XlstmConfig c -> c.blockMap().get(i) == BlockKind.MLSTM ? mlstmState(c) : slstmState(c);
            case XlstmLargeConfig c -> (long) c.numHeads() * ((long) c.qkHeadDim() * c.vHeadDim() + c.qkHeadDim() + 1);
        };
    }

    static long lmHeadFlops(ModelConfig c) { return 2L * c.embeddingDim() * c.vocabSize(); }

    // mLSTM block: proj_up (2u×D), conv (K per channel), q/k (block-diagonal bs×bs on c), v (on x_m),
    // i/f gates (NH×3u), cell, proj_down (D×u).
    private static long mlstmFlops(XlstmConfig c, int seqLen) {
        long d = c.embeddingDim();
        MlstmLayerConfig m = c.mlstmBlock().mlstm();
        long u = m.innerDim(c.embeddingDim());
        long macs = d * 2 * u
                + m.conv1dKernelSize() * u
                + 3 * u * m.qkvProjBlocksize()
                + 2 * 3 * u * m.numHeads()
                + u * d;
        return 2 * macs + cellFlops(m.numHeads(), u / m.numHeads(), u / m.numHeads(), seqLen);
    }

    // sLSTM block: conv (K per channel), four block-diagonal gate projections (NH blocks of DH×DH),
    // recurrent matrices (4 gates, NH heads, DH×DH), then the gated feed-forward (2H×D up, D×H down).
    private static long slstmFlops(XlstmConfig c) {
        long d = c.embeddingDim();
        SlstmLayerConfig s = c.slstmBlock().slstm();
        long dh = d / s.numHeads();
        long macs = s.conv1dKernelSize() * d + 4 * d * dh + 4 * d * dh;
        FeedForwardConfig f = c.slstmBlock().feedforward();
        if (f != null) {
            long h = f.hiddenDim(c.embeddingDim());
            macs += d * 2 * h + h * d;
        }
        return 2 * macs;
    }

    // xLSTM-7B block: q, k (qk×D), v, o (v×D), i, f (NH×D), cell, out_proj (D×v), FFN gate and up (H×D each),
    // down (D×H). "fused" stores the same products in fewer tensors: same count.
    private static long largeFlops(XlstmLargeConfig c, int seqLen) {
        long d = c.embeddingDim(), qk = c.qkDim(), v = c.vDim(), nh = c.numHeads(), h = c.ffnHiddenDim();
        long macs = d * (2 * qk + 2 * v + 2 * nh)
                + v * d
                + 3 * d * h;
        return 2 * macs + cellFlops(nh, c.qkHeadDim(), c.vHeadDim(), seqLen);
    }

    /**
     * FLOPs per token of the causal parallel mLSTM cell, all heads: q·kᵀ (DHQK multiply-adds per key) and the
     * weighted sum of values (DHV per key) over (S + 1)/2 keys on average, 2 FLOPs each:
     * NH·(S + 1)·(DHQK + DHV).
     */
    static long cellFlops(long heads, long dhqk, long dhv, int seqLen) {
        return heads * (seqLen + 1L) * (dhqk + dhv);
    }

    // C (NH·DH·DH), n (NH·DH), m (NH), and the conv window: the K−1 previous inputs of width u.
    private static long mlstmState(XlstmConfig c) {
        MlstmLayerConfig m = c.mlstmBlock().mlstm();
        long u = m.innerDim(c.embeddingDim());
        long nh = m.numHeads(), dh = u / nh;
        return nh * dh * dh + nh * dh + nh + (m.conv1dKernelSize() - 1L) * u;
    }

    // h, c, n, m (D each) and the conv window: the K−1 previous inputs of width D.
    private static long slstmState(XlstmConfig c) {
        long d = c.embeddingDim();
        int k = c.slstmBlock().slstm().conv1dKernelSize();
        return 4 * d + Math.max(0, k - 1L) * d;
    }
}
