// Runs the backward kernels of kernels/src/grad.cu and the cross-entropy of train.cu (plain and soft-capped) on the CPU emulator against
// double-precision references, with the launch logic of CudaGradOps.java (chunking of the column sums, thread
// counts, the two-stage reductions). Buffers end at a guard page (emu::galloc): reading past a row faults.
//   kernels/emu/run.sh grad
#include "cuda_emu.h"
#include "../src/train.cu"
#include "../src/elementwise.cu"
// grad.cu's kernels declare static shared arrays: one copy per block (blocks run one after another here)
#undef __shared__
#define __shared__ static
#include "../src/grad.cu"
#include <array>
#include <random>

namespace {
std::mt19937_64 rng(5);
int fails = 0;

std::vector<float> randv(size_t n, double s = 1) {
    std::normal_distribution<double> d(0, s);
    std::vector<float> v(n);
    for (auto& x : v) x = (float)d(rng);
    return v;
}

/** A guarded device-like copy of v (the emulator's global memory). */
template <class T>
T* dev(const std::vector<T>& v) {
    static_assert(sizeof(T) == 4, "4-byte elements");
    T* p = reinterpret_cast<T*>(emu::galloc(v.size()));
    std::memcpy(p, v.data(), v.size() * 4);
    return p;
}

std::vector<float> host(const float* p, size_t n) { return std::vector<float>(p, p + n); }

void cmp(const std::string& what, const std::vector<float>& got, const std::vector<double>& want, double tol = 1e-5) {
    double num = 0, den = 0;
    for (size_t i = 0; i < want.size(); i++) {
        double d = got[i] - want[i];
        num += d * d;
        den += want[i] * want[i];
    }
    double e = den == 0 ? std::sqrt(num) : std::sqrt(num / den);
    bool ok = e <= tol && !std::isnan(e);
    if (!ok) fails++;
    std::printf("%s %s: relative error %.3g\n", ok ? "ok  " : "FAIL", what.c_str(), e);
}

dim3 D(unsigned x, unsigned y = 1, unsigned z = 1) { return dim3{x, y, z}; }
int rowsPerChunk(long rows) { return (int)std::max(128L, (rows + 511) / 512); }
unsigned blocks1d(long n) { return (unsigned)std::max(1L, std::min((n + 255) / 256, 65535L * 8)); }

/** CudaGradOps.columnSums: out1 += Σ f, out2 += Σ a. */
void colsum(int mode, const float* a, const float* b, const float* mean, const float* rstd, long R, int C, int spr,
            int sw, float* out1, float* out2) {
    int per = rowsPerChunk(R), chunks = (int)((R + per - 1) / per);
    float* p1 = emu::galloc((size_t)chunks * C);
    float* p2 = out2 ? emu::galloc((size_t)chunks * C) : nullptr;
    emu::launch(D((C + 31) / 32, chunks), D(256), 0,
                [&] { xlstm_colsum_partial_f32(p1, p2, a, b, mean, rstd, R, C, per, mode, spr, sw); });
    emu::launch(D(blocks1d(C)), D(256), 0, [&] { xlstm_colsum_finish_f32(out1, p1, chunks, C); });
    if (out2) emu::launch(D(blocks1d(C)), D(256), 0, [&] { xlstm_colsum_finish_f32(out2, p2, chunks, C); });
}

double sig(double x) { return 1 / (1 + std::exp(-x)); }
double act(int a, double x) {
    switch (a) {
        case 0: return 0.5 * x * (1 + std::erf(x / std::sqrt(2.0)));
        case 1: return std::max(x, 0.0);
        case 2: return std::max(x, 0.0) * std::max(x, 0.0);
        case 3: return sig(x);
        case 4: return x * sig(x);
        default: return 1.0507009873554805 * (x > 0 ? x : 1.6732632423543772 * std::expm1(x));
    }
}
double actGrad(int a, double x) {
    switch (a) {
        case 0: return 0.5 * (1 + std::erf(x / std::sqrt(2.0))) + x * std::exp(-0.5 * x * x) / std::sqrt(2 * M_PI);
        case 1: return x > 0;
        case 2: return x > 0 ? 2 * x : 0;
        case 3: return sig(x) * (1 - sig(x));
        case 4: return sig(x) * (1 + x * (1 - sig(x)));
        default: return x > 0 ? 1.0507009873554805 : 1.0507009873554805 * 1.6732632423543772 * std::exp(x);
    }
}

void columnSums() {
    long R = 300;
    int C = 45;
    auto a = randv(R * C), b = randv(R * C), mean = randv(R * 3), rstd = randv(R * 3);
    for (int mode = 0; mode < 4; mode++) {
        int spr = mode >= 2 ? 3 : 1, sw = mode >= 2 ? 15 : C;
        float *o1 = dev(std::vector<float>(C, 0.5f)), *o2 = dev(std::vector<float>(C, -0.25f));
        colsum(mode, dev(a), dev(b), dev(mean), dev(rstd), R, C, spr, sw, o1, o2);
        std::vector<double> w1(C, 0.5), w2(C, -0.25);
        for (long r = 0; r < R; r++)
            for (int c = 0; c < C; c++) {
                long i = r * C + c, s = r * spr + c / sw;
                double av = a[i], f = mode == 0 ? av : mode == 1 ? av * b[i]
                                                 : mode == 2 ? av * (b[i] - mean[s]) * rstd[s] : av * b[i] * rstd[s];
                w1[c] += f;
                w2[c] += av;
            }
        cmp("column sums mode " + std::to_string(mode) + " (3 chunks)", host(o1, C), w1);
        cmp("column sums mode " + std::to_string(mode) + " plain sum", host(o2, C), w2);
    }
}

void layerNorms() {
    for (int heads : {1, 3})
        for (int acc : {0, 1})
            for (int off : {0, 1})
                for (int hasW : {0, 1}) {
                    int rows = 5, dh = heads == 1 ? 37 : 7, d = heads * dh;
                    auto x = randv(rows * d, 2), dy = randv(rows * d), w = randv(d, 0.5), dx0 = randv(rows * d);
                    auto dw0 = randv(d), db0 = randv(d);
                    float *dx = dev(dx0), *mean = emu::galloc(rows * heads), *rstd = emu::galloc(rows * heads);
                    float *dw = dev(dw0), *db = dev(db0), *xd = dev(x), *dyd = dev(dy), *wd = hasW ? dev(w) : nullptr;
                    int threads = std::min(256, std::max(32, (dh + 31) / 32 * 32));
                    emu::launch(D(rows, heads), D(threads), 0, [&] {
                        xlstm_layernorm_backward_f32(dx, mean, rstd, xd, dyd, wd, heads, dh, 1e-5f, off, acc);
                    });
                    colsum(2, dyd, xd, mean, rstd, rows, d, heads, dh, dw, db);
                    std::vector<double> wdx(rows * d), wdw(dw0.begin(), dw0.end()), wdb(db0.begin(), db0.end());
                    for (int r = 0; r < rows; r++)
                        for (int h = 0; h < heads; h++) {
                            long base = (long)r * d + h * dh;
                            double mu = 0, var = 0, mg = 0, mgx = 0;
                            for (int j = 0; j < dh; j++) mu += x[base + j];
                            mu /= dh;
                            for (int j = 0; j < dh; j++) var += (x[base + j] - mu) * (x[base + j] - mu);
                            double rho = 1 / std::sqrt(var / dh + 1e-5);
                            std::vector<double> xh(dh), g(dh);
                            for (int j = 0; j < dh; j++) {
                                xh[j] = (x[base + j] - mu) * rho;
                                double s = !hasW ? 1 : off ? 1 + w[h * dh + j] : w[h * dh + j];
                                g[j] = dy[base + j] * s;
                                mg += g[j];
                                mgx += g[j] * xh[j];
                                wdw[h * dh + j] += dy[base + j] * xh[j];
                                wdb[h * dh + j] += dy[base + j];
                            }
                            mg /= dh;
                            mgx /= dh;
                            for (int j = 0; j < dh; j++)
                                wdx[base + j] = rho * (g[j] - mg - xh[j] * mgx) + (acc ? dx0[base + j] : 0);
                        }
                    std::string what = "layer norm heads=" + std::to_string(heads) + " acc=" + std::to_string(acc) +
                                       " offset=" + std::to_string(off) + " weight=" + std::to_string(hasW);
                    cmp(what + " dx", host(dx, rows * d), wdx);
                    cmp(what + " dw", host(dw, d), wdw);
                    cmp(what + " db", host(db, d), wdb);
                }
}

void rmsNorm() {
    for (int acc : {0, 1}) {
        int rows = 6, d = 45;
        auto x = randv(rows * d, 2), dy = randv(rows * d), w = randv(d, 0.5), dx0 = randv(rows * d);
        auto dw0 = randv(d), db0 = randv(d);
        float *dx = dev(dx0), *rstd = emu::galloc(rows), *dw = dev(dw0), *db = dev(db0), *xd = dev(x), *dyd = dev(dy),
              *wd = dev(w);
        emu::launch(D(rows), D(64), 0, [&] { xlstm_rmsnorm_backward_f32(dx, rstd, xd, dyd, wd, d, 1e-6f, acc); });
        colsum(3, dyd, xd, nullptr, rstd, rows, d, 1, d, dw, db);
        std::vector<double> wdx(rows * d), wdw(dw0.begin(), dw0.end()), wdb(db0.begin(), db0.end());
        for (int r = 0; r < rows; r++) {
            long base = r * d;
            double ss = 0, gx = 0;
            for (int j = 0; j < d; j++) ss += x[base + j] * x[base + j];
            double rho = 1 / std::sqrt(ss / d + 1e-6);
            std::vector<double> g(d);
            for (int j = 0; j < d; j++) {
                g[j] = dy[base + j] * w[j];
                gx += g[j] * x[base + j];
                wdw[j] += dy[base + j] * x[base + j] * rho;
                wdb[j] += dy[base + j];
            }
            gx /= d;
            for (int j = 0; j < d; j++) wdx[base + j] = rho * (g[j] - x[base + j] * rho * rho * gx) + (acc ? dx0[base + j] : 0);
        }
        std::string what = "rms norm acc=" + std::to_string(acc);
        cmp(what + " dx", host(dx, rows * d), wdx);
        cmp(what + " dw", host(dw, d), wdw);
        cmp(what + " db", host(db, d), wdb);
    }
}

void conv() {
    for (auto s : std::vector<std::array<int, 4>>{{3, 7, 40, 11}, {2, 70, 5, 4}, {1, 1, 3, 1}, {2, 150, 33, 4}}) {
        int B = s[0], S = s[1], F = s[2], K = s[3];
        long R = (long)B * S;
        auto x = randv(R * F), dy = randv(R * F), w = randv(F * K), dw0 = randv(F * K), db0 = randv(F);
        float *xd = dev(x), *dyd = dev(dy), *wd = dev(w), *dx = emu::galloc(R * F), *dw = dev(dw0), *db = dev(db0);
        emu::launch(D(blocks1d(R * F)), D(256), 0, [&] { xlstm_conv1d_backward_dx_f32(dx, dyd, wd, S, F, K, R * F); });
        int per = rowsPerChunk(R), chunks = (int)((R + per - 1) / per);
        float *pw = emu::galloc((size_t)chunks * F * K), *pb = emu::galloc((size_t)chunks * F);
        emu::launch(D((F + 31) / 32, chunks, (K + 7) / 8), D(256), 0,
                    [&] { xlstm_conv1d_backward_dw_partial_f32(pw, pb, xd, dyd, R, S, F, K, per); });
        emu::launch(D(blocks1d((long)F * K)), D(256), 0, [&] { xlstm_colsum_finish_f32(dw, pw, chunks, (int64_t)F * K); });
        emu::launch(D(blocks1d(F)), D(256), 0, [&] { xlstm_colsum_finish_f32(db, pb, chunks, F); });
        std::vector<double> wdx(R * F), wdw(dw0.begin(), dw0.end()), wdb(db0.begin(), db0.end());
        for (int b = 0; b < B; b++)
            for (int c = 0; c < F; c++)
                for (int t = 0; t < S; t++) {
                    double g = dy[((long)b * S + t) * F + c], a = 0;
                    wdb[c] += g;
                    for (int j = 0; j < K && j <= t; j++) wdw[c * K + K - 1 - j] += g * x[((long)b * S + t - j) * F + c];
                    for (int j = 0; j < K && t + j < S; j++) a += w[c * K + K - 1 - j] * dy[((long)b * S + t + j) * F + c];
                    wdx[((long)b * S + t) * F + c] = a;
                }
        std::string what = "conv B=" + std::to_string(B) + " S=" + std::to_string(S) + " F=" + std::to_string(F) +
                           " K=" + std::to_string(K);
        cmp(what + " dx", host(dx, R * F), wdx);
        cmp(what + " dw", host(dw, F * K), wdw);
        cmp(what + " db", host(db, F), wdb);
    }
}

void elementwise() {
    int n = 1000;
    auto x = randv(n, 2), g = randv(n, 2), dy = randv(n);
    float *xd = dev(x), *gd = dev(g);
    for (int a = 0; a < 6; a++) {
        float *dyd = dev(dy), *dx = emu::galloc(n), *dg = emu::galloc(n);
        emu::launch(D(blocks1d(n)), D(256), 0, [&] { xlstm_activation_backward_f32(dx, xd, dyd, a, n); });
        // dx written over dy
        emu::launch(D(blocks1d(n)), D(256), 0, [&] { xlstm_mul_activated_backward_f32(dyd, dg, xd, gd, dyd, a, n); });
        std::vector<double> w(n), wx(n), wg(n);
        for (int i = 0; i < n; i++) {
            w[i] = dy[i] * actGrad(a, x[i]);
            wx[i] = dy[i] * act(a, g[i]);
            wg[i] = dy[i] * x[i] * actGrad(a, g[i]);
        }
        std::string what = "activation " + std::to_string(a);
        cmp(what + " backward", host(dx, n), w);
        cmp(what + " mulActivated dx (over dy)", host(dyd, n), wx);
        cmp(what + " mulActivated dg", host(dg, n), wg);
    }
    {
        float *dyd = dev(dy);
        emu::launch(D(blocks1d(n)), D(256), 0, [&] { xlstm_softcap_backward_f32(dyd, xd, dyd, 2.5f, n); });
        std::vector<double> w(n);
        for (int i = 0; i < n; i++) w[i] = dy[i] * (1 - std::tanh(x[i] / 2.5) * std::tanh(x[i] / 2.5));
        cmp("soft cap (over dy)", host(dyd, n), w);
    }
    for (int acc : {0, 1}) {
        auto whole = randv(7 * 10), p0 = randv(7 * 3);
        float *part = dev(p0), *wd = dev(whole);
        emu::launch(D(1), D(256), 0, [&] { xlstm_split_columns_f32(part, wd, 3, 10, 4, acc, 21); });
        std::vector<double> w(21);
        for (int r = 0; r < 7; r++)
            for (int j = 0; j < 3; j++) w[r * 3 + j] = whole[r * 10 + 4 + j] + (acc ? p0[r * 3 + j] : 0);
        cmp("split columns acc=" + std::to_string(acc), host(part, 21), w);
        auto sc = randv(10), db0 = randv(70);
        float *scd = dev(sc), *db = dev(db0);
        emu::launch(D(1), D(256), 0, [&] { xlstm_scale_columns_f32(db, scd, wd, 10, acc, 70); });
        std::vector<double> wdb(70);
        for (int i = 0; i < 70; i++) wdb[i] = whole[i] * sc[i % 10] + (acc ? db0[i] : 0);
        cmp("scale columns acc=" + std::to_string(acc), host(db, 70), wdb);
    }
}

void embedding() {
    // tokens {3, 0, 3, 5, 0, 3} grouped as CudaGradOps.tokenGroups does (checked by TokenGroupsTest)
    int d = 40;
    std::vector<int> tokens = {3, 0, 3, 5, 0, 3}, csr = {0, 3, 5, 0, 2, 5, 6, 1, 4, 0, 2, 5, 3};
    auto dy = randv(6 * d), t0 = randv(6 * d);
    float *table = dev(t0), *dyd = dev(dy);
    int* c = dev(csr);
    emu::launch(D(3, 1), D(64), 0, [&] { xlstm_embedding_backward_f32(table, dyd, c, 3, d); });
    std::vector<double> w(t0.begin(), t0.end());
    for (int r = 0; r < 6; r++)
        for (int j = 0; j < d; j++) w[tokens[r] * d + j] += dy[r * d + j];
    cmp("embedding scatter-add", host(table, 6 * d), w);
}

void dropout() {
    // DropoutMask.keep(seed, i, 0.5f) from Java for i = 0, 1, 2, 12345, 1048578
    struct Case { int64_t seed; int keep[5]; };
    Case cases[] = {{1, {1, 1, 1, 0, 1}}, {-7, {0, 0, 1, 0, 1}}, {(int64_t)0x9E3779B97F4A7C15ull, {0, 0, 1, 0, 0}},
                    {INT64_MAX, {0, 1, 1, 0, 1}}};
    int64_t idx[] = {0, 1, 2, 12345, 1048578};
    bool ok = true;
    for (auto& c : cases)
        for (int i = 0; i < 5; i++) ok &= dropout_keep(c.seed, idx[i], 0.5f) == (c.keep[i] != 0);
    if (!ok) fails++;
    std::printf("%s dropout mask = Java's DropoutMask on sample seeds and indices\n", ok ? "ok  " : "FAIL");
}

void crossEntropy() {
    for (int cached : {0, 1})
        for (int V : {1, 7, 64, 257, 1000})
            for (int alias : {0, 1})
                for (int withGrad : {0, 1}) {
                    if (alias && !withGrad) continue;
                    int R = 5;
                    auto lg = randv((size_t)R * V, 3);
                    std::vector<int> t(R);
                    for (int r = 0; r < R; r++) t[r] = r % 3 == 1 ? -1 : (int)(rng() % V);
                    float *buf = dev(lg), *loss = emu::galloc(R), *grad = emu::galloc((size_t)R * V);
                    float* g = !withGrad ? nullptr : alias ? buf : grad;
                    int* td = dev(t);
                    int threads = std::min(1024, std::max(128, ((V + 15) / 16 + 31) / 32 * 32));
                    float scale = 1.f / 3;
                    size_t shared = CE_SCRATCH + (cached ? (size_t)V * 4 : 0);
                    emu::launch(D(R), D(threads), shared, [&] {
                        if (cached) xlstm_cross_entropy_cached_f32(buf, td, loss, g, V, scale);
                        else xlstm_cross_entropy_f32(buf, td, loss, g, V, scale);
                    });
                    std::vector<double> wl(R), wg((size_t)R * V);
                    for (int r = 0; r < R; r++) {
                        double mx = -INFINITY, z = 0;
                        for (int j = 0; j < V; j++) mx = std::max(mx, (double)lg[r * V + j]);
                        for (int j = 0; j < V; j++) z += std::exp(lg[r * V + j] - mx);
                        double lz = mx + std::log(z);
                        wl[r] = t[r] < 0 ? 0 : lz - lg[r * V + t[r]];
                        for (int j = 0; j < V; j++) wg[r * V + j] = t[r] < 0 ? 0 : (std::exp(lg[r * V + j] - lz) - (j == t[r])) / 3;
                    }
                    std::string what = "cross-entropy cached=" + std::to_string(cached) + " V=" + std::to_string(V) +
                                       (withGrad ? alias ? " over the logits" : "" : " loss only");
                    if (withGrad) cmp(what + " gradient", host(g, (size_t)R * V), wg);
                    cmp(what + " loss", host(loss, R), wl);
                }
}
/** The fused soft-capped cross-entropy equals xlstm_softcap_f32, the cross-entropy and the cap's backward bit for bit. */
void crossEntropySoftCapped() {
    for (int cached : {0, 1})
        for (int V : {7, 64, 1000}) {
            int R = 4;
            float cap = 15.f;
            auto raw = randv((size_t)R * V, 20);
            std::vector<int> t(R);
            for (int r = 0; r < R; r++) t[r] = r == 2 ? -1 : (int)(rng() % V);
            int* td = dev(t);
            int threads = std::min(1024, std::max(128, ((V + 15) / 16 + 31) / 32 * 32));
            float scale = 1.f / 3;
            size_t shared = CE_SCRATCH + (cached ? (size_t)V * 4 : 0);
            // the three kernels
            float *x = dev(raw), *capped = emu::galloc((size_t)R * V), *g = emu::galloc((size_t)R * V),
                  *loss = emu::galloc(R);
            emu::launch(D(1), D(256), 0, [&] { xlstm_softcap_f32(capped, x, cap, (int64_t)R * V); });
            emu::launch(D(R), D(threads), shared, [&] {
                if (cached) xlstm_cross_entropy_cached_f32(capped, td, loss, g, V, scale);
                else xlstm_cross_entropy_f32(capped, td, loss, g, V, scale);
            });
            emu::launch(D(1), D(256), 0, [&] { xlstm_softcap_backward_f32(g, x, g, cap, (int64_t)R * V); });
            // fused
            float *capped2 = emu::galloc((size_t)R * V), *g2 = emu::galloc((size_t)R * V), *loss2 = emu::galloc(R);
            emu::launch(D(R), D(threads), shared, [&] {
                if (cached) xlstm_cross_entropy_softcap_cached_f32(x, td, loss2, g2, capped2, V, scale, cap);
                else xlstm_cross_entropy_softcap_f32(x, td, loss2, g2, capped2, V, scale, cap);
            });
            bool same = std::memcmp(capped, capped2, (size_t)R * V * 4) == 0 && std::memcmp(g, g2, (size_t)R * V * 4) == 0 &&
                        std::memcmp(loss, loss2, (size_t)R * 4) == 0;
            if (!same) fails++;
            std::printf("%s soft-capped cross-entropy cached=%d V=%d: fused = soft cap, cross-entropy, cap backward (bits)\n",
                        same ? "ok  " : "FAIL", cached, V);
        }
}
}  // namespace

int main() {
    columnSums();
    layerNorms();
    rmsNorm();
    conv();
    elementwise();
    embedding();
    dropout();
    crossEntropy();
    crossEntropySoftCapped();
    std::printf("%d failures\n", fails);
    return fails != 0;
}
