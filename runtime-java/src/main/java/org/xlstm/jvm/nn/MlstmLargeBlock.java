package org.xlstm.jvm.nn;

import org.xlstm.jvm.backend.Ops;
import org.xlstm.jvm.config.Activation;
import org.xlstm.jvm.config.WeightMode;
import org.xlstm.jvm.config.XlstmLargeConfig;
import org.xlstm.jvm.tensor.Tensor;
import org.xlstm.jvm.tensor.Workspace;

/**
 * xLSTM-7B block (official xlstm_large mLSTMBlock): x + mLSTMLayer(RMSNorm(x)), then x + FFN(RMSNorm(x)) with the
 * SiLU-gated feed-forward {@code proj_up_gate}, {@code proj_up} → {@code proj_down} (fused mode: {@code proj_up_gate_z}).
 */
public final class MlstmLargeBlock implements TrainableBlock {
    private final RmsNorm normMlstm, normFfn;
    private final MlstmLargeLayer layer;
    private final GatedFeedForward ffn;

    private MlstmLargeBlock(RmsNorm normMlstm, MlstmLargeLayer layer, RmsNorm normFfn, GatedFeedForward ffn) {
        this.normMlstm = normMlstm;
        this.layer = layer;
        this.normFfn = normFfn;
        this.ffn = ffn;
    }

    /** @param prefix e.g. {@code backbone.blocks.0} */
    public static MlstmLargeBlock load(ParamSource p, String prefix, XlstmLargeConfig c, int chunkSize) {
        int d = c.embeddingDim(), h = c.ffnHiddenDim();
        float eps = (float) c.normEps();
        boolean bias = c.useBias();
        RmsNorm n1 = RmsNorm.load(p, prefix + ".norm_mlstm", d, eps, bias);
        MlstmLargeLayer layer = MlstmLargeLayer.load(p, prefix + ".mlstm_layer", c, chunkSize);
        RmsNorm n2 = RmsNorm.load(p, prefix + ".norm_ffn", d, eps, bias);
        Linear gate, up;
        if (c.weightMode() == WeightMode.FUSED) {
            Linear gz = Linear.load(p, prefix + ".ffn.proj_up_gate_z", 2 * h, d, bias, Init.torchDefault(d));
            // views of the fused official tensor: training updates it, and its gradient, in place
            gate = new Linear(gz.weight().slice(0, h), bias ? gz.bias().slice(0, h) : null);
            up = new Linear(gz.weight().slice(h, 2 * h), bias ? gz.bias().slice(h, 2 * h) : null);
        } else {
            gate = Linear.load(p, prefix + ".ffn.proj_up_gate", h, d, bias, Init.torchDefault(d));
            up = Linear.load(p, prefix + ".ffn.proj_up", h, d, bias, Init.torchDefault(d));
        }
        Linear down = Linear.load(p, prefix + ".ffn.proj_down", d, h, bias, Init.torchDefault(h));
        return new MlstmLargeBlock(n1, layer, n2, new GatedFeedForward(gate, up, down, Activation.SWISH));
    }

    @Override
    public BlockState newState(Ops ops, int batch) { return layer.newState(ops, batch); }

    @Override
    public void forward(Ops ops, Workspace ws, Tensor x, BlockState state, Mode mode, Tensor out) {
        if (mode == Mode.STEP) ffn.hintDownWeights(ops);   // the mLSTM step may ask for them meanwhile
        layer.forward(ops, ws, x, normMlstm, (MlstmState) state, mode, x, out);   // out = x + mLSTM(norm(x))
        ffn.forwardResidual(ops, ws, out, normFfn, out, out);                    // out += FFN(norm(out))
    }

    // ---------------------------------------------------------------- training

    private record Tape(Tensor x, MlstmLargeLayer.Tape layer, Tensor mid, GatedFeedForward.Tape ffn) implements BlockTape {}

    @Override
    public BlockTape forwardTrain(Training tr, Tensor x, Tensor out) {
        Ops ops = tr.ops();
        Workspace ws = tr.ws();
        Tensor n = ws.take(x.shape()), mid = ws.take(x.shape());
        normMlstm.forward(ops, x, n);
        MlstmLargeLayer.Tape lt = layer.forwardTrain(tr, n, mid);
        ops.add(mid, x, mid);
        Tensor n2 = ws.take(x.shape());
        normFfn.forward(ops, mid, n2);
        GatedFeedForward.Tape ft = ffn.forwardTrain(tr, n2, out, 0f);
        ops.add(out, mid, out);
        return new Tape(x, lt, mid, ft);
    }

    @Override
    public void backward(Training tr, BlockTape tape, Tensor dOut, Tensor dx) {
        Tape t = (Tape) tape;
        Workspace ws = tr.ws();
        Tensor dn2 = ws.take(dOut.shape()), dMid = ws.take(dOut.shape());
        ffn.backward(tr, t.ffn(), dOut, dn2, false);
        tr.ops().copy(dOut, dMid);
        normFfn.backward(tr, t.mid(), dn2, dMid, true);
        Tensor dn = ws.take(dOut.shape());
        layer.backward(tr, t.layer(), dMid, dn);
        tr.ops().copy(dMid, dx);
        normMlstm.backward(tr, t.x(), dn, dx, true);
    }
}
