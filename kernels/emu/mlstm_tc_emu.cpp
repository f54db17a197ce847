// Runs kernels/src/mlstm_tc.cu on the CPU emulator against a double-precision chunkwise reference (inputs rounded
// to bf16 as the kernels round them). The launch logic mirrors CudaMlstmTensorCores.java. Build and run:
//   kernels/emu/run.sh mlstm_tc [big]     (big: also the 7B head sizes over 150 steps, a few seconds)
#include "cuda_emu.h"
#include "../src/mlstm_tc.cu"
#include <random>

namespace {
struct Plan { int chunk, outTile, outShared, stateRows, stateCols, stateShared; };
int al(long b) { return (int)((b + 127) & ~127L); }
int outSharedOf(int l, int dq, int tv) {
    return al((long)l * (l + dq + 8) * 2) + al((long)l * (dq + 8) * 2) + al((long)(l + dq) * (tv + 8) * 2) +
           al((long)std::max(l * (l + 4), 8 * 256) * 4) + al((long)dq * 4) + 4 * l * 4;
}
int stateSharedOf(int l, int tq, int tv) {
    return al((long)l * (tq + 8) * 2) + al((long)l * (tv + 8) * 2) + al((long)l * tv * 4) + al((long)tq * (tv + 4) * 4) +
           (3 * l + tq + 2) * 4;
}
bool plan(int s, int dq, int dv, Plan& p) {
    if (dq % 16 || dv % 16) return false;
    int limit = 232448, two = (limit + 1024) / 2 - 1024, l0 = 64;
    while (l0 > 16 && l0 / 2 >= s) l0 /= 2;
    int wide = std::min(64, dv);
    int passes[3][2] = {{two, wide}, {limit, wide}, {limit, 16}};
    for (auto& pass : passes)
        for (int l = l0; l >= 16; l /= 2)
            for (int tv = std::min(dv, 128) / 16 * 16; tv >= pass[1]; tv -= 16) {
                if (dv % tv) continue;
                int sh = outSharedOf(l, dq, tv);
                if (sh > pass[0]) continue;
                int tq = dq % 32 == 0 ? 32 : 16, tvs = dv % 32 == 0 ? 32 : 16;
                p = {l, tv, sh, tq, tvs, stateSharedOf(l, tq, tvs)};
                return true;
            }
    return false;
}

void run_tc(const float* q, const float* k, const float* v, const float* ig, const float* fg, float* C, float* n,
            float* m, float* h, int B, int S, int NH, int DQ, int DV, float eps, int forceSeg) {
    Plan p;
    if (!plan(S, DQ, DV, p)) { std::printf("no plan\n"); std::exit(1); }
    int l = p.chunk, chunks = (S + l - 1) / l;
    long perChunk = (long)B * NH * ((long)DQ * DV + DQ + 1) * 4;
    int seg = (int)std::max(1L, std::min((long)std::min(chunks, 65535), (256L << 20) / perChunk));
    if (forceSeg > 0) seg = std::min(seg, forceSeg);
    float* cs = emu::galloc((size_t)B * NH * seg * DQ * DV);
    float* ns = emu::galloc((size_t)B * NH * seg * DQ);
    float* ms = emu::galloc((size_t)B * NH * seg);
    float* mOut = emu::galloc((size_t)B * NH);
    std::printf("  plan: L=%d outTile=%d outShared=%d stateTile=%dx%d stateShared=%d segments of %d chunks\n", l,
                p.outTile, p.outShared, p.stateRows, p.stateCols, p.stateShared, seg);
    for (int c0 = 0; c0 < chunks; c0 += seg) {
        int segN = std::min(seg, chunks - c0), tbase = c0 * l, sseg = std::min(S, tbase + segN * l) - tbase;
        emu::launch(dim3{(unsigned)(B * NH), (unsigned)(DQ / p.stateRows), (unsigned)(DV / p.stateCols)}, dim3{128},
                    p.stateShared, [&] {
                        xlstm_mlstm_tc_states(k, v, ig, fg, C, n, m, mOut, cs, ns, ms, S, NH, DQ, DV, l, tbase, sseg,
                                              p.stateRows, p.stateCols);
                    });
        for (int i = 0; i < B * NH; i++) m[i] = mOut[i];
        emu::launch(dim3{(unsigned)(B * NH), (unsigned)segN, (unsigned)(DV / p.outTile)}, dim3{256}, p.outShared, [&] {
            xlstm_mlstm_tc_outputs(q, k, v, ig, fg, cs, ns, ms, h, S, NH, DQ, DV, l, tbase, sseg, p.outTile, eps);
        });
    }
}

double logsig(double x) { return std::min(x, 0.0) - std::log1p(std::exp(-std::fabs(x))); }

// double-precision chunkwise reference (the algorithm of ReferenceOps.mlstmChunkwise)
void reference(const std::vector<double>& q, const std::vector<double>& k, const std::vector<double>& v,
               const std::vector<float>& ig, const std::vector<float>& fg, std::vector<double>& C,
               std::vector<double>& n, std::vector<double>& m, std::vector<double>& h, int B, int S, int NH, int DQ,
               int DV, int chunk, double eps) {
    double scale = 1.0 / std::sqrt((double)DQ);
    auto qi = [&](int b, int t, int hd, int d) { return (((long)b * S + t) * NH + hd) * DQ + d; };
    auto vi = [&](int b, int t, int hd, int d) { return (((long)b * S + t) * NH + hd) * DV + d; };
    for (int b = 0; b < B; b++)
        for (int hd = 0; hd < NH; hd++) {
            long bh = (long)b * NH + hd;
            double* c = &C[bh * DQ * DV];
            double* nn = &n[bh * DQ];
            double mm = m[bh];
            for (int t0 = 0; t0 < S; t0 += chunk) {
                int len = std::min(chunk, S - t0);
                std::vector<double> bc(len), iv(len);
                double acc = 0;
                for (int j = 0; j < len; j++) {
                    acc += logsig(fg[((long)b * S + t0 + j) * NH + hd]);
                    bc[j] = acc;
                    iv[j] = ig[((long)b * S + t0 + j) * NH + hd];
                }
                for (int t = 0; t < len; t++) {
                    double mi = -INFINITY;
                    for (int u = 0; u <= t; u++) mi = std::max(mi, bc[t] - bc[u] + iv[u]);
                    double inter = bc[t] + mm, stab = std::max(mi, inter), wI = std::exp(inter - stab), den = 0;
                    std::vector<double> num(DV, 0.0);
                    for (int u = 0; u <= t; u++) {
                        double qk = 0;
                        for (int d = 0; d < DQ; d++) qk += q[qi(b, t0 + t, hd, d)] * k[qi(b, t0 + u, hd, d)];
                        double e = qk * scale * std::exp(bc[t] - bc[u] + iv[u] - stab);
                        den += e;
                        for (int d = 0; d < DV; d++) num[d] += e * v[vi(b, t0 + u, hd, d)];
                    }
                    if (wI != 0)
                        for (int a = 0; a < DQ; a++) {
                            double qa = q[qi(b, t0 + t, hd, a)] * wI;
                            den += qa * nn[a];
                            for (int d = 0; d < DV; d++) num[d] += qa * c[(long)a * DV + d];
                        }
                    double norm = std::max(std::fabs(den), std::exp(-stab)) + eps;
                    for (int d = 0; d < DV; d++) h[vi(b, t0 + t, hd, d)] = num[d] / norm;
                }
                double g = bc[len - 1], ml = -INFINITY;
                for (int u = 0; u < len; u++) ml = std::max(ml, g - bc[u] + iv[u]);
                double mn = std::max(g + mm, ml), decay = std::exp(g + mm - mn);
                for (int a = 0; a < DQ; a++) {
                    nn[a] *= decay;
                    for (int d = 0; d < DV; d++) c[(long)a * DV + d] *= decay;
                }
                for (int u = 0; u < len; u++) {
                    double wu = std::exp(g - bc[u] + iv[u] - mn);
                    for (int a = 0; a < DQ; a++) {
                        double ka = k[qi(b, t0 + u, hd, a)] * scale * wu;
                        nn[a] += ka;
                        for (int d = 0; d < DV; d++) c[(long)a * DV + d] += ka * v[vi(b, t0 + u, hd, d)];
                    }
                }
                mm = mn;
            }
            m[bh] = mm;
        }
}

double relerr(const float* got, const std::vector<double>& ref) {
    double num = 0, den = 0;
    for (size_t i = 0; i < ref.size(); i++) {
        double d = got[i] - ref[i];
        num += d * d;
        den += ref[i] * ref[i];
        if (std::isnan(got[i])) return NAN;
    }
    return den == 0 ? std::sqrt(num) : std::sqrt(num / den);
}

int failures = 0;

void check(const char* what, const float* got, const std::vector<double>& ref, double tol) {
    double e = relerr(got, ref);
    bool ok = e <= tol;
    if (!ok) failures++;
    std::printf("  %-4s rel err %.3e %s\n", what, e, ok ? "" : "  <-- FAIL");
}

void run_case(int B, int S, int NH, int DQ, int DV, int forceSeg, unsigned seed) {
    std::printf("case B=%d S=%d NH=%d DQ=%d DV=%d%s\n", B, S, NH, DQ, DV, forceSeg ? " (forced segments)" : "");
    std::mt19937 rng(seed);
    std::normal_distribution<float> nd(0.f, 1.f);
    size_t nq = (size_t)B * S * NH * DQ, nv = (size_t)B * S * NH * DV, ng = (size_t)B * S * NH;
    size_t nc = (size_t)B * NH * DQ * DV, nn = (size_t)B * NH * DQ, nm = (size_t)B * NH;
    float *q = emu::galloc(nq), *k = emu::galloc(nq), *v = emu::galloc(nv), *ig = emu::galloc(ng), *fg = emu::galloc(ng);
    float *C = emu::galloc(nc), *n = emu::galloc(nn), *m = emu::galloc(nm), *h = emu::galloc(nv);
    std::vector<double> rC(nc, 0.0), rn(nn, 0.0), rm(nm, -INFINITY), rh(nv);
    for (size_t i = 0; i < nc; i++) C[i] = 0.f;
    for (size_t i = 0; i < nn; i++) n[i] = 0.f;
    for (size_t i = 0; i < nm; i++) m[i] = -INFINITY;
    for (int pass = 0; pass < 2; pass++) {   // from the zero state, then on from the state the first pass left
        for (size_t i = 0; i < nq; i++) { q[i] = nd(rng); k[i] = nd(rng); }
        for (size_t i = 0; i < nv; i++) v[i] = nd(rng);
        for (size_t i = 0; i < ng; i++) { ig[i] = 3.f * nd(rng); fg[i] = 2.f + 2.f * nd(rng); }
        for (size_t i = 0; i < nv; i++) h[i] = NAN;
        std::vector<double> bq(nq), bk(nq), bv(nv);
        for (size_t i = 0; i < nq; i++) {
            bq[i] = __bfloat162float(__float2bfloat16(q[i]));
            bk[i] = __bfloat162float(__float2bfloat16(k[i]));
        }
        for (size_t i = 0; i < nv; i++) bv[i] = __bfloat162float(__float2bfloat16(v[i]));
        std::vector<double> uC = rC, un = rn, um = rm, uh(nv);
        reference(std::vector<double>(q, q + nq), std::vector<double>(k, k + nq), std::vector<double>(v, v + nv),
                  std::vector<float>(ig, ig + ng), std::vector<float>(fg, fg + ng), uC, un, um, uh, B, S, NH, DQ, DV, 64,
                  1e-6);
        reference(bq, bk, bv, std::vector<float>(ig, ig + ng), std::vector<float>(fg, fg + ng), rC, rn, rm, rh, B, S,
                  NH, DQ, DV, 64, 1e-6);
        run_tc(q, k, v, ig, fg, C, n, m, h, B, S, NH, DQ, DV, 1e-6f, forceSeg);
        std::printf("  (h vs unrounded inputs: %.3e, C %.3e)\n", relerr(h, uh), relerr(C, uC));
        std::printf(" pass %d (%s state)\n", pass, pass == 0 ? "zero" : "carried");
        check("h", h, rh, 1e-2);
        check("C", C, rC, 1e-2);
        check("n", n, rn, 1e-2);
        check("m", m, rm, 1e-5);
        // the next pass starts from the reference's state (as the GPU test does through the device's own)
    }
}
}  // namespace

int main(int argc, char** argv) {
    run_case(1, 130, 2, 32, 48, 0, 1);
    run_case(1, 20, 1, 16, 16, 0, 2);
    run_case(1, 1, 2, 16, 32, 0, 3);
    run_case(1, 200, 1, 48, 80, 2, 4);
    run_case(2, 64, 1, 96, 192, 0, 5);
    if (argc > 1) {
        run_case(1, 150, 2, 96, 192, 0, 6);
        run_case(2, 100, 1, 128, 256, 0, 7);
    }
    std::printf(failures == 0 ? "ALL OK\n" : "%d FAILURES\n", failures);
    return failures != 0;
}
