// sLSTM recurrence for heads whose recurrent kernel does not fit in one block's shared memory (sm_90 and newer).
// The one-block kernel (slstm.cu) then has to read R (DH x 4 x DH floats per head, 590 KB at DH = 192) from L2 at
// every step, and that read is most of the step. Here one thread-block CLUSTER of CL blocks runs one (batch, head):
// block c owns the output columns j in [c*JS, (c+1)*JS) (JS = ceil(DH / CL)) of all four gates and keeps
// R[:, g, its columns] in its shared memory for the whole sequence. Each step every block computes its gates and
// its part of c, n, m, h, then stores its h values into every block's h buffer through distributed shared memory;
// one cluster barrier per step makes h_t complete everywhere (h is double-buffered, so no second barrier is needed
// to keep a fast block from overwriting the h a slow block is still reading).
//
// Arithmetic per element is the one-block kernel's: each gate pre-activation is ONE thread's fmaf chain over
// k = 0..DH-1 in order (fmaf(R, h, acc)), then (x + acc) + bias, then the same cell formula, so results agree with
// xlstm_slstm_recurrent_f32 to the last bit or so. Threads: 4 per column (thread t: column t / 4, gate t % 4, the
// gates of one column in adjacent lanes of one warp, gathered by shuffles), rounded up to whole warps.
//
// Layouts as org.xlstm.jvm.backend.Ops: xi, xf, xz, xo and y [B, S, NH*DH]; r [NH, DH_in, 4, DH_out] (gates i, f,
// z, o); bias [NH, 4, DH]; states h, c, n, m [B, NH*DH]. Grid: B*NH*CL blocks (cluster dims (CL,1,1) set at launch),
// blockDim = round_up(4*JS, 32), dynamic shared memory (2*round_up(DH,4) + DH*4*JS) floats.
#include "common.cuh"
#include <cooperative_groups.h>

namespace cg = cooperative_groups;

extern "C" __global__ void __launch_bounds__(1024) xlstm_slstm_cluster_f32(
    const float* __restrict__ xi, const float* __restrict__ xf, const float* __restrict__ xz,
    const float* __restrict__ xo, const float* __restrict__ r, const float* __restrict__ bias,
    float* __restrict__ hs, float* __restrict__ cs, float* __restrict__ ns, float* __restrict__ ms,
    float* __restrict__ y, int S, int NH, int DH, int CL, int JS) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
    extern __shared__ __align__(16) float sh[];
    cg::cluster_group cluster = cg::this_cluster();
    const int W = 4 * JS;                    // one row of the slice: JS columns x 4 gates, gates innermost
    const int DHP = (DH + 3) & ~3;           // h buffer stride, a multiple of 4 floats for float4 reads
    float* hb = sh;                          // [2][DHP]: h_{t-1} (read) and h_t (written by every block)
    float* rs = sh + 2 * DHP;                // [DH][W]: rs[i*W + 4*jj + g] = R[head][i][g][c*JS + jj]
    const int rank = (int)cluster.block_rank();
    const int pair = blockIdx.x / CL, b = pair / NH, hd = pair % NH;
    const int t = threadIdx.x, jj = t >> 2, g = t & 3, j = rank * JS + jj;
    const bool valid = jj < JS && j < DH;    // padding threads (whole warps) and columns past DH only take part in
                                             // shuffles and barriers
    const int lane = t & 31;
    const float* rh = r + (int64_t)hd * DH * 4 * DH;
    for (int e = t; e < DH * W; e += blockDim.x) {
        const int i = e / W, q = e - i * W, cj = rank * JS + (q >> 2);
        rs[e] = cj < DH ? rh[((int64_t)i * 4 + (q & 3)) * DH + cj] : 0.f;
    }
    const int64_t st0 = (int64_t)b * NH * DH + (int64_t)hd * DH;
    for (int i = t; i < DH; i += blockDim.x) hb[i] = hs[st0 + i];

    const float* xg = g == 0 ? xi : g == 1 ? xf : g == 2 ? xz : xo;
    const float bg = valid ? bias[(hd * 4 + g) * DH + j] : 0.f;
    float c = 0.f, nn = 0.f, mm = 0.f, hlast = 0.f;   // the cell state lives in the gate-0 thread of each column
    if (valid && g == 0) { c = cs[st0 + j]; nn = ns[st0 + j]; mm = ms[st0 + j]; hlast = hs[st0 + j]; }
    const int64_t xstep = (int64_t)NH * DH;                            // distance between steps in x and y
    int64_t x = (int64_t)b * S * xstep + (int64_t)hd * DH + j;         // element (b, step 0, hd, j)
    float xv = valid && S > 0 ? xg[x] : 0.f;

    // Every block has its slice and h_0, and every block of the cluster has started (required before any
    // distributed-shared-memory access).
    cluster.sync();

    for (int step = 0; step < S; step++, x += xstep) {
        const float* hp = hb + (step & 1) * DHP;
        float acc = 0.f;
        if (valid) {
            const float* rp = rs + t;
            int i = 0;
            for (; i + 4 <= DH; i += 4) {
                const float4 h4 = *reinterpret_cast<const float4*>(hp + i);
                acc = fmaf(rp[(i + 0) * W], h4.x, acc);
                acc = fmaf(rp[(i + 1) * W], h4.y, acc);
                acc = fmaf(rp[(i + 2) * W], h4.z, acc);
                acc = fmaf(rp[(i + 3) * W], h4.w, acc);
            }
            for (; i < DH; i++) acc = fmaf(rp[i * W], hp[i], acc);
        }
        const float raw = (xv + acc) + bg;   // = x[x] + r_acc + b of the one-block kernel
        // Next step's input now, so its global-memory latency hides behind this step's exchange and barrier.
        if (valid && step + 1 < S) xv = xg[x + xstep];
        const float fraw = __shfl_down_sync(0xffffffffu, raw, 1);
        const float zraw = __shfl_down_sync(0xffffffffu, raw, 2);
        const float oraw = __shfl_down_sync(0xffffffffu, raw, 3);
        float hv = 0.f;
        if (valid && g == 0) {
            const float iraw = raw;
            const float logfm = mm + log_sigmoid(fraw);
            // First step from the zero state (n = 0): m = i (the official rule; h does not depend on it).
            const float mnew = nn == 0.f ? iraw : fmaxf(iraw, logfm);
            const float igate = fminf(expf(iraw - mnew), 1.f), fgate = fminf(expf(logfm - mnew), 1.f);
            c = fgate * c + igate * tanhf(zraw);
            nn = fgate * nn + igate;
            mm = mnew;
            hv = sigmoidf(oraw) * c / nn;
            y[x] = hv;
            hlast = hv;
        }
        // The four threads of a column share its h and store it into the blocks rank g, g+4 (CL <= 8).
        hv = __shfl_sync(0xffffffffu, hv, lane & ~3);
        if (valid) {
            const int nxt = ((step + 1) & 1) * DHP + j;
            for (int q = g; q < CL; q += 4) cluster.map_shared_rank(hb, q)[nxt] = hv;
        }
        // Release/acquire barrier over the cluster: h_t is complete in every block before anyone reads it, and
        // nobody writes the other buffer before everyone has finished reading it (it held h_{t-1}).
        cluster.sync();
    }
    // After the last barrier no block touches another's shared memory, so blocks may exit independently.
    if (valid && g == 0) { hs[st0 + j] = hlast; cs[st0 + j] = c; ns[st0 + j] = nn; ms[st0 + j] = mm; }
#else
    __trap();   // launched only on compute capability 9.0+ (CudaSlstmCluster checks)
#endif
}
