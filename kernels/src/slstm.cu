// sLSTM recurrence, fused: one launch per layer call walks all S steps. One thread block per (batch, head), one
// thread per hidden unit j. The recurrent kernel of the head is staged in shared memory when it fits (useShared),
// else read through L2. Layouts as org.xlstm.jvm.backend.Ops: xi, xf, xz, xo and y [B, S, NH*DH];
// r [NH, DH_in, 4, DH_out] (gates i, f, z, o); bias [NH, 4, DH]; states h, c, n, m [B, NH*DH].
#include "common.cuh"

extern "C" __global__ void xlstm_slstm_recurrent_f32(
    const float* __restrict__ xi, const float* __restrict__ xf, const float* __restrict__ xz,
    const float* __restrict__ xo, const float* __restrict__ r, const float* __restrict__ bias,
    float* __restrict__ hs, float* __restrict__ cs, float* __restrict__ ns, float* __restrict__ ms,
    float* __restrict__ y, int S, int NH, int DH, int useShared) {
    extern __shared__ float sh[];
    float* hprev = sh;                       // DH
    float* rs = sh + DH;                     // DH * 4 * DH when useShared
    const int b = blockIdx.x / NH, hd = blockIdx.x % NH, j = threadIdx.x;
    const float* rh = r + (int64_t)hd * DH * 4 * DH;
    if (useShared)
        for (int e = threadIdx.x; e < DH * 4 * DH; e += blockDim.x) rs[e] = rh[e];
    const float* R = useShared ? rs : rh;
    const int64_t st = (int64_t)b * NH * DH + hd * DH + j;
    float c = 0.f, nn = 0.f, mm = 0.f;
    const float bi = bias[(hd * 4 + 0) * DH + j], bf = bias[(hd * 4 + 1) * DH + j],
                bz = bias[(hd * 4 + 2) * DH + j], bo = bias[(hd * 4 + 3) * DH + j];
    if (j < DH) { hprev[j] = hs[st]; c = cs[st]; nn = ns[st]; mm = ms[st]; }
    for (int t = 0; t < S; t++) {
        __syncthreads();
        if (j < DH) {
            const int64_t x = ((int64_t)b * S + t) * NH * DH + hd * DH + j;
            float ri = 0.f, rf = 0.f, rz = 0.f, ro = 0.f;
            for (int i = 0; i < DH; i++) {
                const float hp = hprev[i];
                const float* row = R + (int64_t)i * 4 * DH;
                ri = fmaf(row[j], hp, ri);
                rf = fmaf(row[DH + j], hp, rf);
                rz = fmaf(row[2 * DH + j], hp, rz);
                ro = fmaf(row[3 * DH + j], hp, ro);
            }
            const float iraw = xi[x] + ri + bi, fraw = xf[x] + rf + bf, zraw = xz[x] + rz + bz, oraw = xo[x] + ro + bo;
            const float logfm = mm + log_sigmoid(fraw);
            // First step from the zero state (n = 0): m = i (the official rule; h does not depend on it).
            const float mnew = nn == 0.f ? iraw : fmaxf(iraw, logfm);
            const float igate = fminf(expf(iraw - mnew), 1.f), fgate = fminf(expf(logfm - mnew), 1.f);
            c = fgate * c + igate * tanhf(zraw);
            nn = fgate * nn + igate;
            mm = mnew;
            const float hv = sigmoidf(oraw) * c / nn;
            y[x] = hv;
            __syncthreads();   // everyone has read hprev for this step
            hprev[j] = hv;
        } else {
            __syncthreads();
        }
    }
    if (j < DH) { hs[st] = hprev[j]; cs[st] = c; ns[st] = nn; ms[st] = mm; }
}
