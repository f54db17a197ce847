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

// Chunkwise form: within a chunk of L steps the parallel form, between chunks the recurrence on (C, n, m).
// Any S (the last chunk may be shorter). Starting from m = -inf with C = n = 0 gives the parallel form.
// Dynamic shared memory: L*(2*DQ + DV) + L*L + 3*L floats (the caller picks L to fit).
extern "C" __global__ void xlstm_mlstm_chunkwise_f32(
    const float* __restrict__ q, const float* __restrict__ k, const float* __restrict__ v,
    const float* __restrict__ ig, const float* __restrict__ fg, float* __restrict__ C, float* __restrict__ n,
    float* __restrict__ m, float* __restrict__ h, int S, int NH, int DQ, int DV, int L, float eps) {
    extern __shared__ float sh[];
    float* sq = sh;                   // L x DQ
    float* sk = sq + L * DQ;          // L x DQ, scaled by 1/sqrt(DQ)
    float* sv = sk + L * DQ;          // L x DV
    float* sw = sv + L * DV;          // L x L: scores (q_t . k_s) * exp(b_t - b_s + i_s - m_t)
    float* sb = sw + L * L;           // L: cumulative log forget inside the chunk
    float* si = sb + L;               // L: input gate pre-activations
    float* sm = si + L;               // L: row stabiliser m_t
    __shared__ float s_mprev, s_mnew, s_decay;
    const int b = blockIdx.x / NH, hd = blockIdx.x % NH;
    float* Cb = C + (int64_t)blockIdx.x * DQ * DV;
    float* nb = n + (int64_t)blockIdx.x * DQ;
    const float kscale = rsqrtf((float)DQ);
    if (threadIdx.x == 0) s_mprev = m[blockIdx.x];
    for (int t0 = 0; t0 < S; t0 += L) {
        const int len = min(L, S - t0);
        __syncthreads();
        for (int e = threadIdx.x; e < len * DQ; e += blockDim.x) {
            int t = e / DQ, i = e % DQ;
            int64_t src = ((int64_t)b * S + t0 + t) * NH * DQ + hd * DQ + i;
            sq[e] = q[src];
            sk[e] = k[src] * kscale;
        }
        for (int e = threadIdx.x; e < len * DV; e += blockDim.x) {
            int t = e / DV, j = e % DV;
            sv[e] = v[((int64_t)b * S + t0 + t) * NH * DV + hd * DV + j];
        }
        if (threadIdx.x == 0) {
            float acc = 0.f;
            for (int t = 0; t < len; t++) {
                int64_t r = ((int64_t)b * S + t0 + t) * NH + hd;
                acc += log_sigmoid(fg[r]);
                sb[t] = acc;
                si[t] = ig[r];
            }
        }
        __syncthreads();
        const float mprev = s_mprev;
        for (int t = threadIdx.x; t < len; t += blockDim.x) {
            float mt = sb[t] + mprev;
            for (int s = 0; s <= t; s++) mt = fmaxf(mt, sb[t] - sb[s] + si[s]);
            sm[t] = mt;
        }
        __syncthreads();
        for (int e = threadIdx.x; e < len * len; e += blockDim.x) {
            int t = e / len, s = e % len;
            float w = 0.f;
            if (s <= t) {
                float dot = 0.f;
                for (int i = 0; i < DQ; i++) dot = fmaf(sq[t * DQ + i], sk[s * DQ + i], dot);
                w = dot * expf(sb[t] - sb[s] + si[s] - sm[t]);
            }
            sw[t * L + s] = w;
        }
        __syncthreads();
        // Outputs: inter-chunk part through the carried state, intra-chunk part through the scores.
        for (int e = threadIdx.x; e < len * DV; e += blockDim.x) {
            int t = e / DV, j = e % DV;
            float a = expf(sb[t] + mprev - sm[t]);   // 0 when mprev = -inf
            float num = 0.f, qn = 0.f;
            if (a != 0.f) {
                for (int i = 0; i < DQ; i++) {
                    num = fmaf(sq[t * DQ + i], Cb[(int64_t)i * DV + j], num);
                    qn = fmaf(sq[t * DQ + i], nb[i], qn);
                }
                num *= a;
                qn *= a;
            }
            for (int s = 0; s <= t; s++) {
                num = fmaf(sw[t * L + s], sv[s * DV + j], num);
                qn += sw[t * L + s];
            }
            h[((int64_t)b * S + t0 + t) * NH * DV + hd * DV + j] = num / (fmaxf(fabsf(qn), expf(-sm[t])) + eps);
        }
        // Chunk-end state: m_new = max(bL + mprev, max_s(bL - b_s + i_s)).
        if (threadIdx.x == 0) {
            float bl = sb[len - 1], mn = bl + mprev;
            for (int s = 0; s < len; s++) mn = fmaxf(mn, bl - sb[s] + si[s]);
            s_mnew = mn;
            s_decay = expf(bl + mprev - mn);
        }
        __syncthreads();   // every output read C and n before they change
        const float mnew = s_mnew, decay = s_decay, bl = sb[len - 1];
        for (int s = threadIdx.x; s < len; s += blockDim.x) sw[s] = expf(bl - sb[s] + si[s] - mnew);  // row 0 reused
        __syncthreads();
        for (int e = threadIdx.x; e < DQ * DV; e += blockDim.x) {
            int i = e / DV, j = e % DV;
            float c = decay == 0.f ? 0.f : decay * Cb[e];
            for (int s = 0; s < len; s++) c = fmaf(sw[s] * sk[s * DQ + i], sv[s * DV + j], c);
            Cb[e] = c;
        }
        for (int i = threadIdx.x; i < DQ; i += blockDim.x) {
            float c = decay == 0.f ? 0.f : decay * nb[i];
            for (int s = 0; s < len; s++) c = fmaf(sw[s], sk[s * DQ + i], c);
            nb[i] = c;
        }
        if (threadIdx.x == 0) s_mprev = mnew;
    }
    __syncthreads();
    if (threadIdx.x == 0) m[blockIdx.x] = s_mprev;
}

// ---------------------------------------------------------------------------------------------------------------
// Chunk-parallel form in two launches, for when batch × heads alone cannot fill the GPU:
//   1. xlstm_mlstm_chunk_states_f32, one block per (batch, head), walks the chunks and records the state *before*
//      each chunk (Cs, ns, ms: [B·NH, NC, ...]); it leaves the final state in (C, n, m) as the one-launch kernel does.
//   2. xlstm_mlstm_chunk_outputs_f32, one block per (batch, head, chunk), computes that chunk's outputs from its
//      recorded state, all chunks at once.
// The arithmetic per element is the one-launch kernel's, in the same order, so results are identical.

extern "C" __global__ void xlstm_mlstm_chunk_states_f32(
    const float* __restrict__ k, const float* __restrict__ v, const float* __restrict__ ig,
    const float* __restrict__ fg, float* __restrict__ C, float* __restrict__ n, float* __restrict__ m,
    float* __restrict__ Cs, float* __restrict__ ns, float* __restrict__ ms, int S, int NH, int DQ, int DV, int L) {
    extern __shared__ float sh[];
    float* sk = sh;                   // L x DQ, scaled
    float* sv = sk + L * DQ;          // L x DV
    float* sb = sv + L * DV;          // L
    float* si = sb + L;               // L
    float* sw = si + L;               // L
    __shared__ float s_mprev, s_mnew, s_decay;
    const int b = blockIdx.x / NH, hd = blockIdx.x % NH;
    const int NC = (S + L - 1) / L;
    float* Cb = C + (int64_t)blockIdx.x * DQ * DV;
    float* nb = n + (int64_t)blockIdx.x * DQ;
    const float kscale = rsqrtf((float)DQ);
    if (threadIdx.x == 0) s_mprev = m[blockIdx.x];
    for (int c = 0; c < NC; c++) {
        const int t0 = c * L, len = min(L, S - t0);
        __syncthreads();
        // record the state before this chunk
        float* Cc = Cs + ((int64_t)blockIdx.x * NC + c) * DQ * DV;
        float* nc = ns + ((int64_t)blockIdx.x * NC + c) * DQ;
        for (int e = threadIdx.x; e < DQ * DV; e += blockDim.x) Cc[e] = Cb[e];
        for (int i = threadIdx.x; i < DQ; i += blockDim.x) nc[i] = nb[i];
        if (threadIdx.x == 0) ms[(int64_t)blockIdx.x * NC + c] = s_mprev;
        for (int e = threadIdx.x; e < len * DQ; e += blockDim.x) {
            int t = e / DQ, i = e % DQ;
            sk[e] = k[((int64_t)b * S + t0 + t) * NH * DQ + hd * DQ + i] * kscale;
        }
        for (int e = threadIdx.x; e < len * DV; e += blockDim.x) {
            int t = e / DV, j = e % DV;
            sv[e] = v[((int64_t)b * S + t0 + t) * NH * DV + hd * DV + j];
        }
        if (threadIdx.x == 0) {
            float acc = 0.f;
            for (int t = 0; t < len; t++) {
                int64_t r = ((int64_t)b * S + t0 + t) * NH + hd;
                acc += log_sigmoid(fg[r]);
                sb[t] = acc;
                si[t] = ig[r];
            }
            float bl = sb[len - 1], mn = bl + s_mprev;
            for (int s = 0; s < len; s++) mn = fmaxf(mn, bl - sb[s] + si[s]);
            s_mnew = mn;
            s_decay = expf(bl + s_mprev - mn);
        }
        __syncthreads();
        const float mnew = s_mnew, decay = s_decay, bl = sb[len - 1];
        for (int s = threadIdx.x; s < len; s += blockDim.x) sw[s] = expf(bl - sb[s] + si[s] - mnew);
        __syncthreads();
        for (int e = threadIdx.x; e < DQ * DV; e += blockDim.x) {
            int i = e / DV, j = e % DV;
            float cc = decay == 0.f ? 0.f : decay * Cb[e];
            for (int s = 0; s < len; s++) cc = fmaf(sw[s] * sk[s * DQ + i], sv[s * DV + j], cc);
            Cb[e] = cc;
        }
        for (int i = threadIdx.x; i < DQ; i += blockDim.x) {
            float cc = decay == 0.f ? 0.f : decay * nb[i];
            for (int s = 0; s < len; s++) cc = fmaf(sw[s], sk[s * DQ + i], cc);
            nb[i] = cc;
        }
        if (threadIdx.x == 0) s_mprev = mnew;
    }
    __syncthreads();
    if (threadIdx.x == 0) m[blockIdx.x] = s_mprev;
}

// Dynamic shared memory: L*(2*DQ + DV) + L*L + 3*L floats. Grid (B·NH, NC).
extern "C" __global__ void xlstm_mlstm_chunk_outputs_f32(
    const float* __restrict__ q, const float* __restrict__ k, const float* __restrict__ v,
    const float* __restrict__ ig, const float* __restrict__ fg, const float* __restrict__ Cs,
    const float* __restrict__ ns, const float* __restrict__ ms, float* __restrict__ h, int S, int NH, int DQ, int DV,
    int L, float eps) {
    extern __shared__ float sh[];
    float* sq = sh;
    float* sk = sq + L * DQ;
    float* sv = sk + L * DQ;
    float* sw = sv + L * DV;
    float* sb = sw + L * L;
    float* si = sb + L;
    float* sm = si + L;
    const int b = blockIdx.x / NH, hd = blockIdx.x % NH, c = blockIdx.y;
    const int NC = gridDim.y;
    const int t0 = c * L, len = min(L, S - t0);
    const float* Cb = Cs + ((int64_t)blockIdx.x * NC + c) * DQ * DV;
    const float* nb = ns + ((int64_t)blockIdx.x * NC + c) * DQ;
    const float mprev = ms[(int64_t)blockIdx.x * NC + c];
    const float kscale = rsqrtf((float)DQ);
    for (int e = threadIdx.x; e < len * DQ; e += blockDim.x) {
        int t = e / DQ, i = e % DQ;
        int64_t src = ((int64_t)b * S + t0 + t) * NH * DQ + hd * DQ + i;
        sq[e] = q[src];
        sk[e] = k[src] * kscale;
    }
    for (int e = threadIdx.x; e < len * DV; e += blockDim.x) {
        int t = e / DV, j = e % DV;
        sv[e] = v[((int64_t)b * S + t0 + t) * NH * DV + hd * DV + j];
    }
    if (threadIdx.x == 0) {
        float acc = 0.f;
        for (int t = 0; t < len; t++) {
            int64_t r = ((int64_t)b * S + t0 + t) * NH + hd;
            acc += log_sigmoid(fg[r]);
            sb[t] = acc;
            si[t] = ig[r];
        }
    }
    __syncthreads();
    for (int t = threadIdx.x; t < len; t += blockDim.x) {
        float mt = sb[t] + mprev;
        for (int s = 0; s <= t; s++) mt = fmaxf(mt, sb[t] - sb[s] + si[s]);
        sm[t] = mt;
    }
    __syncthreads();
    for (int e = threadIdx.x; e < len * len; e += blockDim.x) {
        int t = e / len, s = e % len;
        float w = 0.f;
        if (s <= t) {
            float dot = 0.f;
            for (int i = 0; i < DQ; i++) dot = fmaf(sq[t * DQ + i], sk[s * DQ + i], dot);
            w = dot * expf(sb[t] - sb[s] + si[s] - sm[t]);
        }
        sw[t * L + s] = w;
    }
    __syncthreads();
    for (int e = threadIdx.x; e < len * DV; e += blockDim.x) {
        int t = e / DV, j = e % DV;
        float a = expf(sb[t] + mprev - sm[t]);
        float num = 0.f, qn = 0.f;
        if (a != 0.f) {
            for (int i = 0; i < DQ; i++) {
                num = fmaf(sq[t * DQ + i], Cb[(int64_t)i * DV + j], num);
                qn = fmaf(sq[t * DQ + i], nb[i], qn);
            }
            num *= a;
            qn *= a;
        }
        for (int s = 0; s <= t; s++) {
            num = fmaf(sw[t * L + s], sv[s * DV + j], num);
            qn += sw[t * L + s];
        }
        h[((int64_t)b * S + t0 + t) * NH * DV + hd * DV + j] = num / (fmaxf(fabsf(qn), expf(-sm[t])) + eps);
    }
}
