package org.xlstm.jvm.nn;

import org.xlstm.jvm.backend.Ops;
import org.xlstm.jvm.config.FeedForwardConfig;
import org.xlstm.jvm.config.SlstmLayerConfig;
import org.xlstm.jvm.tensor.Tensor;
import org.xlstm.jvm.tensor.Workspace;

/** sLSTM block (official sLSTMBlock): x + sLSTMLayer(LayerNorm(x)), then x + FFN(LayerNorm(x)) if configured. */
public final class SlstmBlock implements TrainableBlock {
    private final LayerNorm norm, ffnNorm;
    private final SlstmLayer layer;
    private final GatedFeedForward ffn;
    /** The feed-forward's own dropout (official FeedForwardConfig.dropout, not the top-level one; 0 by default). */
    private final float ffnDropout;

    private SlstmBlock(LayerNorm norm, SlstmLayer layer, LayerNorm ffnNorm, GatedFeedForward ffn, float ffnDropout) {
        this.norm = norm;
        this.layer = layer;
        this.ffnNorm = ffnNorm;
        this.ffn = ffn;
        this.ffnDropout = ffnDropout;
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
        float ffDrop = ff != null && ff.extras().get("dropout") instanceof Number n ? n.floatValue() : 0f;
        return new SlstmBlock(norm, layer, ffnNorm, ffn, ffDrop);
    }

    @Override
    public BlockState newState(Ops ops, int batch) { return layer.newState(ops, batch); }

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

    // ---------------------------------------------------------------- training

    private record Tape(Tensor x, Tensor normed, SlstmLayer.Tape layer, Tensor mid, Tensor midNormed,
                        GatedFeedForward.Tape ffn) implements BlockTape {}

    @Override
    public BlockTape forwardTrain(Training tr, Tensor x, Tensor out) {
        Tensor n = tr.ws().take(x.shape());
        norm.forward(tr.ops(), x, n);
        if (ffn == null) {
            SlstmLayer.Tape lt = layer.forwardTrain(tr, n, out, tr.dropout());
            tr.ops().add(out, x, out);
            return new Tape(x, n, lt, null, null, null);
        }
        Tensor mid = tr.ws().take(x.shape());
        SlstmLayer.Tape lt = layer.forwardTrain(tr, n, mid, tr.dropout());
        tr.ops().add(mid, x, mid);
        Tensor n2 = tr.ws().take(x.shape());
        ffnNorm.forward(tr.ops(), mid, n2);
        GatedFeedForward.Tape ft = ffn.forwardTrain(tr, n2, out, ffnDropout);
        tr.ops().add(out, mid, out);
        return new Tape(x, n, lt, mid, n2, ft);
    }

    @Override
    public void backward(Training tr, BlockTape tape, Tensor dOut, Tensor dx) {
        Tape t = (Tape) tape;
        Tensor dMid = dOut;
        if (ffn != null) {
            Tensor dn2 = tr.ws().take(dOut.shape());
            ffn.backward(tr, t.ffn(), dOut, dn2, false);
            dMid = tr.ws().take(dOut.shape());
            tr.ops().copy(dOut, dMid);
            ffnNorm.backward(tr, t.mid(), dn2, dMid, true);
        }
        Tensor dn = tr.ws().take(dOut.shape());
        layer.backward(tr, t.layer(), dMid, dn);
        tr.ops().copy(dMid, dx);
        norm.backward(tr, t.x(), dn, dx, true);
    }
}
