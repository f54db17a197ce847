// mLSTM cell on the GPU, float32. Layouts as org.xlstm.jvm.backend.Ops: q, k [B, S, NH*DQ], v and h [B, S, NH*DV],
// gate pre-activations i, f [B, S, NH]; state C [B, NH, DQ, DV], n [B, NH, DQ], m [B, NH] (C and n are kept
// divided by exp(m), the official stabilisation). One thread block per (batch, head).
#include "common.cuh"

// Recurrent form, S steps one at a time (the decode step uses S = 1). Block: DV threads (looping if more).
// Shared memory: q, k (2*DQ floats) + n (DQ) + reduction scratch.
extern "C" __global__ void xlstm_mlstm_recurrent_f32(
    const float* __restrict__ q, const float* __restrict__ k, const float* __restrict__ v,
    const float* __restrict__ ig, const float* __restrict__ fg, float* __restrict__ C, float* __restrict__ n,
    float* __restrict__ m, float* __restrict__ h, int S, int NH, int DQ, int DV, float eps) {
    extern __shared__ float sh[];
    float* sq = sh;            // DQ
    float* sk = sh + DQ;       // DQ (scaled by 1/sqrt(DQ))
    float* sn = sh + 2 * DQ;   // DQ
    __shared__ float red[32];
    const int b = blockIdx.x / NH, hd = blockIdx.x % NH;
    float* Cb = C + (int64_t)blockIdx.x * DQ * DV;
    float* nb = n + (int64_t)blockIdx.x * DQ;
    const float kscale = rsqrtf((float)DQ);
    float mprev = m[blockIdx.x];
    for (int i = threadIdx.x; i < DQ; i += blockDim.x) sn[i] = nb[i];
    for (int t = 0; t < S; t++) {
        const int64_t row = (int64_t)b * S + t;
        const float iv = ig[row * NH + hd], lf = log_sigmoid(fg[row * NH + hd]);
        const float mnew = fmaxf(lf + mprev, iv);
        const float fh = expf(lf + mprev - mnew), ih = expf(iv - mnew);
        __syncthreads();
        float part = 0.f;
        for (int i = threadIdx.x; i < DQ; i += blockDim.x) {
            sq[i] = q[row * NH * DQ + hd * DQ + i];
            sk[i] = k[row * NH * DQ + hd * DQ + i] * kscale;
            sn[i] = fh * sn[i] + ih * sk[i];
            part += sq[i] * sn[i];
        }
        const float qn = block_sum(part, red);   // includes a barrier: sq/sk visible below
        const float denom = fmaxf(fabsf(qn), expf(-mnew)) + eps;
        for (int j = threadIdx.x; j < DV; j += blockDim.x) {
            const float vj = v[row * NH * DV + hd * DV + j];
            float acc = 0.f;
            for (int i = 0; i < DQ; i++) {
                float c = fh * Cb[(int64_t)i * DV + j] + ih * sk[i] * vj;
                Cb[(int64_t)i * DV + j] = c;
                acc = fmaf(sq[i], c, acc);
            }
            h[row * NH * DV + hd * DV + j] = acc / denom;
        }
        mprev = mnew;
    }
    __syncthreads();
    for (int i = threadIdx.x; i < DQ; i += blockDim.x) nb[i] = sn[i];
    if (threadIdx.x == 0) m[blockIdx.x] = mprev;
}

// ---------------------------------------------------------------------------------------------------------------
// Chunkwise form: within a chunk of L steps the parallel form, between chunks the recurrence on (C, n, m). Any S
// (the last chunk may be shorter). Starting from m = -inf with C = n = 0 gives the parallel form. Three kernels share
// the per-chunk steps below, so their arithmetic is the same, in the same order:
//   xlstm_mlstm_chunkwise_f32      one block per (batch, head) walks every chunk: outputs, then state update;
//   xlstm_mlstm_chunk_states_f32   one block per (batch, head) only records the state before each chunk
//                                  (Cs, ns, ms: [B·NH, NC, ...]) and leaves the final state in (C, n, m);
//   xlstm_mlstm_chunk_outputs_f32  one block per (batch, head, chunk) computes that chunk's outputs from its
//                                  recorded state, all chunks at once (when batch × heads alone cannot fill the GPU).

/** Shared-memory layout of one chunk; q and the score matrix are only used where outputs are computed. */
struct Chunk {
    float *q, *k, *v, *w, *b, *i, *m;   // L×DQ, L×DQ (k/√DQ), L×DV, L×L scores, L cum. log forget, L input gates, L m_t
    __device__ Chunk(float* sh, int L, int DQ, int DV, bool withQ) {
        q = sh;
        k = q + (withQ ? L * DQ : 0);
        v = k + L * DQ;
        w = v + L * DV;
        b = w + (withQ ? L * L : L);
        i = b + L;
        m = i + L;
    }
};

/** Loads steps [t0, t0 + len) of one (batch, head) into shared memory; ends with a barrier. */
__device__ void load_chunk(const Chunk& c, const float* q, const float* k, const float* v, const float* ig,
                           const float* fg, int b, int hd, int t0, int len, int S, int NH, int DQ, int DV) {
    const float kscale = rsqrtf((float)DQ);
    for (int e = threadIdx.x; e < len * DQ; e += blockDim.x) {
        int t = e / DQ, i = e % DQ;
        int64_t src = ((int64_t)b * S + t0 + t) * NH * DQ + hd * DQ + i;
        if (q != nullptr) c.q[e] = q[src];
        c.k[e] = k[src] * kscale;
    }
    for (int e = threadIdx.x; e < len * DV; e += blockDim.x) {
        int t = e / DV, j = e % DV;
        c.v[e] = v[((int64_t)b * S + t0 + t) * NH * DV + hd * DV + j];
    }
    if (threadIdx.x == 0) {
        float acc = 0.f;
        for (int t = 0; t < len; t++) {
            int64_t r = ((int64_t)b * S + t0 + t) * NH + hd;
            acc += log_sigmoid(fg[r]);
            c.b[t] = acc;
            c.i[t] = ig[r];
        }
    }
    __syncthreads();
}

/** Outputs h of the loaded chunk from the state (Cb, nb, mprev) before it; ends with a barrier. */
__device__ void chunk_outputs(const Chunk& c, const float* Cb, const float* nb, float mprev, float* h, int b, int hd,
                              int t0, int len, int S, int NH, int DQ, int DV, int L, float eps) {
    for (int t = threadIdx.x; t < len; t += blockDim.x) {
        float mt = c.b[t] + mprev;
        for (int s = 0; s <= t; s++) mt = fmaxf(mt, c.b[t] - c.b[s] + c.i[s]);
        c.m[t] = mt;
    }
    __syncthreads();
    for (int e = threadIdx.x; e < len * len; e += blockDim.x) {
        int t = e / len, s = e % len;
        float w = 0.f;
        if (s <= t) {
            float dot = 0.f;
            for (int i = 0; i < DQ; i++) dot = fmaf(c.q[t * DQ + i], c.k[s * DQ + i], dot);
            w = dot * expf(c.b[t] - c.b[s] + c.i[s] - c.m[t]);
        }
        c.w[t * L + s] = w;
    }
    __syncthreads();
    // inter-chunk part through the carried state, intra-chunk part through the scores
    for (int e = threadIdx.x; e < len * DV; e += blockDim.x) {
        int t = e / DV, j = e % DV;
        float a = expf(c.b[t] + mprev - c.m[t]);   // 0 when mprev = -inf
        float num = 0.f, qn = 0.f;
        if (a != 0.f) {
            for (int i = 0; i < DQ; i++) {
                num = fmaf(c.q[t * DQ + i], Cb[(int64_t)i * DV + j], num);
                qn = fmaf(c.q[t * DQ + i], nb[i], qn);
            }
            num *= a;
            qn *= a;
        }
        for (int s = 0; s <= t; s++) {
            num = fmaf(c.w[t * L + s], c.v[s * DV + j], num);
            qn += c.w[t * L + s];
        }
        h[((int64_t)b * S + t0 + t) * NH * DV + hd * DV + j] = num / (fmaxf(fabsf(qn), expf(-c.m[t])) + eps);
    }
    __syncthreads();
}

/**
 * The state after the loaded chunk: m' = max(bL + m, max_s(bL - b_s + i_s)), C' = e^(bL + m - m')·C + Σ_s
 * e^(bL - b_s + i_s - m')·k_s v_sᵀ (n likewise). Uses c.w[0..len) as scratch. Returns m'; ends with a barrier.
 */
__device__ float chunk_state_update(const Chunk& c, float* Cb, float* nb, float mprev, int len, int DQ, int DV,
                                    float* s_mnew, float* s_decay) {
    if (threadIdx.x == 0) {
        float bl = c.b[len - 1], mn = bl + mprev;
        for (int s = 0; s < len; s++) mn = fmaxf(mn, bl - c.b[s] + c.i[s]);
        *s_mnew = mn;
        *s_decay = expf(bl + mprev - mn);
    }
    __syncthreads();
    const float mnew = *s_mnew, decay = *s_decay, bl = c.b[len - 1];
    for (int s = threadIdx.x; s < len; s += blockDim.x) c.w[s] = expf(bl - c.b[s] + c.i[s] - mnew);
    __syncthreads();
    for (int e = threadIdx.x; e < DQ * DV; e += blockDim.x) {
        int i = e / DV, j = e % DV;
        float cc = decay == 0.f ? 0.f : decay * Cb[e];
        for (int s = 0; s < len; s++) cc = fmaf(c.w[s] * c.k[s * DQ + i], c.v[s * DV + j], cc);
        Cb[e] = cc;
    }
    for (int i = threadIdx.x; i < DQ; i += blockDim.x) {
        float cc = decay == 0.f ? 0.f : decay * nb[i];
        for (int s = 0; s < len; s++) cc = fmaf(c.w[s], c.k[s * DQ + i], cc);
        nb[i] = cc;
    }
    __syncthreads();
    return mnew;
}

// Dynamic shared memory: L*(2*DQ + DV) + L*L + 3*L floats (the caller picks L to fit).
extern "C" __global__ void xlstm_mlstm_chunkwise_f32(
    const float* __restrict__ q, const float* __restrict__ k, const float* __restrict__ v,
    const float* __restrict__ ig, const float* __restrict__ fg, float* __restrict__ C, float* __restrict__ n,
    float* __restrict__ m, float* __restrict__ h, int S, int NH, int DQ, int DV, int L, float eps) {
    extern __shared__ float sh[];
    __shared__ float s_mnew, s_decay;
    const Chunk c(sh, L, DQ, DV, true);
    const int b = blockIdx.x / NH, hd = blockIdx.x % NH;
    float* Cb = C + (int64_t)blockIdx.x * DQ * DV;
    float* nb = n + (int64_t)blockIdx.x * DQ;
    float mprev = m[blockIdx.x];
    for (int t0 = 0; t0 < S; t0 += L) {
        const int len = min(L, S - t0);
        load_chunk(c, q, k, v, ig, fg, b, hd, t0, len, S, NH, DQ, DV);
        chunk_outputs(c, Cb, nb, mprev, h, b, hd, t0, len, S, NH, DQ, DV, L, eps);
        mprev = chunk_state_update(c, Cb, nb, mprev, len, DQ, DV, &s_mnew, &s_decay);
    }
    if (threadIdx.x == 0) m[blockIdx.x] = mprev;
}

// Dynamic shared memory: L*(DQ + DV) + 4*L floats. Grid B·NH.
extern "C" __global__ void xlstm_mlstm_chunk_states_f32(
    const float* __restrict__ k, const float* __restrict__ v, const float* __restrict__ ig,
    const float* __restrict__ fg, float* __restrict__ C, float* __restrict__ n, float* __restrict__ m,
    float* __restrict__ Cs, float* __restrict__ ns, float* __restrict__ ms, int S, int NH, int DQ, int DV, int L) {
    extern __shared__ float sh[];
    __shared__ float s_mnew, s_decay;
    const Chunk c(sh, L, DQ, DV, false);
    const int b = blockIdx.x / NH, hd = blockIdx.x % NH;
    const int NC = (S + L - 1) / L;
    float* Cb = C + (int64_t)blockIdx.x * DQ * DV;
    float* nb = n + (int64_t)blockIdx.x * DQ;
    float mprev = m[blockIdx.x];
    for (int ci = 0; ci < NC; ci++) {
        const int t0 = ci * L, len = min(L, S - t0);
        float* Cc = Cs + ((int64_t)blockIdx.x * NC + ci) * DQ * DV;
        float* nc = ns + ((int64_t)blockIdx.x * NC + ci) * DQ;
        for (int e = threadIdx.x; e < DQ * DV; e += blockDim.x) Cc[e] = Cb[e];
        for (int i = threadIdx.x; i < DQ; i += blockDim.x) nc[i] = nb[i];
        if (threadIdx.x == 0) ms[(int64_t)blockIdx.x * NC + ci] = mprev;
        load_chunk(c, nullptr, k, v, ig, fg, b, hd, t0, len, S, NH, DQ, DV);
        mprev = chunk_state_update(c, Cb, nb, mprev, len, DQ, DV, &s_mnew, &s_decay);
    }
    if (threadIdx.x == 0) m[blockIdx.x] = mprev;
}

// Dynamic shared memory: L*(2*DQ + DV) + L*L + 3*L floats. Grid (B·NH, NC).
extern "C" __global__ void xlstm_mlstm_chunk_outputs_f32(
    const float* __restrict__ q, const float* __restrict__ k, const float* __restrict__ v,
    const float* __restrict__ ig, const float* __restrict__ fg, const float* __restrict__ Cs,
    const float* __restrict__ ns, const float* __restrict__ ms, float* __restrict__ h, int S, int NH, int DQ, int DV,
    int L, float eps) {
    extern __shared__ float sh[];
    const Chunk c(sh, L, DQ, DV, true);
    const int b = blockIdx.x / NH, hd = blockIdx.x % NH, ci = blockIdx.y, NC = gridDim.y;
    const int t0 = ci * L, len = min(L, S - t0);
    const int64_t at = (int64_t)blockIdx.x * NC + ci;
    load_chunk(c, q, k, v, ig, fg, b, hd, t0, len, S, NH, DQ, DV);
    chunk_outputs(c, Cs + at * DQ * DV, ns + at * DQ, ms[at], h, b, hd, t0, len, S, NH, DQ, DV, L, eps);
}
