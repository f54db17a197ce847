// mLSTM cell, recurrent form (decoding), as two kernels so that the state update is spread over the GPU: with batch 1
// and 4 heads, one block per (batch, head) walking its DQ×DV state kept 4 SMs busy and took ~60 µs per layer and
// token. Now:
//   xlstm_mlstm_step_norm_f32   one block per (batch, head): per step the stabiliser m, the normaliser state n and the
//                               output denominator max(|q·n|, exp(−m)) + eps, recorded per step (den, and the m
//                               before the step in mp); leaves the final n and m;
//   xlstm_mlstm_step_state_f32  one block per (batch, head, 32 columns of C): the C update and h = q·C / den for its
//                               columns, the decay and input weight recomputed from the recorded m.
// Same formulas, in the same order per element, as xlstm_mlstm_recurrent_f32 (mlstm.cu).
#include "common.cuh"

extern "C" __global__ void xlstm_mlstm_step_norm_f32(
    const float* __restrict__ q, const float* __restrict__ k, const float* __restrict__ ig, const float* __restrict__ fg,
    float* __restrict__ n, float* __restrict__ m, float* __restrict__ den, float* __restrict__ mp, int S, int NH, int DQ,
    float eps) {
    extern __shared__ float sn[];   // DQ
    __shared__ float red[32];
    pdl_wait();   // launched dependently: q, k and the gates come from the previous kernel
    pdl_trigger();
    const int b = blockIdx.x / NH, hd = blockIdx.x % NH;
    float* nb = n + (int64_t)blockIdx.x * DQ;
    const float kscale = rsqrtf((float)DQ);
    float mprev = m[blockIdx.x];
    for (int i = threadIdx.x; i < DQ; i += blockDim.x) sn[i] = nb[i];
    for (int t = 0; t < S; t++) {
        const int64_t row = (int64_t)b * S + t;
        const float iv = ig[row * NH + hd], lf = log_sigmoid(fg[row * NH + hd]);
        const float mnew = fmaxf(lf + mprev, iv);
        const float fh = expf(lf + mprev - mnew), ih = expf(iv - mnew);
        float part = 0.f;
        for (int i = threadIdx.x; i < DQ; i += blockDim.x) {
            const float ski = k[row * NH * DQ + hd * DQ + i] * kscale;
            sn[i] = fh * sn[i] + ih * ski;
            part += q[row * NH * DQ + hd * DQ + i] * sn[i];
        }
        const float qn = block_sum(part, red);
        if (threadIdx.x == 0) {
            den[row * NH + hd] = fmaxf(fabsf(qn), expf(-mnew)) + eps;
            mp[row * NH + hd] = mprev;
        }
        mprev = mnew;
    }
    __syncthreads();
    for (int i = threadIdx.x; i < DQ; i += blockDim.x) nb[i] = sn[i];
    if (threadIdx.x == 0) m[blockIdx.x] = mprev;
}

#define STEP_COLS 32
#define STEP_ROW_GROUPS 8

// grid (B·NH, ceil(DV / 32)), block (32, 8); dynamic shared: 2·DQ floats (q and k/√DQ of the step).
extern "C" __global__ void xlstm_mlstm_step_state_f32(
    const float* __restrict__ q, const float* __restrict__ k, const float* __restrict__ v, const float* __restrict__ ig,
    const float* __restrict__ fg, float* __restrict__ C, const float* __restrict__ mp, const float* __restrict__ den,
    float* __restrict__ h, int S, int NH, int DQ, int DV) {
    extern __shared__ float sh[];
    pdl_wait();   // launched dependently
    pdl_trigger();
    float* sq = sh;
    float* sk = sh + DQ;
    __shared__ float red[STEP_ROW_GROUPS][STEP_COLS];
    const int b = blockIdx.x / NH, hd = blockIdx.x % NH;
    const int tx = threadIdx.x, ty = threadIdx.y, tid = ty * STEP_COLS + tx;
    const int j = blockIdx.y * STEP_COLS + tx;
    float* Cb = C + (int64_t)blockIdx.x * DQ * DV;
    const float kscale = rsqrtf((float)DQ);
    for (int t = 0; t < S; t++) {
        const int64_t row = (int64_t)b * S + t;
        const float mprev = mp[row * NH + hd];
        const float iv = ig[row * NH + hd], lf = log_sigmoid(fg[row * NH + hd]);
        const float mnew = fmaxf(lf + mprev, iv);
        const float fh = expf(lf + mprev - mnew), ih = expf(iv - mnew);
        __syncthreads();   // the previous step's readers of sq/sk and red are done
        for (int i = tid; i < DQ; i += STEP_COLS * STEP_ROW_GROUPS) {
            sq[i] = q[row * NH * DQ + hd * DQ + i];
            sk[i] = k[row * NH * DQ + hd * DQ + i] * kscale;
        }
        __syncthreads();
        float acc = 0.f;
        if (j < DV) {
            const float vj = v[row * NH * DV + hd * DV + j];
            for (int i = ty; i < DQ; i += STEP_ROW_GROUPS) {
                float c = fh * Cb[(int64_t)i * DV + j] + ih * sk[i] * vj;
                Cb[(int64_t)i * DV + j] = c;
                acc = fmaf(sq[i], c, acc);
            }
        }
        red[ty][tx] = acc;
        __syncthreads();
        if (ty == 0 && j < DV) {
            float s = 0.f;
#pragma unroll
            for (int g = 0; g < STEP_ROW_GROUPS; g++) s += red[g][tx];
            h[row * NH * DV + hd * DV + j] = s / den[row * NH + hd];
        }
    }
}
