// Runs the one-kernel mLSTM step (xlstm_mlstm_step_fused_f32) on the CPU emulator against a double-precision
// recurrent step (the formulas of the two-kernel step it replaces): outputs h and the state C, n, m over several
// steps, from a carried state and from the zero state.
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

void stepCase(int B, int S, int NH, int DQ, int DV, float m0) {
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
    int v4 = DV / 4, groups = STEP_FUSED_THREADS / v4;
    size_t shared = (size_t)(32 + ((3 * DQ + 3) & ~3) + groups * DV) * 4;
    emu::launch(dim3{(unsigned)(B * NH)}, dim3{STEP_FUSED_THREADS}, shared,
                [&] { xlstm_mlstm_step_fused_f32(q, k, v, ig, fg, C, n, m, h, S, NH, DQ, DV, 1e-6f); });
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
}
}  // namespace

int main() {
    stepCase(1, 1, 4, 96, 192, 0.f);
    stepCase(2, 3, 2, 16, 24, -INFINITY);
    stepCase(1, 2, 1, 8, 4, 0.5f);
    stepCase(1, 1, 1, 32, 384, 0.f);
    std::printf(fails == 0 ? "ALL OK\n" : "%d FAILURES\n", fails);
    return fails != 0;
}
