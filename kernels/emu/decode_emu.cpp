// Runs the fused decoding kernels of kernels/src/decode.cu on the CPU emulator against the separate kernels they
// replace (norms.cu, gemv.cu, elementwise.cu), launched as CudaOps launches them: the results must be equal bit for
// bit, and the plain products must match a double-precision product. Several row counts (1 .. 16), odd output
// counts, biases present or not.
//   kernels/emu/run.sh decode
#include "cuda_emu.h"
#include "../src/gemv.cu"
#include "../src/decode.cu"
#include "../src/norms.cu"
#include "../src/elementwise.cu"
#include <random>

namespace {
std::mt19937 rng(11);
int fails = 0;

float* randg(size_t n, double s = 1) {
    std::normal_distribution<double> d(0, s);
    float* p = emu::galloc(n);
    for (size_t i = 0; i < n; i++) p[i] = (float)d(rng);
    return p;
}

__nv_bfloat16* randw(size_t n) {
    std::normal_distribution<double> d(0, 0.05);
    // bf16 weights in a float buffer's memory (the guard page still ends it)
    float* raw = emu::galloc((n + 1) / 2);
    auto* w = reinterpret_cast<__nv_bfloat16*>(raw);
    for (size_t i = 0; i < n; i++) w[i] = __float2bfloat16((float)d(rng));
    return w;
}

/** Relative (normwise) difference of got from the double values want; a line, counted as failed above 1e-5. */
void close(const std::string& what, const std::vector<double>& want, const float* got) {
    double num = 0, den = 0;
    for (size_t i = 0; i < want.size(); i++) {
        num += (want[i] - got[i]) * (want[i] - got[i]);
        den += want[i] * want[i];
    }
    double e = std::sqrt(num / std::max(den, 1e-300));
    bool ok = e < 1e-5;
    if (!ok) fails++;
    std::printf("%s %s vs double: relative error %.2e\n", ok ? "ok  " : "FAIL", what.c_str(), e);
}

/** rmsNorm of x's rows in double (nw, nb may be null). */
std::vector<double> rmsNormD(const float* x, const float* nw, const float* nb, int rows, int in, double eps) {
    std::vector<double> y((size_t)rows * in);
    for (int r = 0; r < rows; r++) {
        double ss = 0;
        for (int i = 0; i < in; i++) ss += (double)x[r * in + i] * x[r * in + i];
        double s = 1 / std::sqrt(ss / in + eps);
        for (int i = 0; i < in; i++) y[(size_t)r * in + i] = x[r * in + i] * s * (nw ? nw[i] : 1.0) + (nb ? nb[i] : 0.0);
    }
    return y;
}

/** y[r, o] = Σ x[r, i]·w[o, i] + b[o] in double (b may be null). */
std::vector<double> linearD(const std::vector<double>& x, const __nv_bfloat16* w, const float* b, int rows, int in, int out) {
    std::vector<double> y((size_t)rows * out);
    for (int r = 0; r < rows; r++)
        for (int o = 0; o < out; o++) {
            double acc = b ? b[o] : 0;
            for (int i = 0; i < in; i++) acc += x[(size_t)r * in + i] * __bfloat162float(w[(size_t)o * in + i]);
            y[(size_t)r * out + o] = acc;
        }
    return y;
}

dim3 D(unsigned x) { return dim3{x, 1, 1}; }
unsigned blocks(long n, int per) { return (unsigned)((n + per - 1) / per); }

void same(const std::string& what, const float* a, const float* b, size_t n) {
    bool ok = std::memcmp(a, b, n * 4) == 0;
    if (!ok) fails++;
    std::printf("%s %s\n", ok ? "ok  " : "FAIL", what.c_str());
}

void rmsNormLinears(int rows, int in, bool bias) {
    const int outs[6] = {24, 8, 40, 16, 3, 3};
    float cap = 15.f;
    float *x = randg((size_t)rows * in, 2), *nw = randg(in), *nb = bias ? randg(in) : nullptr;
    __nv_bfloat16* w[6];
    float *b[6], *y[6], *y2[6];
    int total = 0;
    for (int j = 0; j < 6; j++) {
        w[j] = randw((size_t)outs[j] * in);
        b[j] = bias ? randg(outs[j]) : nullptr;
        y[j] = emu::galloc((size_t)rows * outs[j]);
        y2[j] = emu::galloc((size_t)rows * outs[j]);
        total += outs[j];
    }
    // separate: rmsnorm, grouped gemv, soft caps of outputs 4 and 5
    float* n = emu::galloc((size_t)rows * in);
    emu::launch(D(blocks(rows, 8)), D(256), 0, [&] { xlstm_rmsnorm_f32(n, x, nw, nb, in, 1e-5f, rows); });
    emu::launch(D(blocks(total, GEMV_WARPS)), D(GEMV_WARPS * 32), 0, [&] {
        xlstm_gemv_group_bf16w_f32(y[0], y[1], y[2], y[3], y[4], y[5], w[0], w[1], w[2], w[3], w[4], w[5], b[0], b[1], b[2],
                                   b[3], b[4], b[5], outs[0], outs[1], outs[2], outs[3], outs[4], outs[5], n, rows, in);
    });
    for (int j = 4; j < 6; j++)
        emu::launch(D(1), D(256), 0, [&] { xlstm_softcap_f32(y[j], y[j], cap, (int64_t)rows * outs[j]); });
    // fused
    emu::launch(D(blocks(total, GEMV_WARPS)), D(GEMV_WARPS * 32), (size_t)(rows * in + rms_stats_floats(rows, in)) * 4, [&] {
        auto kernel = rows == 1 ? xlstm_gemv_rmsnorm_group_r1 : xlstm_gemv_rmsnorm_group;
        kernel(y2[0], y2[1], y2[2], y2[3], y2[4], y2[5], w[0], w[1], w[2], w[3], w[4], w[5], b[0], b[1], b[2], b[3], b[4],
               b[5], outs[0], outs[1], outs[2], outs[3], outs[4], outs[5], x, nw, nb, 1e-5f, cap, 4, rows, in);
    });
    for (int j = 0; j < 6; j++)
        same("rmsNormLinears rows=" + std::to_string(rows) + " in=" + std::to_string(in) + " bias=" + std::to_string(bias) +
                 " output " + std::to_string(j),
             y[j], y2[j], (size_t)rows * outs[j]);
    // the fused result against doubles (the norm's reductions are shared with the separate kernel: check them too)
    std::vector<double> nd = rmsNormD(x, nw, nb, rows, in, 1e-5);
    for (int j = 0; j < 6; j++) {
        std::vector<double> yd = linearD(nd, w[j], b[j], rows, in, outs[j]);
        if (j >= 4)
            for (double& v : yd) v = cap * std::tanh(v / cap);
        close("rmsNormLinears rows=" + std::to_string(rows) + " in=" + std::to_string(in) + " output " + std::to_string(j),
              yd, y2[j]);
    }
    // the plain product against doubles (output 0)
    double num = 0, den = 0;
    for (int r = 0; r < rows; r++)
        for (int o = 0; o < outs[0]; o++) {
            double acc = bias ? b[0][o] : 0;
            for (int i = 0; i < in; i++) acc += (double)n[r * in + i] * __bfloat162float(w[0][(size_t)o * in + i]);
            num += (acc - y[0][r * outs[0] + o]) * (acc - y[0][r * outs[0] + o]);
            den += acc * acc;
        }
    bool ok = std::sqrt(num / den) < 1e-5;
    if (!ok) fails++;
    std::printf("%s gemv vs double: relative error %.2e\n", ok ? "ok  " : "FAIL", std::sqrt(num / den));
}

void gatedAndAdd(int rows, int in, int hidden, bool bias) {
    float *x = randg((size_t)rows * in, 2), *nw = randg(in), *nb = bias ? randg(in) : nullptr;
    __nv_bfloat16 *wg = randw((size_t)hidden * in), *wu = randw((size_t)hidden * in), *wd = randw((size_t)in * hidden);
    float *bg = bias ? randg(hidden) : nullptr, *bu = bias ? randg(hidden) : nullptr, *bd = bias ? randg(in) : nullptr;
    const int act = 4;   // swish
    // separate
    float *n = emu::galloc((size_t)rows * in), *g = emu::galloc((size_t)rows * hidden), *u = emu::galloc((size_t)rows * hidden);
    emu::launch(D(blocks(rows, 8)), D(256), 0, [&] { xlstm_rmsnorm_f32(n, x, nw, nb, in, 1e-5f, rows); });
    emu::launch(D(blocks(2 * hidden, GEMV_WARPS)), D(GEMV_WARPS * 32), 0, [&] {
        xlstm_gemv_group_bf16w_f32(g, u, nullptr, nullptr, nullptr, nullptr, wg, wu, nullptr, nullptr, nullptr, nullptr, bg,
                                   bu, nullptr, nullptr, nullptr, nullptr, hidden, hidden, 0, 0, 0, 0, n, rows, in);
    });
    emu::launch(D(4), D(256), 0, [&] { xlstm_mul_activated_f32(u, u, g, act, (int64_t)rows * hidden); });
    // fused
    float* u2 = emu::galloc((size_t)rows * hidden);
    emu::launch(D(blocks(hidden, GEMV_WARPS)), D(GEMV_WARPS * 32), (size_t)(rows * in + rms_stats_floats(rows, in)) * 4, [&] {
        (rows == 1 ? xlstm_gemv_rmsnorm_gated_r1 : xlstm_gemv_rmsnorm_gated)(u2, wg, wu, bg, bu, hidden, x, nw, nb, 1e-5f,
                                                                             act, rows, in);
    });
    std::string tag = " rows=" + std::to_string(rows) + " in=" + std::to_string(in) + " bias=" + std::to_string(bias);
    same("rmsNormGatedLinear" + tag, u, u2, (size_t)rows * hidden);
    {
        std::vector<double> nd = rmsNormD(x, nw, nb, rows, in, 1e-5), gd = linearD(nd, wg, bg, rows, in, hidden),
                            ud = linearD(nd, wu, bu, rows, in, hidden);
        for (size_t i = 0; i < ud.size(); i++) ud[i] *= gd[i] / (1 + std::exp(-gd[i]));
        close("rmsNormGatedLinear" + tag, ud, u2);
    }
    // residual add: separate (product, add) vs fused, y over the residual itself
    float *res = randg((size_t)rows * in), *prod = emu::galloc((size_t)rows * in), *want = emu::galloc((size_t)rows * in);
    std::vector<double> resd(res, res + (size_t)rows * in), downd = linearD(std::vector<double>(u, u + (size_t)rows * hidden),
                                                                           wd, bd, rows, hidden, in);
    for (size_t i = 0; i < resd.size(); i++) resd[i] += downd[i];
    emu::launch(D(blocks(in, GEMV_WARPS)), D(GEMV_WARPS * 32), 0,
                [&] { xlstm_gemv_bf16w_f32(prod, u, wd, bd, rows, hidden, in); });
    emu::launch(D(4), D(256), 0, [&] { xlstm_add_f32(want, prod, res, (int64_t)rows * in); });
    emu::launch(D(blocks(in, GEMV_WARPS)), D(GEMV_WARPS * 32), rows == 1 ? (size_t)hidden * 4 : 0,
                [&] {   // CudaOps.linearAdd's choice
                    auto kernel = rows != 1 ? xlstm_gemv_add
                                  : hidden > 2048 && hidden <= 2304 ? xlstm_gemv_add_r1_v9 : xlstm_gemv_add_r1;
                    kernel(res, wd, bd, res, u, rows, hidden, in);
                });
    same("linearAdd (over the residual)" + tag, want, res, (size_t)rows * in);
    close("linearAdd" + tag, resd, res);
}

void headNormGated(int rows, int heads, int dh, bool offset) {
    size_t n = (size_t)rows * heads * dh;
    float *h = randg(n, 3), *o = randg(n), *w = randg((size_t)heads * dh), *b = randg((size_t)heads * dh);
    float *want = emu::galloc(n), *got = emu::galloc(n);
    long segs = (long)rows * heads;
    emu::launch(D(blocks(segs, 8)), D(256), 0, [&] { xlstm_headnorm_f32(want, h, w, b, heads, dh, 1e-6f, offset, segs); });
    emu::launch(D(2), D(256), 0, [&] { xlstm_mul_activated_f32(want, want, o, 3, (int64_t)n); });
    emu::launch(D(blocks(segs, GEMV_WARPS)), D(GEMV_WARPS * 32), 0,
                [&] { xlstm_headnorm_gated(got, h, w, b, o, 3, heads, dh, 1e-6f, offset, segs); });
    same("headNormGated rows=" + std::to_string(rows) + " heads=" + std::to_string(heads) + " dh=" + std::to_string(dh) +
             " offset=" + std::to_string(offset),
         want, got, n);
}
/** The plain product over an input longer than one pass of loads (2048) against doubles. */
void longGemv(int rows, int in, int out) {
    float *x = randg((size_t)rows * in), *y = emu::galloc((size_t)rows * out);
    __nv_bfloat16* w = randw((size_t)out * in);
    emu::launch(D(blocks(out, GEMV_WARPS)), D(GEMV_WARPS * 32), 0,
                [&] { (rows == 1 ? xlstm_gemv_bf16w_f32_r1 : xlstm_gemv_bf16w_f32)(y, x, w, nullptr, rows, in, out); });
    double num = 0, den = 0;
    for (int r = 0; r < rows; r++)
        for (int o = 0; o < out; o++) {
            double acc = 0;
            for (int i = 0; i < in; i++) acc += (double)x[r * in + i] * __bfloat162float(w[(size_t)o * in + i]);
            num += (acc - y[r * out + o]) * (acc - y[r * out + o]);
            den += acc * acc;
        }
    bool ok = std::sqrt(num / den) < 1e-5;
    if (!ok) fails++;
    std::printf("%s gemv rows=%d in=%d (two passes) vs double: relative error %.2e\n", ok ? "ok  " : "FAIL", rows, in,
                std::sqrt(num / den));
}

/** The out-projection with the gated head norm as its prologue = headnorm_gated, then gemv_add. */
void headNormGatedLinearAdd(int rows, int heads, int dh, int out, bool offset) {
    int in = heads * dh;
    size_t n = (size_t)rows * in;
    float *h = randg(n, 3), *o = randg(n), *nw = randg(in), *nb = randg(in), *bias = randg(out);
    __nv_bfloat16* w = randw((size_t)out * in);
    float *res = randg((size_t)rows * out), *gated = emu::galloc(n), *want = emu::galloc((size_t)rows * out);
    std::vector<double> res0(res, res + (size_t)rows * out);
    long segs = (long)rows * heads;
    emu::launch(D(blocks(segs, GEMV_WARPS)), D(GEMV_WARPS * 32), 0,
                [&] { xlstm_headnorm_gated(gated, h, nw, nb, o, 3, heads, dh, 1e-6f, offset, segs); });
    emu::launch(D(blocks(out, GEMV_WARPS)), D(GEMV_WARPS * 32), 0,
                [&] { xlstm_gemv_add(want, w, bias, res, gated, rows, in, out); });
    emu::launch(D(blocks(out, GEMV_WARPS)), D(GEMV_WARPS * 32), (n + 2 * segs) * 4, [&] {
        (rows == 1 ? xlstm_gemv_headnorm_gated_add_r1 : xlstm_gemv_headnorm_gated_add)(res, w, bias, res, h, o, nw, nb, 1e-6f,
                                                                                   offset, 3, heads, rows, in, out);
    });
    std::string tag = "headNormGatedLinearAdd rows=" + std::to_string(rows) + " heads=" + std::to_string(heads) +
                      " dh=" + std::to_string(dh) + " out=" + std::to_string(out);
    same(tag, want, res, (size_t)rows * out);
    // against doubles: layer norm per (row, head), scale (1 + w when offset), shift, times sigmoid(o), product, residual
    std::vector<double> g(n);
    for (int r = 0; r < rows; r++)
        for (int hd = 0; hd < heads; hd++) {
            const float* seg = h + (size_t)r * in + (size_t)hd * dh;
            double mean = 0, var = 0;
            for (int c = 0; c < dh; c++) mean += seg[c];
            mean /= dh;
            for (int c = 0; c < dh; c++) var += (seg[c] - mean) * (seg[c] - mean);
            var /= dh;
            for (int c = 0; c < dh; c++) {
                size_t at = (size_t)r * in + (size_t)hd * dh + c;
                int ch = hd * dh + c;
                double v = (seg[c] - mean) / std::sqrt(var + 1e-6) * (offset ? 1.0 + nw[ch] : (double)nw[ch]) + nb[ch];
                g[at] = v / (1 + std::exp(-(double)o[at]));
            }
        }
    std::vector<double> yd = linearD(g, w, bias, rows, in, out);
    for (size_t i = 0; i < yd.size(); i++) yd[i] += res0[i];
    close(tag, yd, res);
}
}  // namespace

/**
 * The wide LM-head kernel (one row, a grid smaller than the rows) against the group kernel with the same single
 * product, bit for bit, and its fused arg-max key against the host's arg-max of the group kernel's output.
 * ties: every weight row a copy of the first (all logits equal: token 0, torch's rule, must win over every block).
 */
void wideHead(int in, int out, int grid, bool bias, float cap, bool ties) {
    float *x = randg(in, 2), *nw = randg(in), *b = bias ? randg(out) : nullptr;
    __nv_bfloat16* w = randw((size_t)out * in);
    if (ties)
        for (int o = 1; o < out; o++) std::memcpy(w + (size_t)o * in, w, (size_t)in * 2);
    float *want = emu::galloc(out), *got = emu::galloc(out);
    float* none = nullptr;
    const __nv_bfloat16* wn = nullptr;
    emu::launch(D(blocks(out, GEMV_WARPS)), D(GEMV_WARPS * 32), (size_t)(in + rms_stats_floats(1, in)) * 4, [&] {
        xlstm_gemv_rmsnorm_group_r1(want, none, none, none, none, none, w, wn, wn, wn, wn, wn, b, none, none, none, none,
                                    none, out, 0, 0, 0, 0, 0, x, nw, nullptr, 1e-5f, cap, 0, 1, in);
    });
    auto* keys = reinterpret_cast<unsigned long long*>(emu::galloc(2));
    keys[0] = 0;
    emu::launch(D(grid), D(GEMV_WARPS * 32), (size_t)(in + rms_stats_floats(1, in)) * 4 + GEMV_WARPS * 8, [&] {
        xlstm_gemv_rmsnorm_wide_r1(got, w, b, out, x, nw, nullptr, 1e-5f, cap, in, keys);
    });
    std::string tag = " in=" + std::to_string(in) + " out=" + std::to_string(out) + " grid=" + std::to_string(grid) +
                      (ties ? " ties" : "");
    same("wide LM head" + tag, want, got, out);
    int best = 0;   // torch.argmax: the first largest
    for (int o = 1; o < out; o++)
        if (want[o] > want[best]) best = o;
    bool ok = argmax_key_index(keys[0]) == best && keys[0] == argmax_key(want[best], best);
    if (!ok) fails++;
    std::printf("%s wide LM head's arg-max%s: token %d, the host's %d\n", ok ? "ok  " : "FAIL", tag.c_str(),
                argmax_key_index(keys[0]), best);
}

int main() {
    wideHead(96, 1000, 3, true, 30.f, false);
    wideHead(768, 517, 5, false, 0.f, true);
    wideHead(1024, 64, 16, true, 15.f, false);    // more warps than rows
    for (int rows : {1, 3, 16})
        for (bool bias : {false, true}) {
            rmsNormLinears(rows, 96, bias);
            gatedAndAdd(rows, 64, 40, bias);
        }
    rmsNormLinears(2, 2048, true);   // the largest input the prologue kernels take (CudaOps routes larger ones apart)
    rmsNormLinears(16, 768, false);  // xLSTM-7B's width at 16 rows: the 48 KB edge of the staged rows
    rmsNormLinears(1, 776, true);    // not a multiple of 256 (16-byte vectors past the block's first 256)
    gatedAndAdd(1, 768, 72, true);
    gatedAndAdd(5, 1000, 24, false);
    gatedAndAdd(2, 2048, 16, true);  // two vectors per thread in the prologue
    // batch-1 builds past their first pass of weights (4 vectors per lane: in > 1024)
    rmsNormLinears(1, 2048, false);
    gatedAndAdd(1, 1032, 8, true);
    gatedAndAdd(1, 64, 2112, true);   // the down projection's nine vectors per lane (xLSTM-7B architecture, D = 768)
    gatedAndAdd(1, 48, 2304, false);
    headNormGated(1, 4, 48, false);
    headNormGated(5, 3, 20, true);
    longGemv(1, 4104, 9);
    longGemv(3, 2056, 5);
    headNormGatedLinearAdd(1, 4, 48, 40, false);
    headNormGatedLinearAdd(7, 2, 24, 17, true);
    headNormGatedLinearAdd(1, 4, 192, 24, true);   // xLSTM-7B's mLSTM heads (D = 768)
    headNormGatedLinearAdd(1, 8, 3, 9, false);     // heads of 3 channels: a 16-byte vector spans two heads
    headNormGatedLinearAdd(16, 4, 24, 8, true);
    headNormGatedLinearAdd(2, 1, 2048, 5, false);  // one head over a 2048-wide input: two vectors per thread
    headNormGatedLinearAdd(1, 2, 1000, 7, true);   // batch-1 build, two passes of weights
    // xLSTM-7B's 4,096-wide rows (8 heads of 512): further passes of weights after the prologue in both builds
    rmsNormLinears(1, 4096, true);
    rmsNormLinears(3, 4096, false);
    gatedAndAdd(1, 4096, 16, false);
    gatedAndAdd(2, 4096, 24, true);
    headNormGatedLinearAdd(1, 8, 512, 11, false);
    std::printf(fails == 0 ? "ALL OK\n" : "%d FAILURES\n", fails);
    return fails != 0;
}
