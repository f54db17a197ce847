package org.xlstm.jvm.nn;

import org.xlstm.jvm.backend.Ops;
import org.xlstm.jvm.config.FeedForwardConfig;
import org.xlstm.jvm.config.SlstmLayerConfig;
import org.xlstm.jvm.tensor.Tensor;
import org.xlstm.jvm.tensor.Workspace;

/** sLSTM block (official sLSTMBlock): x + sLSTMLayer(LayerNorm(x)), then x + FFN(LayerNorm(x)) if configured. */
public final class SlstmBlock implements Block {
    private final LayerNorm norm, ffnNorm;
    private final SlstmLayer layer;
    private final GatedFeedForward ffn;

    private SlstmBlock(LayerNorm norm, SlstmLayer layer, LayerNorm ffnNorm, GatedFeedForward ffn) {
        this.norm = norm;
        this.layer = layer;
        this.ffnNorm = ffnNorm;
        this.ffn = ffn;
    }

    public static SlstmBlock load(ParamSource p, String prefix, int dim, SlstmLayerConfig c, FeedForwardConfig ff,
                                  int blockIdx, int numBlocks) {
        LayerNorm norm = LayerNorm.xlstm(p, prefix + ".xlstm_norm", dim, false);
        SlstmLayer layer = SlstmLayer.load(p, prefix + ".xlstm", dim, c, blockIdx, numBlocks);
        LayerNorm ffnNorm = null;
        GatedFeedForward ffn = null;
        if (ff != null) {
            ffnNorm = LayerNorm.xlstm(p, prefix + ".ffn_norm", dim, false);
            ffn = GatedFeedForward.xlstm(p, prefix + ".ffn", dim, ff.hiddenDim(dim), ff.bias(), ff.actFn(), numBlocks);
        }
        return new SlstmBlock(norm, layer, ffnNorm, ffn);
    }

    @Override
    public BlockState newState(int batch) { return layer.newState(batch); }

    @Override
    public void forward(Ops ops, Workspace ws, Tensor x, BlockState state, Mode mode, Tensor out) {
        Tensor n = ws.take(x.shape());
        norm.forward(ops, x, n);
        layer.forward(ops, ws, n, (SlstmLayer.State) state, out);
        ops.add(out, x, out);
        if (ffn != null) {
            Tensor n2 = ws.take(x.shape()), f = ws.take(x.shape());
            ffnNorm.forward(ops, out, n2);
            ffn.forward(ops, ws, n2, f);
            ops.add(out, f, out);
        }
    }
}
