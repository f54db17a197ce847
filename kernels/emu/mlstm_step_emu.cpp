// Runs the one-kernel mLSTM steps (xlstm_mlstm_step_fused_f32: a block per head; xlstm_mlstm_step_cols_f32: a block
// per head and slice of columns) on the CPU emulator against a double-precision recurrent step (the formulas of the
// two-kernel step they replace): outputs h and the state C, n, m over several steps, from a carried state and from
// the zero state; the sliced kernel's block counters must be back at zero.
//   kernels/emu/run.sh mlstm_step
#include "cuda_emu.h"
#include "../src/mlstm_step.cu"   // the two-kernel step's static shared arrays are not emulated (not run here)
#include <random>

namespace {
std::mt19937 rng(7);
int fails = 0;

float* randg(size_t n, double s = 1, double shift = 0) {
    std::normal_distribution<double> d(shift, s);
    float* p = emu::galloc(n);
    for (size_t i = 0; i < n; i++) p[i] = (float)d(rng);
    return p;
}

void close(const std::string& what, const float* a, const std::vector<double>& b) {
    double num = 0, den = 0;
    for (size_t i = 0; i < b.size(); i++) {
        if (std::isnan(a[i])) { num = NAN; break; }
        num += (a[i] - b[i]) * (a[i] - b[i]);
        den += b[i] * b[i];
    }
    double e = std::sqrt(num / std::max(den, 1e-30));
    bool ok = e <= 1e-5;
    if (!ok) fails++;
    std::printf("%s %s relative difference %.2e\n", ok ? "ok  " : "FAIL", what.c_str(), e);
}

void stepCase(int B, int S, int NH, int DQ, int DV, float m0, int cols = 16) {
    size_t nq = (size_t)B * S * NH * DQ, nv = (size_t)B * S * NH * DV, ng = (size_t)B * S * NH;
    size_t nc = (size_t)B * NH * DQ * DV, nn = (size_t)B * NH * DQ, nm = (size_t)B * NH;
    float *q = randg(nq), *k = randg(nq), *v = randg(nv), *ig = randg(ng, 2), *fg = randg(ng, 2, 2);
    float *C = randg(nc, 0.3), *n = randg(nn, 0.3), *m = emu::galloc(nm), *h = emu::galloc(nv);
    for (size_t i = 0; i < nm; i++) m[i] = m0;
    if (m0 == -INFINITY) {   // the zero state
        std::memset(C, 0, nc * 4);
        std::memset(n, 0, nn * 4);
    }
    std::vector<double> rC(C, C + nc), rn(n, n + nn), rm(m, m + nm), rh(nv);
    // the column-sliced kernel on copies of the state (counters start at zero and must end there)
    float *C2 = emu::galloc(nc), *n2 = emu::galloc(nn), *m2 = emu::galloc(nm), *h2 = emu::galloc(nv);
    std::memcpy(C2, C, nc * 4);
    std::memcpy(n2, n, nn * 4);
    std::memcpy(m2, m, nm * 4);
    unsigned* counters = reinterpret_cast<unsigned*>(emu::galloc(nm));
    std::memset(counters, 0, nm * 4);
    int v4 = DV / 4, groups = STEP_FUSED_THREADS / v4;
    size_t shared = (size_t)(32 + ((3 * DQ + 3) & ~3) + groups * DV) * 4;
    emu::launch(dim3{(unsigned)(B * NH)}, dim3{STEP_FUSED_THREADS}, shared,
                [&] { xlstm_mlstm_step_fused_f32(q, k, v, ig, fg, C, n, m, h, S, NH, DQ, DV, 1e-6f); });
    int colGroups = STEP_COLS_THREADS / (cols / 4);
    size_t colShared = (size_t)(32 + ((3 * DQ + 3) & ~3) + colGroups * cols) * 4;
    emu::launch(dim3{(unsigned)(B * NH), (unsigned)((DV + cols - 1) / cols)}, dim3{STEP_COLS_THREADS}, colShared,
                [&] { xlstm_mlstm_step_cols_f32(q, k, v, ig, fg, C2, n2, m2, h2, counters, S, NH, DQ, DV, cols, 1e-6f, nullptr, 0ll); });
    const double ks = 1.0 / std::sqrt((double)DQ);
    for (int b = 0; b < B; b++)
        for (int hd = 0; hd < NH; hd++) {
            size_t bh = (size_t)b * NH + hd;
            for (int t = 0; t < S; t++) {
                size_t row = (size_t)b * S + t, g = row * NH + hd;
                double lf = std::min((double)fg[g], 0.0) - std::log1p(std::exp(-std::fabs((double)fg[g])));
                double mp = rm[bh], iv = ig[g], mn = std::max(lf + mp, iv);
                double fh = std::isinf(mp) ? 0.0 : std::exp(lf + mp - mn), ih = std::exp(iv - mn);
                double qn = 0;
                for (int i = 0; i < DQ; i++) {
                    double ki = k[row * NH * DQ + hd * DQ + i] * ks;
                    rn[bh * DQ + i] = fh * rn[bh * DQ + i] + ih * ki;
                    qn += q[row * NH * DQ + hd * DQ + i] * rn[bh * DQ + i];
                    for (int j = 0; j < DV; j++) {
                        double& c = rC[(bh * DQ + i) * DV + j];
                        c = fh * c + ih * ki * v[row * NH * DV + hd * DV + j];
                    }
                }
                double den = std::max(std::fabs(qn), std::exp(-mn)) + 1e-6;
                for (int j = 0; j < DV; j++) {
                    double s = 0;
                    for (int i = 0; i < DQ; i++) s += q[row * NH * DQ + hd * DQ + i] * rC[(bh * DQ + i) * DV + j];
                    rh[row * NH * DV + hd * DV + j] = s / den;
                }
                rm[bh] = mn;
            }
        }
    std::printf("case B=%d S=%d NH=%d DQ=%d DV=%d m0=%g\n", B, S, NH, DQ, DV, m0);
    close("h", h, rh);
    close("C", C, rC);
    close("n", n, rn);
    close("m", m, rm);
    std::printf("column slices of %d:\n", cols);
    close("h", h2, rh);
    close("C", C2, rC);
    close("n", n2, rn);
    close("m", m2, rm);
    bool zero = true;
    for (size_t i = 0; i < nm; i++) zero = zero && counters[i] == 0;
    if (!zero) fails++;
    std::printf("%s counters back at zero\n", zero ? "ok  " : "FAIL");
}
}  // namespace

int main() {
    stepCase(1, 1, 4, 96, 192, 0.f);
    stepCase(2, 3, 2, 16, 24, -INFINITY);
    stepCase(1, 2, 1, 8, 4, 0.5f);
    stepCase(1, 1, 1, 32, 384, 0.f);
    stepCase(2, 1, 4, 96, 192, 1.f, 16);     // xLSTM-7B's heads at D = 768, batch 2: 12 slices of 16 columns
    stepCase(1, 2, 3, 300, 20, 0.f, 16);     // DV not a multiple of the slice (4 columns in the last); DQ > threads
    stepCase(1, 1, 2, 13, 8, -INFINITY, 4);  // odd DQ, one vector per slice, the zero state
    stepCase(1, 3, 1, 1024, 12, 0.5f, 8);    // DQ of 1024: 8 rows per thread, in two batches
    std::printf(fails == 0 ? "ALL OK\n" : "%d FAILURES\n", fails);
    return fails != 0;
}
