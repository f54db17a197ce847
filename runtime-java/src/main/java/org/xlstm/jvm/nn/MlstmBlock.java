package org.xlstm.jvm.nn;

import org.xlstm.jvm.backend.Ops;
import org.xlstm.jvm.config.MlstmLayerConfig;
import org.xlstm.jvm.tensor.Tensor;
import org.xlstm.jvm.tensor.Workspace;

/** mLSTM block (official mLSTMBlock): x + mLSTMLayer(LayerNorm(x)); no feed-forward. */
public final class MlstmBlock implements TrainableBlock {
    private final LayerNorm norm;
    private final MlstmLayer layer;

    private MlstmBlock(LayerNorm norm, MlstmLayer layer) {
        this.norm = norm;
        this.layer = layer;
    }

    /** @param prefix e.g. {@code xlstm_block_stack.blocks.0} */
    public static MlstmBlock load(ParamSource p, String prefix, int dim, MlstmLayerConfig c, boolean bias,
                                  int numBlocks, int chunkSize) {
        LayerNorm norm = LayerNorm.xlstm(p, prefix + ".xlstm_norm", dim, false);
        MlstmLayer layer = MlstmLayer.load(p, prefix + ".xlstm", dim, c.innerDim(dim), c.numHeads(),
                c.conv1dKernelSize(), c.qkvProjBlocksize(), bias, numBlocks, chunkSize);
        return new MlstmBlock(norm, layer);
    }

    @Override
    public BlockState newState(Ops ops, int batch) { return layer.newState(ops, batch); }

    @Override
    public void forward(Ops ops, Workspace ws, Tensor x, BlockState state, Mode mode, Tensor out) {
        Tensor n = ws.take(x.shape());
        norm.forward(ops, x, n);
        layer.forward(ops, ws, n, (MlstmLayer.State) state, mode, out);
        ops.add(out, x, out);
    }

    // ---------------------------------------------------------------- training

    private record Tape(Tensor x, Tensor normed, MlstmLayer.Tape layer) implements BlockTape {}

    @Override
    public BlockTape forwardTrain(Training tr, Tensor x, Tensor out) {
        Tensor n = tr.ws().take(x.shape());
        norm.forward(tr.ops(), x, n);
        MlstmLayer.Tape lt = layer.forwardTrain(tr, n, out, tr.dropout());
        tr.ops().add(out, x, out);
        return new Tape(x, n, lt);
    }

    @Override
    public void backward(Training tr, BlockTape tape, Tensor dOut, Tensor dx) {
        Tape t = (Tape) tape;
        Tensor dn = tr.ws().take(dOut.shape());
        layer.backward(tr, t.layer(), dOut, dn);
        tr.ops().copy(dOut, dx);   // the residual path
        norm.backward(tr, t.x(), dn, dx, true);
    }
}
