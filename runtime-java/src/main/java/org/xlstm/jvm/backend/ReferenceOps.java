package org.xlstm.jvm.backend;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import org.xlstm.jvm.config.Activation;
import org.xlstm.jvm.tensor.Tensor;

/**
 * The executable specification: every operation as plain loops, accumulating in double precision, single-threaded,
 * written for obviousness rather than speed. The fast backend is tested against this one on random shapes, and the
 * whole model can run on it (slowly) against the fixtures.
 */
public final class ReferenceOps implements Ops {
    private static final ValueLayout.OfFloat F = ValueLayout.JAVA_FLOAT;

    @Override
    public String name() { return "reference"; }

    private static double rd(Tensor t, long i) { return t.segment().getAtIndex(F, i); }

    private static void wr(Tensor t, long i, double v) { t.segment().setAtIndex(F, i, (float) v); }

    // ---------------------------------------------------------------- dense algebra

    @Override
    public void linear(Tensor x, Tensor w, Tensor b, Tensor y) {
        int in = w.dim(1), out = w.dim(0), rows = x.rows();
        OpChecks.linear(x, w, b, y);
        for (int r = 0; r < rows; r++) {
            for (int o = 0; o < out; o++) {
                double s = b == null ? 0.0 : rd(b, o);
                for (int i = 0; i < in; i++) s += rd(x, (long) r * in + i) * rd(w, (long) o * in + i);
                wr(y, (long) r * out + o, s);
            }
        }
    }

    @Override
    public void matmul(Tensor a, Tensor b, Tensor c) {
        OpChecks.matmul(a, b, c);
        int m = a.dim(0), k = a.dim(1), n = b.dim(1);
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++) {
                double s = 0;
                for (int p = 0; p < k; p++) s += rd(a, (long) i * k + p) * rd(b, (long) p * n + j);
                wr(c, (long) i * n + j, s);
            }
    }

    @Override
    public void linearHeadwise(Tensor x, Tensor w, Tensor b, Tensor y) {
        OpChecks.linearHeadwise(x, w, b, y);
        int heads = w.dim(0), out = w.dim(1), in = w.dim(2), rows = x.rows();
        for (int r = 0; r < rows; r++)
            for (int h = 0; h < heads; h++)
                for (int o = 0; o < out; o++) {
                    double s = b == null ? 0.0 : rd(b, (long) h * out + o);
                    for (int i = 0; i < in; i++)
                        s += rd(x, (long) r * heads * in + (long) h * in + i) * rd(w, ((long) h * out + o) * in + i);
                    wr(y, (long) r * heads * out + (long) h * out + o, s);
                }
    }

    @Override
    public void embedding(int[] tokens, Tensor table, Tensor y) {
        OpChecks.embedding(tokens, table, y);
        int d = table.dim(1);
        for (int r = 0; r < tokens.length; r++)
            MemorySegment.copy(table.segment(), (long) tokens[r] * d * 4, y.segment(), (long) r * d * 4, (long) d * 4);
    }

    // ---------------------------------------------------------------- normalisation

    @Override
    public void layerNorm(Tensor x, Tensor w, Tensor b, float eps, boolean offset, Tensor y) {
        OpChecks.sameShape("layerNorm", x, y);
        int d = x.cols(), rows = x.rows();
        for (int r = 0; r < rows; r++) normalizeSlice(x, y, (long) r * d, d, w, 0, b, eps, offset);
    }

    @Override
    public void rmsNorm(Tensor x, Tensor w, float eps, Tensor y) {
        OpChecks.sameShape("rmsNorm", x, y);
        int d = x.cols(), rows = x.rows();
        for (int r = 0; r < rows; r++) {
            long base = (long) r * d;
            double ss = 0;
            for (int j = 0; j < d; j++) ss += rd(x, base + j) * rd(x, base + j);
            double inv = 1.0 / Math.sqrt(ss / d + eps);
            for (int j = 0; j < d; j++) wr(y, base + j, rd(x, base + j) * inv * (w == null ? 1.0 : rd(w, j)));
        }
    }

    @Override
    public void headLayerNorm(Tensor x, int heads, Tensor w, float eps, boolean offset, Tensor y) {
        OpChecks.sameShape("headLayerNorm", x, y);
        int d = x.cols(), rows = x.rows(), dh = d / heads;
        if (dh * heads != d) throw new IllegalArgumentException("headLayerNorm: " + d + " channels not divisible by " + heads + " heads");
        for (int r = 0; r < rows; r++)
            for (int h = 0; h < heads; h++) normalizeSlice(x, y, (long) r * d + (long) h * dh, dh, w, h * dh, null, eps, offset);
    }

    private static void normalizeSlice(Tensor x, Tensor y, long base, int d, Tensor w, int wOff, Tensor b, float eps, boolean offset) {
        double mean = 0;
        for (int j = 0; j < d; j++) mean += rd(x, base + j);
        mean /= d;
        double var = 0;
        for (int j = 0; j < d; j++) {
            double c = rd(x, base + j) - mean;
            var += c * c;
        }
        var /= d;
        double inv = 1.0 / Math.sqrt(var + eps);
        for (int j = 0; j < d; j++) {
            double scale = w == null ? 1.0 : (offset ? 1.0 + rd(w, wOff + j) : rd(w, wOff + j));
            double v = (rd(x, base + j) - mean) * inv * scale + (b == null ? 0.0 : rd(b, wOff + j));
            wr(y, base + j, v);
        }
    }

    // ---------------------------------------------------------------- elementwise

    @Override
    public void activation(Activation act, Tensor x, Tensor y) {
        OpChecks.sameShape("activation", x, y);
        for (long i = 0; i < x.size(); i++) wr(y, i, ScalarMath.apply(act, rd(x, i)));
    }

    @Override
    public void mulActivated(Tensor x, Activation act, Tensor g, Tensor y) {
        OpChecks.sameShape("mulActivated", x, g);
        OpChecks.sameShape("mulActivated", x, y);
        for (long i = 0; i < x.size(); i++) wr(y, i, rd(x, i) * ScalarMath.apply(act, rd(g, i)));
    }

    @Override
    public void add(Tensor a, Tensor b, Tensor y) {
        OpChecks.sameShape("add", a, b);
        OpChecks.sameShape("add", a, y);
        for (long i = 0; i < a.size(); i++) wr(y, i, rd(a, i) + rd(b, i));
    }

    @Override
    public void addScaled(Tensor a, Tensor w, Tensor b, Tensor y) {
        OpChecks.addScaled(a, w, b, y);
        int c = a.cols();
        for (long i = 0; i < a.size(); i++) wr(y, i, rd(a, i) + rd(w, i % c) * rd(b, i));
    }

    @Override
    public void softCap(Tensor x, float cap, Tensor y) {
        OpChecks.sameShape("softCap", x, y);
        for (long i = 0; i < x.size(); i++) wr(y, i, cap * Math.tanh(rd(x, i) / cap));
    }

    @Override
    public void concatColumns(Tensor[] parts, Tensor y) {
        OpChecks.concat(parts, y);
        int rows = y.rows(), total = y.cols(), off = 0;
        for (Tensor p : parts) {
            int c = p.cols();
            for (int r = 0; r < rows; r++)
                MemorySegment.copy(p.segment(), (long) r * c * 4, y.segment(), ((long) r * total + off) * 4, (long) c * 4);
            off += c;
        }
    }

    // ---------------------------------------------------------------- sequence mixing

    @Override
    public void causalConv1d(Tensor x, Tensor w, Tensor bias, Tensor window, Tensor y) {
        OpChecks.conv(x, w, bias, window, y);
        int batch = x.dim(0), s = x.dim(1), f = x.dim(2), k = w.dim(1), p = k - 1;
        for (int b = 0; b < batch; b++) {
            for (int t = 0; t < s; t++)
                for (int c = 0; c < f; c++) {
                    double acc = bias == null ? 0.0 : rd(bias, c);
                    for (int j = 0; j < k; j++) {
                        int src = t - j;
                        double xv;
                        if (src >= 0) xv = rd(x, ((long) b * s + src) * f + c);
                        else if (window != null) xv = rd(window, ((long) b * p + p + src) * f + c);
                        else xv = 0.0;
                        acc += rd(w, (long) c * k + (k - 1 - j)) * xv;
                    }
                    wr(y, ((long) b * s + t) * f + c, acc);
                }
            if (window != null && p > 0) {
                float[] last = new float[p * f];
                for (int j = 0; j < p; j++) {
                    int src = s - p + j; // position in the concatenation [window, x] shifted by p
                    for (int c = 0; c < f; c++)
                        last[j * f + c] = (float) (src >= 0 ? rd(x, ((long) b * s + src) * f + c)
                                : rd(window, ((long) b * p + p + src) * f + c));
                }
                for (int j = 0; j < p * f; j++) wr(window, (long) b * p * f + j, last[j]);
            }
        }
    }

    @Override
    public void mlstmParallel(Tensor q, Tensor k, Tensor v, Tensor ig, Tensor fg, float eps, Tensor h) {
        MlstmShapes sh = MlstmShapes.of(q, k, v, ig, fg, h, null, null, null);
        int s = sh.seq(), nh = sh.heads(), dk = sh.dqk(), dv = sh.dv();
        double scale = 1.0 / Math.sqrt(dk);
        for (int b = 0; b < sh.batch(); b++)
            for (int hd = 0; hd < nh; hd++) {
                double[] cum = new double[s];
                double acc = 0;
                for (int t = 0; t < s; t++) {
                    acc += ScalarMath.logSigmoid(rd(fg, ((long) b * s + t) * nh + hd));
                    cum[t] = acc;
                }
                for (int t = 0; t < s; t++) {
                    double[] logD = new double[t + 1];
                    double mx = Double.NEGATIVE_INFINITY;
                    for (int u = 0; u <= t; u++) {
                        logD[u] = cum[t] - cum[u] + rd(ig, ((long) b * s + u) * nh + hd);
                        mx = Math.max(mx, logD[u]);
                    }
                    double[] cw = new double[t + 1];
                    double sum = 0;
                    for (int u = 0; u <= t; u++) {
                        double qk = 0;
                        for (int d = 0; d < dk; d++)
                            qk += rd(q, sh.qk(b, t, hd, d)) * rd(k, sh.qk(b, u, hd, d));
                        cw[u] = qk * scale * Math.exp(logD[u] - mx);
                        sum += cw[u];
                    }
                    double norm = Math.max(Math.abs(sum), Math.exp(-mx)) + eps;
                    for (int d = 0; d < dv; d++) {
                        double o = 0;
                        for (int u = 0; u <= t; u++) o += cw[u] / norm * rd(v, sh.v(b, u, hd, d));
                        wr(h, sh.v(b, t, hd, d), o);
                    }
                }
            }
    }

    @Override
    public void mlstmChunkwise(Tensor q, Tensor k, Tensor v, Tensor ig, Tensor fg, Tensor cs, Tensor ns, Tensor ms,
                               int chunk, float eps, Tensor h) {
        MlstmShapes sh = MlstmShapes.of(q, k, v, ig, fg, h, cs, ns, ms);
        if (chunk <= 0) throw new IllegalArgumentException("chunk size must be positive; got " + chunk);
        int s = sh.seq(), nh = sh.heads(), dk = sh.dqk(), dv = sh.dv();
        double scale = 1.0 / Math.sqrt(dk);
        for (int b = 0; b < sh.batch(); b++)
            for (int hd = 0; hd < nh; hd++) {
                double[][] c = new double[dk][dv];
                double[] n = new double[dk];
                long cBase = ((long) b * nh + hd) * dk * dv, nBase = ((long) b * nh + hd) * dk;
                for (int a = 0; a < dk; a++) {
                    n[a] = rd(ns, nBase + a);
                    for (int d = 0; d < dv; d++) c[a][d] = rd(cs, cBase + (long) a * dv + d);
                }
                double m = rd(ms, (long) b * nh + hd);
                for (int t0 = 0; t0 < s; t0 += chunk) {
                    int len = Math.min(chunk, s - t0);
                    double[] bcum = new double[len], iv = new double[len];
                    double acc = 0;
                    for (int j = 0; j < len; j++) {
                        acc += ScalarMath.logSigmoid(rd(fg, ((long) b * s + t0 + j) * nh + hd));
                        bcum[j] = acc;
                        iv[j] = rd(ig, ((long) b * s + t0 + j) * nh + hd);
                    }
                    // outputs of this chunk: intra-chunk parallel part plus the contribution of the carried state
                    for (int t = 0; t < len; t++) {
                        double mIntra = Double.NEGATIVE_INFINITY;
                        for (int u = 0; u <= t; u++) mIntra = Math.max(mIntra, bcum[t] - bcum[u] + iv[u]);
                        double inter = bcum[t] + m;
                        double stab = Math.max(mIntra, inter);
                        double wInter = Math.exp(inter - stab);
                        double den = 0;
                        double[] num = new double[dv];
                        for (int u = 0; u <= t; u++) {
                            double qk = 0;
                            for (int d = 0; d < dk; d++) qk += rd(q, sh.qk(b, t0 + t, hd, d)) * rd(k, sh.qk(b, t0 + u, hd, d));
                            double e = qk * scale * Math.exp(bcum[t] - bcum[u] + iv[u] - stab);
                            den += e;
                            for (int d = 0; d < dv; d++) num[d] += e * rd(v, sh.v(b, t0 + u, hd, d));
                        }
                        if (wInter != 0) {
                            for (int a = 0; a < dk; a++) {
                                double qa = rd(q, sh.qk(b, t0 + t, hd, a)) * wInter;
                                den += qa * n[a];
                                for (int d = 0; d < dv; d++) num[d] += qa * c[a][d];
                            }
                        }
                        double norm = Math.max(Math.abs(den), Math.exp(-stab)) + eps;
                        for (int d = 0; d < dv; d++) wr(h, sh.v(b, t0 + t, hd, d), num[d] / norm);
                    }
                    // carry the state to the end of the chunk
                    double g = bcum[len - 1];
                    double mLoc = Double.NEGATIVE_INFINITY;
                    for (int u = 0; u < len; u++) mLoc = Math.max(mLoc, g - bcum[u] + iv[u]);
                    double mNew = Math.max(g + m, mLoc);
                    double decay = Math.exp(g + m - mNew);
                    for (int a = 0; a < dk; a++) {
                        n[a] *= decay;
                        for (int d = 0; d < dv; d++) c[a][d] *= decay;
                    }
                    for (int u = 0; u < len; u++) {
                        double wu = Math.exp(g - bcum[u] + iv[u] - mNew);
                        for (int a = 0; a < dk; a++) {
                            double ka = rd(k, sh.qk(b, t0 + u, hd, a)) * scale * wu;
                            n[a] += ka;
                            for (int d = 0; d < dv; d++) c[a][d] += ka * rd(v, sh.v(b, t0 + u, hd, d));
                        }
                    }
                    m = mNew;
                }
                for (int a = 0; a < dk; a++) {
                    wr(ns, nBase + a, n[a]);
                    for (int d = 0; d < dv; d++) wr(cs, cBase + (long) a * dv + d, c[a][d]);
                }
                wr(ms, (long) b * nh + hd, m);
            }
    }

    @Override
    public void mlstmRecurrent(Tensor q, Tensor k, Tensor v, Tensor ig, Tensor fg, Tensor cs, Tensor ns, Tensor ms,
                               float eps, Tensor h) {
        MlstmShapes sh = MlstmShapes.of(q, k, v, ig, fg, h, cs, ns, ms);
        int s = sh.seq(), nh = sh.heads(), dk = sh.dqk(), dv = sh.dv();
        double scale = 1.0 / Math.sqrt(dk);
        for (int b = 0; b < sh.batch(); b++)
            for (int hd = 0; hd < nh; hd++) {
                long cBase = ((long) b * nh + hd) * dk * dv, nBase = ((long) b * nh + hd) * dk, mIdx = (long) b * nh + hd;
                for (int t = 0; t < s; t++) {
                    double m = rd(ms, mIdx);
                    double logF = ScalarMath.logSigmoid(rd(fg, ((long) b * s + t) * nh + hd));
                    double i = rd(ig, ((long) b * s + t) * nh + hd);
                    double mNew = Math.max(logF + m, i);
                    double fAct = Math.exp(logF + m - mNew), iAct = Math.exp(i - mNew);
                    double qn = 0;
                    double[] num = new double[dv];
                    for (int a = 0; a < dk; a++) {
                        double ka = rd(k, sh.qk(b, t, hd, a)) * scale;
                        double na = fAct * rd(ns, nBase + a) + iAct * ka;
                        wr(ns, nBase + a, na);
                        double qa = rd(q, sh.qk(b, t, hd, a));
                        qn += qa * na;
                        for (int d = 0; d < dv; d++) {
                            double cv = fAct * rd(cs, cBase + (long) a * dv + d) + iAct * ka * rd(v, sh.v(b, t, hd, d));
                            wr(cs, cBase + (long) a * dv + d, cv);
                            num[d] += qa * cv;
                        }
                    }
                    wr(ms, mIdx, mNew);
                    double norm = Math.max(Math.abs(qn), Math.exp(-mNew)) + eps;
                    for (int d = 0; d < dv; d++) wr(h, sh.v(b, t, hd, d), num[d] / norm);
                }
            }
    }

    @Override
    public void slstmRecurrent(Tensor xi, Tensor xf, Tensor xz, Tensor xo, Tensor r, Tensor bias,
                               Tensor hs, Tensor cs, Tensor ns, Tensor ms, Tensor y) {
        OpChecks.slstm(xi, xf, xz, xo, r, bias, hs, cs, ns, ms, y);
        int batch = xi.dim(0), s = xi.dim(1), nh = r.dim(0), dh = r.dim(1), d = nh * dh;
        Tensor[] xs = {xi, xf, xz, xo};
        for (int b = 0; b < batch; b++)
            for (int hd = 0; hd < nh; hd++) {
                long st = (long) b * d + (long) hd * dh;
                for (int t = 0; t < s; t++) {
                    double[][] raw = new double[4][dh];
                    for (int g = 0; g < 4; g++)
                        for (int j = 0; j < dh; j++) {
                            double a = rd(xs[g], ((long) b * s + t) * d + (long) hd * dh + j) + rd(bias, ((long) hd * 4 + g) * dh + j);
                            for (int kk = 0; kk < dh; kk++)
                                a += rd(r, (((long) hd * dh + kk) * 4 + g) * dh + j) * rd(hs, st + kk);
                            raw[g][j] = a;
                        }
                    boolean fresh = true;
                    for (int j = 0; j < dh; j++) if (rd(ns, st + j) != 0.0) fresh = false;
                    for (int j = 0; j < dh; j++) {
                        double m = rd(ms, st + j), c = rd(cs, st + j), n = rd(ns, st + j);
                        double logFPlusM = m + ScalarMath.logSigmoid(raw[1][j]);
                        double mNew = fresh ? raw[0][j] : Math.max(raw[0][j], logFPlusM);
                        double iAct = Math.min(Math.exp(raw[0][j] - mNew), 1.0);
                        double fAct = Math.min(Math.exp(logFPlusM - mNew), 1.0);
                        double cNew = fAct * c + iAct * Math.tanh(raw[2][j]);
                        double nNew = fAct * n + iAct;
                        double hNew = ScalarMath.sigmoid(raw[3][j]) * cNew / nNew;
                        wr(cs, st + j, cNew);
                        wr(ns, st + j, nNew);
                        wr(ms, st + j, mNew);
                        wr(y, ((long) b * s + t) * d + (long) hd * dh + j, hNew);
                    }
                    // h is the recurrent input of the next step: update it only after all its readers ran
                    for (int j = 0; j < dh; j++) wr(hs, st + j, rd(y, ((long) b * s + t) * d + (long) hd * dh + j));
                }
            }
    }
}
