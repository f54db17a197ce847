package org.xlstm.jvm.backend;

import java.lang.foreign.ValueLayout;
import org.xlstm.jvm.config.Activation;
import org.xlstm.jvm.tensor.Tensor;

/**
 * The executable specification of the backward pass: every gradient as plain loops in double precision,
 * single-threaded, written to be read. Its formulas are checked against finite differences of {@link ReferenceOps};
 * the fast backend is checked against it.
 */
public final class ReferenceGradOps implements GradOps {
    private static final ValueLayout.OfFloat F = ValueLayout.JAVA_FLOAT;

    @Override
    public String name() { return "reference"; }

    private static double rd(Tensor t, long i) { return t.segment().getAtIndex(F, i); }

    private static void wr(Tensor t, long i, double v) { t.segment().setAtIndex(F, i, (float) v); }

    /** t[i] += v (parameter gradients accumulate). */
    private static void acc(Tensor t, long i, double v) { wr(t, i, rd(t, i) + v); }

    /** Writes or accumulates an activation gradient. */
    private static void put(Tensor t, long i, double v, boolean accumulate) { wr(t, i, accumulate ? rd(t, i) + v : v); }

    // ---------------------------------------------------------------- dense algebra

    @Override
    public void linearBackward(Tensor x, Tensor w, Tensor dy, Tensor dx, boolean accumulateDx, Tensor dw, Tensor db) {
        OpChecks.linear(x, w, db, dy);
        int in = w.dim(1), out = w.dim(0), rows = x.rows();
        if (dx != null) {
            OpChecks.sameShape("linearBackward", x, dx);
            double[] vals = new double[in];
            for (int r = 0; r < rows; r++) {
                java.util.Arrays.fill(vals, 0);
                for (int o = 0; o < out; o++) {
                    double g = rd(dy, (long) r * out + o);
                    for (int i = 0; i < in; i++) vals[i] += g * rd(w, (long) o * in + i);
                }
                for (int i = 0; i < in; i++) put(dx, (long) r * in + i, vals[i], accumulateDx);
            }
        }
        if (dw != null) {
            OpChecks.sameShape("linearBackward", w, dw);
            for (int o = 0; o < out; o++)
                for (int i = 0; i < in; i++) {
                    double s = 0;
                    for (int r = 0; r < rows; r++) s += rd(dy, (long) r * out + o) * rd(x, (long) r * in + i);
                    acc(dw, (long) o * in + i, s);
                }
        }
        if (db != null) columnSums(dy, db);
    }

    private static void columnSums(Tensor dy, Tensor db) {
        int c = dy.cols(), rows = dy.rows();
        for (int j = 0; j < c; j++) {
            double s = 0;
            for (int r = 0; r < rows; r++) s += rd(dy, (long) r * c + j);
            acc(db, j, s);
        }
    }

    @Override
    public void matmulBackward(Tensor a, Tensor b, Tensor dc, Tensor da, Tensor db) {
        OpChecks.matmul(a, b, dc);
        int m = a.dim(0), k = a.dim(1), n = b.dim(1);
        if (da != null)
            for (int i = 0; i < m; i++)
                for (int p = 0; p < k; p++) {
                    double s = 0;
                    for (int j = 0; j < n; j++) s += rd(dc, (long) i * n + j) * rd(b, (long) p * n + j);
                    acc(da, (long) i * k + p, s);
                }
        if (db != null)
            for (int p = 0; p < k; p++)
                for (int j = 0; j < n; j++) {
                    double s = 0;
                    for (int i = 0; i < m; i++) s += rd(a, (long) i * k + p) * rd(dc, (long) i * n + j);
                    acc(db, (long) p * n + j, s);
                }
    }

    @Override
    public void linearHeadwiseBackward(Tensor x, Tensor w, Tensor dy, Tensor dx, boolean accumulateDx, Tensor dw, Tensor db) {
        OpChecks.linearHeadwise(x, w, db, dy);
        int heads = w.dim(0), out = w.dim(1), in = w.dim(2), rows = x.rows();
        for (int r = 0; r < rows; r++)
            for (int h = 0; h < heads; h++) {
                long xo = (long) r * heads * in + (long) h * in, yo = (long) r * heads * out + (long) h * out;
                if (dx != null)
                    for (int i = 0; i < in; i++) {
                        double s = 0;
                        for (int o = 0; o < out; o++) s += rd(dy, yo + o) * rd(w, ((long) h * out + o) * in + i);
                        put(dx, xo + i, s, accumulateDx);
                    }
            }
        if (dw != null)
            for (int h = 0; h < heads; h++)
                for (int o = 0; o < out; o++)
                    for (int i = 0; i < in; i++) {
                        double s = 0;
                        for (int r = 0; r < rows; r++)
                            s += rd(dy, (long) r * heads * out + (long) h * out + o) * rd(x, (long) r * heads * in + (long) h * in + i);
                        acc(dw, ((long) h * out + o) * in + i, s);
                    }
        if (db != null) columnSums(dy, db);
    }

    @Override
    public void embeddingBackward(int[] tokens, Tensor dy, Tensor dTable) {
        OpChecks.embedding(tokens, dTable, dy);
        int d = dTable.dim(1);
        for (int r = 0; r < tokens.length; r++)
            for (int j = 0; j < d; j++) acc(dTable, (long) tokens[r] * d + j, rd(dy, (long) r * d + j));
    }

    // ---------------------------------------------------------------- normalisation

    @Override
    public void layerNormBackward(Tensor x, Tensor w, float eps, boolean offset, Tensor dy, Tensor dx,
                                 boolean accumulateDx, Tensor dw, Tensor db) {
        OpChecks.sameShape("layerNormBackward", x, dy);
        int d = x.cols(), rows = x.rows();
        for (int r = 0; r < rows; r++) normSliceBackward(x, dy, dx, accumulateDx, (long) r * d, d, w, 0, dw, db, eps, offset);
    }

    @Override
    public void headLayerNormBackward(Tensor x, int heads, Tensor w, float eps, boolean offset, Tensor dy, Tensor dx,
                                      Tensor dw, Tensor db) {
        OpChecks.sameShape("headLayerNormBackward", x, dy);
        int d = x.cols(), rows = x.rows(), dh = d / heads;
        if (dh * heads != d) throw new IllegalArgumentException("headLayerNormBackward: " + d + " channels not divisible by " + heads + " heads");
        for (int r = 0; r < rows; r++)
            for (int h = 0; h < heads; h++)
                normSliceBackward(x, dy, dx, false, (long) r * d + (long) h * dh, dh, w, h * dh, dw, db, eps, offset);
    }

    /**
     * One layer-norm slice: x̂ = (x − μ)·ρ with ρ = 1/√(var + eps), y = x̂·s + b. With g = dy·s:
     * dx = ρ·(g − mean(g) − x̂·mean(g·x̂)); ds = dy·x̂; db = dy.
     */
    private static void normSliceBackward(Tensor x, Tensor dy, Tensor dx, boolean accumulateDx, long base, int d,
                                          Tensor w, int wOff, Tensor dw, Tensor db, float eps, boolean offset) {
        double mean = 0;
        for (int j = 0; j < d; j++) mean += rd(x, base + j);
        mean /= d;
        double var = 0;
        for (int j = 0; j < d; j++) {
            double c = rd(x, base + j) - mean;
            var += c * c;
        }
        var /= d;
        double rho = 1.0 / Math.sqrt(var + eps);
        double[] xh = new double[d], g = new double[d];
        double mg = 0, mgx = 0;
        for (int j = 0; j < d; j++) {
            xh[j] = (rd(x, base + j) - mean) * rho;
            double s = w == null ? 1.0 : (offset ? 1.0 + rd(w, wOff + j) : rd(w, wOff + j));
            double gy = rd(dy, base + j);
            g[j] = gy * s;
            mg += g[j];
            mgx += g[j] * xh[j];
            if (dw != null) acc(dw, wOff + j, gy * xh[j]);
            if (db != null) acc(db, wOff + j, gy);
        }
        mg /= d;
        mgx /= d;
        if (dx != null)
            for (int j = 0; j < d; j++) put(dx, base + j, rho * (g[j] - mg - xh[j] * mgx), accumulateDx);
    }

    @Override
    public void rmsNormBackward(Tensor x, Tensor w, float eps, Tensor dy, Tensor dx, boolean accumulateDx, Tensor dw, Tensor db) {
        OpChecks.sameShape("rmsNormBackward", x, dy);
        int d = x.cols(), rows = x.rows();
        for (int r = 0; r < rows; r++) {
            long base = (long) r * d;
            double ss = 0;
            for (int j = 0; j < d; j++) ss += rd(x, base + j) * rd(x, base + j);
            double rho = 1.0 / Math.sqrt(ss / d + eps);
            // y = x·ρ·s: dx = ρ·(g − x·ρ²·mean(g·x)), g = dy·s
            double gx = 0;
            double[] g = new double[d];
            for (int j = 0; j < d; j++) {
                double gy = rd(dy, base + j);
                g[j] = gy * (w == null ? 1.0 : rd(w, j));
                gx += g[j] * rd(x, base + j);
                if (dw != null) acc(dw, j, gy * rd(x, base + j) * rho);
                if (db != null) acc(db, j, gy);
            }
            gx /= d;
            if (dx != null)
                for (int j = 0; j < d; j++) put(dx, base + j, rho * (g[j] - rd(x, base + j) * rho * rho * gx), accumulateDx);
        }
    }

    // ---------------------------------------------------------------- elementwise

    @Override
    public void activationBackward(Activation act, Tensor x, Tensor dy, Tensor dx) {
        OpChecks.sameShape("activationBackward", x, dy);
        OpChecks.sameShape("activationBackward", x, dx);
        for (long i = 0; i < x.size(); i++) wr(dx, i, rd(dy, i) * Derivatives.of(act, rd(x, i)));
    }

    @Override
    public void mulActivatedBackward(Tensor x, Activation act, Tensor g, Tensor dy, Tensor dx, Tensor dg) {
        OpChecks.sameShape("mulActivatedBackward", x, g);
        OpChecks.sameShape("mulActivatedBackward", x, dy);
        for (long i = 0; i < x.size(); i++) {
            double gy = rd(dy, i), xv = rd(x, i), gv = rd(g, i);
            double a = ScalarMath.apply(act, gv), da = Derivatives.of(act, gv);
            if (dx != null) wr(dx, i, gy * a);
            if (dg != null) wr(dg, i, gy * xv * da);
        }
    }

    @Override
    public void addScaledBackward(Tensor w, Tensor b, Tensor dy, Tensor db, boolean accumulateDb, Tensor dw) {
        OpChecks.addScaled(dy, w, b, dy);
        int c = dy.cols(), rows = dy.rows();
        for (int j = 0; j < c; j++) {
            double s = 0;
            for (int r = 0; r < rows; r++) {
                long i = (long) r * c + j;
                s += rd(dy, i) * rd(b, i);
                if (db != null) put(db, i, rd(dy, i) * rd(w, j), accumulateDb);
            }
            if (dw != null) acc(dw, j, s);
        }
    }

    @Override
    public void softCapBackward(Tensor x, float cap, Tensor dy, Tensor dx) {
        OpChecks.sameShape("softCapBackward", x, dy);
        for (long i = 0; i < x.size(); i++) {
            double t = Math.tanh(rd(x, i) / cap);
            wr(dx, i, rd(dy, i) * (1 - t * t));
        }
    }

    @Override
    public void splitColumns(Tensor dy, Tensor[] parts, boolean accumulate) {
        OpChecks.concat(parts, dy);
        int rows = dy.rows(), total = dy.cols(), off = 0;
        for (Tensor p : parts) {
            int c = p.cols();
            for (int r = 0; r < rows; r++)
                for (int j = 0; j < c; j++) put(p, (long) r * c + j, rd(dy, (long) r * total + off + j), accumulate);
            off += c;
        }
    }

    // ---------------------------------------------------------------- sequence mixing

    @Override
    public void causalConv1dBackward(Tensor x, Tensor w, Tensor dy, Tensor dx, Tensor dw, Tensor db) {
        OpChecks.conv(x, w, db, null, dy);
        int batch = x.dim(0), s = x.dim(1), f = x.dim(2), k = w.dim(1);
        // y[t] = b + Σ_j w[K−1−j]·x[t−j]
        for (int b = 0; b < batch; b++)
            for (int c = 0; c < f; c++) {
                double sb = 0;
                double[] sw = new double[k];
                for (int t = 0; t < s; t++) {
                    double g = rd(dy, ((long) b * s + t) * f + c);
                    sb += g;
                    for (int j = 0; j < k && j <= t; j++) sw[k - 1 - j] += g * rd(x, ((long) b * s + t - j) * f + c);
                }
                if (db != null) acc(db, c, sb);
                if (dw != null) for (int j = 0; j < k; j++) acc(dw, (long) c * k + j, sw[j]);
                if (dx != null)
                    for (int t = 0; t < s; t++) {
                        double g = 0;
                        for (int j = 0; j < k && t + j < s; j++) g += rd(w, (long) c * k + (k - 1 - j)) * rd(dy, ((long) b * s + t + j) * f + c);
                        wr(dx, ((long) b * s + t) * f + c, g);
                    }
            }
    }

    /** torch's rule for max/min: at a tie each side receives half the gradient. */
    private static double winShare(double self, double other) {
        return self > other ? 1.0 : self == other ? 0.5 : 0.0;
    }

    @Override
    public void mlstmChunkwiseBackward(Tensor q, Tensor k, Tensor v, Tensor ig, Tensor fg, float m0, int chunk, float eps,
                                       Tensor dh, Tensor dq, Tensor dk, Tensor dv, Tensor di, Tensor df) {
        GradChecks.mlstm(q, k, v, ig, fg, dh, chunk, dq, dk, dv, di, df);
        MlstmShapes sh = MlstmShapes.of(q, k, v, ig, fg, dh, null, null, null);
        for (int b = 0; b < sh.batch(); b++)
            for (int hd = 0; hd < sh.heads(); hd++)
                new MlstmHeadBackward(sh, b, hd, chunk, eps, m0).run(q, k, v, ig, fg, dh, dq, dk, dv, di, df);
    }

    /** The chunkwise mLSTM of one (batch row, head) in double: forward with everything kept, then backward. */
    private static final class MlstmHeadBackward {
        final MlstmShapes sh;
        final int b, hd, s, dk, dv, chunk, nChunks;
        final double eps, m0, scale;
        double[][] q, k, v, dq, dk_, dv_;
        double[] iv, fv, di, dfl;
        // per chunk: state at its start
        double[][][] cStart;
        double[][] nStart;
        double[] mStart;

        MlstmHeadBackward(MlstmShapes sh, int b, int hd, int chunk, float eps, float m0) {
            this.sh = sh;
            this.b = b;
            this.hd = hd;
            this.s = sh.seq();
            this.dk = sh.dqk();
            this.dv = sh.dv();
            this.chunk = chunk;
            this.nChunks = (s + chunk - 1) / chunk;
            this.eps = eps;
            this.m0 = m0;
            this.scale = 1.0 / Math.sqrt(dk);
        }

        void run(Tensor qt, Tensor kt, Tensor vt, Tensor it, Tensor ft, Tensor dht,
                 Tensor dqt, Tensor dkt, Tensor dvt, Tensor dit, Tensor dft) {
            int nh = sh.heads();
            q = new double[s][dk];
            k = new double[s][dk];
            v = new double[s][dv];
            iv = new double[s];
            fv = new double[s];
            double[][] dhv = new double[s][dv];
            for (int t = 0; t < s; t++) {
                for (int d = 0; d < dk; d++) {
                    q[t][d] = rd(qt, sh.qk(b, t, hd, d));
                    k[t][d] = rd(kt, sh.qk(b, t, hd, d));
                }
                for (int d = 0; d < dv; d++) {
                    v[t][d] = rd(vt, sh.v(b, t, hd, d));
                    dhv[t][d] = rd(dht, sh.v(b, t, hd, d));
                }
                iv[t] = rd(it, ((long) b * s + t) * nh + hd);
                fv[t] = rd(ft, ((long) b * s + t) * nh + hd);
            }
            dq = new double[s][dk];
            dk_ = new double[s][dk];
            dv_ = new double[s][dv];
            di = new double[s];
            dfl = new double[s];
            forwardStates();
            double[][] dC = new double[dk][dv];
            double[] dn = new double[dk];
            double[] dm = {0.0};
            for (int c = nChunks - 1; c >= 0; c--) chunkBackward(c, dhv, dC, dn, dm);
            for (int t = 0; t < s; t++) {
                for (int d = 0; d < dk; d++) {
                    if (dqt != null) wr(dqt, sh.qk(b, t, hd, d), dq[t][d]);
                    if (dkt != null) wr(dkt, sh.qk(b, t, hd, d), dk_[t][d]);
                }
                if (dvt != null) for (int d = 0; d < dv; d++) wr(dvt, sh.v(b, t, hd, d), dv_[t][d]);
                if (dit != null) wr(dit, ((long) b * s + t) * nh + hd, di[t]);
                if (dft != null) wr(dft, ((long) b * s + t) * nh + hd, dfl[t] * ScalarMath.sigmoid(-fv[t]));
            }
        }

        /** Local cumulative log forget gates of chunk c. */
        double[] bcum(int t0, int len) {
            double[] bc = new double[len];
            double acc = 0;
            for (int j = 0; j < len; j++) {
                acc += ScalarMath.logSigmoid(fv[t0 + j]);
                bc[j] = acc;
            }
            return bc;
        }

        void forwardStates() {
            cStart = new double[nChunks][dk][dv];
            nStart = new double[nChunks][dk];
            mStart = new double[nChunks];
            double[][] c = new double[dk][dv];
            double[] n = new double[dk];
            double m = m0;
            for (int ci = 0; ci < nChunks; ci++) {
                for (int a = 0; a < dk; a++) {
                    System.arraycopy(c[a], 0, cStart[ci][a], 0, dv);
                    nStart[ci][a] = n[a];
                }
                mStart[ci] = m;
                int t0 = ci * chunk, len = Math.min(chunk, s - t0);
                double[] bc = bcum(t0, len);
                double g = bc[len - 1], mLoc = Double.NEGATIVE_INFINITY;
                for (int u = 0; u < len; u++) mLoc = Math.max(mLoc, g - bc[u] + iv[t0 + u]);
                double mNew = Math.max(g + m, mLoc), decay = Math.exp(g + m - mNew);
                for (int a = 0; a < dk; a++) {
                    n[a] *= decay;
                    for (int d = 0; d < dv; d++) c[a][d] *= decay;
                }
                for (int u = 0; u < len; u++) {
                    double wu = Math.exp(g - bc[u] + iv[t0 + u] - mNew);
                    for (int a = 0; a < dk; a++) {
                        double ka = k[t0 + u][a] * scale * wu;
                        n[a] += ka;
                        for (int d = 0; d < dv; d++) c[a][d] += ka * v[t0 + u][d];
                    }
                }
                m = mNew;
            }
        }

        /**
         * Backward of chunk ci. On entry dC, dn, dm hold the gradient with respect to the state after the chunk; on
         * exit, with respect to the state before it.
         */
        void chunkBackward(int ci, double[][] dhv, double[][] dC, double[] dn, double[] dm) {
            int t0 = ci * chunk, len = Math.min(chunk, s - t0);
            double[][] cp = cStart[ci];
            double[] np = nStart[ci];
            double m = mStart[ci];
            double[] bc = bcum(t0, len);
            double[] a = new double[len];
            for (int u = 0; u < len; u++) a[u] = iv[t0 + u] - bc[u];
            double[] dbc = new double[len], da = new double[len];
            double dmPrev = 0;
            double[][] dCp = new double[dk][dv];
            double[] dnp = new double[dk];

            // ---- state update: C_end = decay·Cp + Σ_u w'_u k̂_u v_uᵀ, n_end likewise, mNew = max(g + m, g + max a)
            double g = bc[len - 1];
            int aMax = 0;
            for (int u = 1; u < len; u++) if (a[u] > a[aMax]) aMax = u;
            double mLoc = g + a[aMax];
            double mNew = Math.max(g + m, mLoc), decay = Math.exp(g + m - mNew);
            double dg = 0, dmNew = dm[0];
            double dDecay = 0;
            for (int x = 0; x < dk; x++) {
                dnp[x] += decay * dn[x];
                dDecay += dn[x] * np[x];
                for (int d = 0; d < dv; d++) {
                    dCp[x][d] += decay * dC[x][d];
                    dDecay += dC[x][d] * cp[x][d];
                }
            }
            if (decay != 0) {
                double l = dDecay * decay;
                dg += l;
                dmPrev += l;
                dmNew -= l;
            }
            for (int u = 0; u < len; u++) {
                int t = t0 + u;
                double wu = Math.exp(g + a[u] - mNew);
                double dw = 0;
                for (int x = 0; x < dk; x++) {
                    double kh = k[t][x] * scale;
                    double cv = 0;
                    for (int d = 0; d < dv; d++) {
                        cv += dC[x][d] * v[t][d];
                        dv_[t][d] += wu * dC[x][d] * kh;
                    }
                    dk_[t][x] += wu * (cv + dn[x]) * scale;
                    dw += kh * (cv + dn[x]);
                }
                double l = dw * wu;
                dg += l;
                da[u] += l;
                dmNew -= l;
            }
            // mNew = max(g + m, mLoc)
            double shareInter = winShare(g + m, mLoc);
            dg += dmNew;
            dmPrev += dmNew * shareInter;
            da[aMax] += dmNew * (1 - shareInter);
            dbc[len - 1] += dg;

            // ---- outputs
            double runMax = Double.NEGATIVE_INFINITY;
            int runArg = 0;
            for (int t = 0; t < len; t++) {
                if (a[t] > runMax) {
                    runMax = a[t];
                    runArg = t;
                }
                int tt = t0 + t;
                double intra = bc[t] + runMax, inter = bc[t] + m;
                double stab = Math.max(intra, inter);
                double wI = Math.exp(inter - stab);
                // recompute the row
                double[] e = new double[t + 1], sc = new double[t + 1];
                double den = 0;
                double[] num = new double[dv];
                for (int u = 0; u <= t; u++) {
                    double qk = 0;
                    for (int x = 0; x < dk; x++) qk += q[tt][x] * k[t0 + u][x];
                    sc[u] = qk * scale;
                    e[u] = sc[u] * Math.exp(bc[t] + a[u] - stab);
                    den += e[u];
                    for (int d = 0; d < dv; d++) num[d] += e[u] * v[t0 + u][d];
                }
                double qn = 0;
                double[] qc = new double[dv];
                if (wI != 0) {
                    for (int x = 0; x < dk; x++) {
                        qn += q[tt][x] * np[x];
                        for (int d = 0; d < dv; d++) qc[d] += q[tt][x] * cp[x][d];
                    }
                    den += wI * qn;
                    for (int d = 0; d < dv; d++) num[d] += wI * qc[d];
                }
                double expNeg = Math.exp(-stab);
                double norm = Math.max(Math.abs(den), expNeg) + eps;
                double dNorm = 0;
                double[] dNum = new double[dv];
                for (int d = 0; d < dv; d++) {
                    dNum[d] = dhv[tt][d] / norm;
                    dNorm -= dhv[tt][d] * num[d] / (norm * norm);
                }
                double shareAbs = winShare(Math.abs(den), expNeg);
                double dDen = dNorm * shareAbs * Math.signum(den);
                double dStab = -dNorm * (1 - shareAbs) * expNeg;
                for (int u = 0; u <= t; u++) {
                    int tu = t0 + u;
                    double de = dDen;
                    for (int d = 0; d < dv; d++) {
                        de += dNum[d] * v[tu][d];
                        dv_[tu][d] += e[u] * dNum[d];
                    }
                    double w = Math.exp(bc[t] + a[u] - stab);
                    double ds = de * w * scale;
                    for (int x = 0; x < dk; x++) {
                        dq[tt][x] += ds * k[tu][x];
                        dk_[tu][x] += ds * q[tt][x];
                    }
                    double l = de * e[u];
                    dbc[t] += l;
                    da[u] += l;
                    dStab -= l;
                }
                if (wI != 0) {
                    double dwI = dDen * qn;
                    for (int d = 0; d < dv; d++) dwI += dNum[d] * qc[d];
                    for (int x = 0; x < dk; x++) {
                        double cx = dDen * np[x];
                        for (int d = 0; d < dv; d++) {
                            cx += cp[x][d] * dNum[d];
                            dCp[x][d] += wI * q[tt][x] * dNum[d];
                        }
                        dq[tt][x] += wI * cx;
                        dnp[x] += wI * dDen * q[tt][x];
                    }
                    double l = dwI * wI;
                    dbc[t] += l;
                    dmPrev += l;
                    dStab -= l;
                }
                // stab = max(intra, inter)
                double shareIntra = winShare(intra, inter);
                dbc[t] += dStab;
                da[runArg] += dStab * shareIntra;
                dmPrev += dStab * (1 - shareIntra);
            }

            // ---- gates: a_u = i_u − bcum_u, bcum_j = Σ_{l≤j} logσ(f_l)
            for (int u = 0; u < len; u++) {
                di[t0 + u] += da[u];
                dbc[u] -= da[u];
            }
            double suffix = 0;
            for (int j = len - 1; j >= 0; j--) {
                suffix += dbc[j];
                dfl[t0 + j] += suffix;
            }
            for (int x = 0; x < dk; x++) {
                dn[x] = dnp[x];
                System.arraycopy(dCp[x], 0, dC[x], 0, dv);
            }
            dm[0] = dmPrev;
        }
    }

    @Override
    public void slstmBackward(Tensor xi, Tensor xf, Tensor xz, Tensor xo, Tensor r, Tensor bias, Tensor dy,
                              Tensor dxi, Tensor dxf, Tensor dxz, Tensor dxo, Tensor dr, Tensor dbias) {
        int batch = xi.dim(0), s = xi.dim(1), nh = r.dim(0), dh = r.dim(1), d = nh * dh;
        GradChecks.slstm(xi, xf, xz, xo, r, bias, dy, dxi, dxf, dxz, dxo, dr, dbias);
        Tensor[] xs = {xi, xf, xz, xo}, dxs = {dxi, dxf, dxz, dxo};
        for (int b = 0; b < batch; b++)
            for (int hd = 0; hd < nh; hd++) {
                // forward, keeping every step's gate pre-activations and states
                double[][][] raw = new double[s][4][dh];
                double[][] h = new double[s + 1][dh], c = new double[s + 1][dh], n = new double[s + 1][dh], m = new double[s + 1][dh];
                boolean[] fresh = new boolean[s];
                for (int t = 0; t < s; t++) {
                    for (int g = 0; g < 4; g++)
                        for (int j = 0; j < dh; j++) {
                            double a = rd(xs[g], ((long) b * s + t) * d + (long) hd * dh + j) + rd(bias, ((long) hd * 4 + g) * dh + j);
                            for (int kk = 0; kk < dh; kk++) a += rd(r, (((long) hd * dh + kk) * 4 + g) * dh + j) * h[t][kk];
                            raw[t][g][j] = a;
                        }
                    fresh[t] = true;
                    for (int j = 0; j < dh; j++) if (n[t][j] != 0.0) fresh[t] = false;
                    for (int j = 0; j < dh; j++) {
                        double lfm = m[t][j] + ScalarMath.logSigmoid(raw[t][1][j]);
                        double mNew = fresh[t] ? raw[t][0][j] : Math.max(raw[t][0][j], lfm);
                        double iG = Math.min(Math.exp(raw[t][0][j] - mNew), 1.0), fG = Math.min(Math.exp(lfm - mNew), 1.0);
                        c[t + 1][j] = fG * c[t][j] + iG * Math.tanh(raw[t][2][j]);
                        n[t + 1][j] = fG * n[t][j] + iG;
                        m[t + 1][j] = mNew;
                        h[t + 1][j] = ScalarMath.sigmoid(raw[t][3][j]) * c[t + 1][j] / n[t + 1][j];
                    }
                }
                // backward through time
                double[] dhRec = new double[dh], dc = new double[dh], dn = new double[dh], dm = new double[dh];
                double[][] draw = new double[4][dh];
                for (int t = s - 1; t >= 0; t--) {
                    for (int j = 0; j < dh; j++) {
                        double ir = raw[t][0][j], fr = raw[t][1][j], zr = raw[t][2][j], or = raw[t][3][j];
                        double lfm = m[t][j] + ScalarMath.logSigmoid(fr);
                        double mNew = m[t + 1][j];
                        double ia = Math.exp(ir - mNew), fa = Math.exp(lfm - mNew);
                        double iG = Math.min(ia, 1.0), fG = Math.min(fa, 1.0);
                        double o = ScalarMath.sigmoid(or), zt = Math.tanh(zr);
                        double cN = c[t + 1][j], nN = n[t + 1][j];
                        double dhTot = rd(dy, ((long) b * s + t) * d + (long) hd * dh + j) + dhRec[j];
                        double dcTot = dc[j] + dhTot * o / nN;
                        double dnTot = dn[j] - dhTot * o * cN / (nN * nN);
                        double dfG = dcTot * c[t][j] + dnTot * n[t][j];
                        double diG = dcTot * zt + dnTot;
                        draw[2][j] = dcTot * iG * (1 - zt * zt);
                        draw[3][j] = dhTot * cN / nN * o * (1 - o);
                        dc[j] = dcTot * fG;
                        dn[j] = dnTot * fG;
                        // igate = min(exp(ĩ − m'), 1), fgate = min(exp(lfm − m'), 1): a tie with 1 passes half
                        double dArgI = diG * winShare(1.0, ia) * ia;
                        double dArgF = dfG * winShare(1.0, fa) * fa;
                        double dIr = dArgI, dLfm = dArgF;
                        double dmNew = dm[j] - dArgI - dArgF;
                        if (fresh[t]) dIr += dmNew;
                        else {
                            double share = winShare(ir, lfm);
                            dIr += dmNew * share;
                            dLfm += dmNew * (1 - share);
                        }
                        dm[j] = dLfm;
                        draw[0][j] = dIr;
                        draw[1][j] = dLfm * ScalarMath.sigmoid(-fr);
                    }
                    for (int g = 0; g < 4; g++)
                        for (int j = 0; j < dh; j++) {
                            long xi0 = ((long) b * s + t) * d + (long) hd * dh + j;
                            if (dxs[g] != null) wr(dxs[g], xi0, draw[g][j]);
                            if (dbias != null) acc(dbias, ((long) hd * 4 + g) * dh + j, draw[g][j]);
                        }
                    for (int kk = 0; kk < dh; kk++) {
                        double sum = 0;
                        for (int g = 0; g < 4; g++)
                            for (int j = 0; j < dh; j++) {
                                long ri = (((long) hd * dh + kk) * 4 + g) * dh + j;
                                sum += rd(r, ri) * draw[g][j];
                                if (dr != null) acc(dr, ri, h[t][kk] * draw[g][j]);
                            }
                        dhRec[kk] = sum;
                    }
                }
            }
    }

    // ---------------------------------------------------------------- regularisation

    @Override
    public void dropout(Tensor x, float p, long seed, Tensor y) {
        OpChecks.sameShape("dropout", x, y);
        double scale = 1.0 / (1.0 - p);
        for (long i = 0; i < x.size(); i++) wr(y, i, DropoutMask.keep(seed, i, p) ? rd(x, i) * scale : 0.0);
    }

    // ---------------------------------------------------------------- loss

    @Override
    public double crossEntropy(Tensor logits, int[] targets, Tensor dLogits, int meanOver) {
        int rows = logits.rows(), vocab = logits.cols();
        int counted = GradChecks.crossEntropy(logits, targets, dLogits), count = meanOver > 0 ? meanOver : counted;
        double total = 0;
        for (int r = 0; r < rows; r++) {
            long base = (long) r * vocab;
            int t = targets[r];
            if (t == -1) {
                if (dLogits != null) for (int j = 0; j < vocab; j++) wr(dLogits, base + j, 0);
                continue;
            }
            double mx = Double.NEGATIVE_INFINITY;
            for (int j = 0; j < vocab; j++) mx = Math.max(mx, rd(logits, base + j));
            double z = 0;
            for (int j = 0; j < vocab; j++) z += Math.exp(rd(logits, base + j) - mx);
            double logZ = mx + Math.log(z);
            total += logZ - rd(logits, base + t);
            if (dLogits != null)
                for (int j = 0; j < vocab; j++)
                    wr(dLogits, base + j, (Math.exp(rd(logits, base + j) - logZ) - (j == t ? 1 : 0)) / count);
        }
        return counted == 0 && meanOver <= 0 ? Double.NaN : total / count;
    }
}
