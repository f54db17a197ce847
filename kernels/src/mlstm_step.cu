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
    extern __shared__ __align__(16) unsigned char smem[];
    float* sn = reinterpret_cast<float*>(smem);   // DQ
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
    extern __shared__ __align__(16) unsigned char smem[];
    float* sh = reinterpret_cast<float*>(smem);
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

// ---------------------------------------------------------------------------------------------------------------
// The whole step in one kernel, one block of STEP_FUSED_THREADS per (batch, head), for DV % 4 == 0: the normaliser
// as xlstm_mlstm_step_norm_f32 computes it, then the state update with the block's threads over (row group, 4-column
// vector) pairs, C read and written with 16-byte accesses so that a block keeps the whole state in flight (a head's C
// is 96 × 192 floats for xLSTM-7B; one block per head is then a few µs, where it was ~60 µs with scalar loads).
// h sums the row groups' partial products in a fixed order. Dynamic shared memory: 32 floats, 3·DQ rounded up to 4,
// then groups·DV floats, groups = blockDim / (DV/4) (DV <= 4·blockDim).
#define STEP_FUSED_THREADS 1024

extern "C" __global__ void __launch_bounds__(STEP_FUSED_THREADS) xlstm_mlstm_step_fused_f32(
    const float* __restrict__ q, const float* __restrict__ k, const float* __restrict__ v, const float* __restrict__ ig,
    const float* __restrict__ fg, float* __restrict__ C, float* __restrict__ n, float* __restrict__ m,
    float* __restrict__ h, int S, int NH, int DQ, int DV, float eps) {
    extern __shared__ __align__(16) unsigned char smem[];
    float* red = reinterpret_cast<float*>(smem);   // 32 floats for block_sum (dynamic: the CPU emulator maps only that)
    float* shf = red + 32;
    pdl_wait();   // launched dependently: q, k, v and the gates come from the previous kernel
    pdl_trigger();
    const int b = blockIdx.x / NH, hd = blockIdx.x % NH, tid = threadIdx.x;
    const int V4 = DV >> 2, groups = blockDim.x / V4;   // thread tid < groups·V4: row group tid / V4, vector tid % V4
    float* sq = shf;
    float* sk = sq + DQ;
    float* sn = sk + DQ;
    float* part = shf + ((3 * DQ + 3) & ~3);   // [groups][DV], 16-byte aligned
    float* nb = n + (int64_t)blockIdx.x * DQ;
    float* Cb = C + (int64_t)blockIdx.x * DQ * DV;
    const float kscale = rsqrtf((float)DQ);
    float mprev = m[blockIdx.x];
    for (int i = tid; i < DQ; i += blockDim.x) sn[i] = nb[i];
    const int g = tid / V4, c4 = tid - g * V4;
    const bool active = g < groups;
    for (int t = 0; t < S; t++) {
        const int64_t row = (int64_t)b * S + t;
        const float iv = ig[row * NH + hd], lf = log_sigmoid(fg[row * NH + hd]);
        const float mnew = fmaxf(lf + mprev, iv);
        const float fh = expf(lf + mprev - mnew), ih = expf(iv - mnew);
        __syncthreads();   // the previous step's readers of sq, sk, sn and part are done
        float pq = 0.f;
        for (int i = tid; i < DQ; i += blockDim.x) {
            const float qi = q[row * NH * DQ + hd * DQ + i], ski = k[row * NH * DQ + hd * DQ + i] * kscale;
            sq[i] = qi;
            sk[i] = ski;
            sn[i] = fh * sn[i] + ih * ski;
            pq += qi * sn[i];
        }
        const float den = fmaxf(fabsf(block_sum(pq, red)), expf(-mnew)) + eps;   // block_sum synchronises
        float4 acc = make_float4(0.f, 0.f, 0.f, 0.f);
        if (active) {
            const float4 vj = reinterpret_cast<const float4*>(v + row * NH * DV + hd * DV)[c4];
            for (int i = g; i < DQ; i += groups) {
                float4* cp = reinterpret_cast<float4*>(Cb + (int64_t)i * DV) + c4;
                float4 c = *cp;
                const float w = ih * sk[i], qi = sq[i];
                c.x = fh * c.x + w * vj.x;
                c.y = fh * c.y + w * vj.y;
                c.z = fh * c.z + w * vj.z;
                c.w = fh * c.w + w * vj.w;
                *cp = c;
                acc.x = fmaf(qi, c.x, acc.x);
                acc.y = fmaf(qi, c.y, acc.y);
                acc.z = fmaf(qi, c.z, acc.z);
                acc.w = fmaf(qi, c.w, acc.w);
            }
            reinterpret_cast<float4*>(part + g * DV)[c4] = acc;
        }
        __syncthreads();
        for (int j = tid; j < DV; j += blockDim.x) {
            float s = 0.f;
            for (int gg = 0; gg < groups; gg++) s += part[gg * DV + j];
            h[row * NH * DV + hd * DV + j] = s / den;
        }
        mprev = mnew;
    }
    __syncthreads();
    for (int i = tid; i < DQ; i += blockDim.x) nb[i] = sn[i];
    if (tid == 0) m[blockIdx.x] = mprev;
}

// ---------------------------------------------------------------------------------------------------------------
// The whole step spread over (batch, head, slice of `cols` columns of C): with xLSTM-7B's 4 heads the one-block-per-
// head kernel above keeps 4 multiprocessors busy moving 4 × 72 KB of state; here 12 slices of 16 columns make 48
// blocks of 6 KB each. Every block computes its head's normaliser itself (DQ values: cheap; its sum with one
// barrier: warp sums added in order), all in the same order, so all blocks of a head agree bit for bit; the new n
// and m are written by the head's last block to arrive (counters[b·NH + head] counts the blocks that have read the
// old n and m; that last block resets it to 0 for the next launch), so no block reads a state another block has
// already advanced. C is read with 16-byte
// accesses, a thread's first rows (and n, m) requested before pdl_wait() so they arrive while the step's inputs do.
// grid (B·NH, ceil(DV / cols)); block STEP_COLS_THREADS; cols % 4 == 0, DV % 4 == 0, C and v 16-byte aligned;
// counters: B·NH zeros. h sums the row groups' partial products in a fixed order: deterministic.
// Dynamic shared memory: 32 floats, 3·DQ rounded up to 4, then groups·cols floats, groups = blockDim / (cols/4).
#define STEP_COLS_THREADS 128
#define STEP_COLS_BATCH 4   // rows of C a thread has in flight at once
#define STEP_COLS_QK 2      // elements of q and k a thread requests at once (DQ <= 256 in one round)

extern "C" __global__ void __launch_bounds__(STEP_COLS_THREADS) xlstm_mlstm_step_cols_f32(
    const float* __restrict__ q, const float* __restrict__ k, const float* __restrict__ v, const float* __restrict__ ig,
    const float* __restrict__ fg, float* __restrict__ C, float* __restrict__ n, float* __restrict__ m,
    float* __restrict__ h, unsigned* __restrict__ counters, int S, int NH, int DQ, int DV, int cols, float eps,
    const void* prefetch, long long prefetchBytes) {
    extern __shared__ __align__(16) unsigned char smem[];
    float* red = reinterpret_cast<float*>(smem);   // 32 floats for block_sum
    float* sq = red + 32;
    float* sk = sq + DQ;
    float* sn = sk + DQ;
    float* part = sq + ((3 * DQ + 3) & ~3);   // [groups][cols], 16-byte aligned
    const int bh = blockIdx.x, b = bh / NH, hd = bh % NH, tid = threadIdx.x;
    const int V4 = cols >> 2, groups = blockDim.x / V4;   // thread tid < groups·V4: row group tid / V4, vector tid % V4
    const int g = tid / V4, c4 = tid - g * V4, col = blockIdx.y * cols + 4 * c4;
    const bool active = g < groups && col < DV;
    float4* Cv = reinterpret_cast<float4*>(C + (int64_t)bh * DQ * DV + col);   // row i: Cv + i·DV/4
    const int dv4 = DV >> 2;
    // The state (C, n, m) is requested before pdl_wait(): no decode step launches this kernel right after a kernel
    // that writes the state (its predecessor computes q, k, v and the gates), and every kernel before the
    // predecessor is complete once this one runs (common.cuh), so these loads overlap the projections' tail.
    float4 cb[STEP_COLS_BATCH];
#pragma unroll
    for (int u = 0; u < STEP_COLS_BATCH; u++) {   // the first rows of the first step, requested first
        const int i = g + u * groups;
        if (active && i < DQ) cb[u] = Cv[(int64_t)i * dv4];
    }
    float* nb = n + (int64_t)bh * DQ;
    const float kscale = rsqrtf((float)DQ);
    float mprev = m[bh];
    for (int i = tid; i < DQ; i += blockDim.x) sn[i] = nb[i];
    // weights of a later kernel (Ops.prefetchHint: in an xLSTM-7B block the down projection's, 3 MB) asked into
    // L2 now, while the memory is idle, instead of when their kernel starts beside the gate/up products
    prefetch_l2_share(prefetch, prefetchBytes);
    pdl_wait();   // launched dependently: q, k, v and the gates come from the previous kernel
    // the block's arrival is counted by a thread outside the normaliser's loop where there is one (its fence and
    // atomic then stay off the path to the normaliser's sum)
    const int counting = blockDim.x - 1;
    unsigned arrived = 0;
    for (int t = 0; t < S; t++) {
        const int64_t row = (int64_t)b * S + t;
        // every load of the step first: v, the gates, q and k arrive together
        const float4 vj = active ? reinterpret_cast<const float4*>(v + row * NH * DV + hd * DV + col)[0]
                                 : make_float4(0.f, 0.f, 0.f, 0.f);
        const float iv = ig[row * NH + hd], fv = fg[row * NH + hd];
        float qv[STEP_COLS_QK], kv[STEP_COLS_QK];
#pragma unroll
        for (int u = 0; u < STEP_COLS_QK; u++) {
            const int i = tid + u * blockDim.x;
            qv[u] = i < DQ ? q[row * NH * DQ + hd * DQ + i] : 0.f;
            kv[u] = i < DQ ? k[row * NH * DQ + hd * DQ + i] : 0.f;
        }
        const float lf = log_sigmoid(fv);
        const float mnew = fmaxf(lf + mprev, iv);
        const float fh = expf(lf + mprev - mnew), ih = expf(iv - mnew);
        __syncthreads();   // the previous step's readers of sq, sk, sn, part and red are done
        if (t == 0 && tid == counting) {
            // every thread's reads of the old n and m are behind the barrier: count this block now (the atomic's
            // round trip overlaps the step); the head's last block to arrive writes the new n and m at the end
            __threadfence();
            arrived = atomicAdd(counters + bh, 1u);
        }
        float pq = 0.f;
#pragma unroll
        for (int u = 0; u < STEP_COLS_QK; u++) {
            const int i = tid + u * blockDim.x;
            if (i < DQ) {
                const float ski = kv[u] * kscale;
                sq[i] = qv[u];
                sk[i] = ski;
                sn[i] = fh * sn[i] + ih * ski;
                pq += qv[u] * sn[i];
            }
        }
        for (int i = tid + STEP_COLS_QK * blockDim.x; i < DQ; i += blockDim.x) {   // DQ > STEP_COLS_QK · blockDim
            const float qi = q[row * NH * DQ + hd * DQ + i], ski = k[row * NH * DQ + hd * DQ + i] * kscale;
            sq[i] = qi;
            sk[i] = ski;
            sn[i] = fh * sn[i] + ih * ski;
            pq += qi * sn[i];
        }
        // the block's sum with one barrier: warp sums, then every thread adds them in order (publishes sq, sk)
        pq = warp_sum(pq);
        if ((tid & 31) == 0) red[tid >> 5] = pq;
        __syncthreads();
        float qn = 0.f;
        for (int w = 0; w < (int)(blockDim.x >> 5); w++) qn += red[w];
        const float den = fmaxf(fabsf(qn), expf(-mnew)) + eps;
        if (active) {
            float4 acc = make_float4(0.f, 0.f, 0.f, 0.f);
            for (int i0 = g; i0 < DQ; i0 += STEP_COLS_BATCH * groups) {
                if (t > 0 || i0 != g) {
#pragma unroll
                    for (int u = 0; u < STEP_COLS_BATCH; u++) {
                        const int i = i0 + u * groups;
                        if (i < DQ) cb[u] = Cv[(int64_t)i * dv4];
                    }
                }
#pragma unroll
                for (int u = 0; u < STEP_COLS_BATCH; u++) {
                    const int i = i0 + u * groups;
                    if (i < DQ) {
                        float4 c = cb[u];
                        const float w = ih * sk[i], qi = sq[i];
                        c.x = fh * c.x + w * vj.x;
                        c.y = fh * c.y + w * vj.y;
                        c.z = fh * c.z + w * vj.z;
                        c.w = fh * c.w + w * vj.w;
                        Cv[(int64_t)i * dv4] = c;
                        acc.x = fmaf(qi, c.x, acc.x);
                        acc.y = fmaf(qi, c.y, acc.y);
                        acc.z = fmaf(qi, c.z, acc.z);
                        acc.w = fmaf(qi, c.w, acc.w);
                    }
                }
            }
            reinterpret_cast<float4*>(part + g * cols)[c4] = acc;
        }
        __syncthreads();
        // the next kernel (the head norm and out projection) starts only now, when just the sums of h are left:
        // started at the wait, its weights and prologue loads came in beside this kernel's (decode lab, H200: the
        // 7B-architecture token 216.2 -> 214.1 µs)
        if (t == 0) pdl_trigger();
        for (int j = tid; j < cols && blockIdx.y * cols + j < DV; j += blockDim.x) {
            float s = 0.f;
            for (int gg = 0; gg < groups; gg++) s += part[gg * cols + j];
            h[row * NH * DV + hd * DV + blockIdx.y * cols + j] = s / den;
        }
        mprev = mnew;
    }
    // the head's last block writes the new n and m (all blocks computed the same values) and resets the counter
    __syncthreads();
    if (tid == counting) {
        const bool last = arrived == gridDim.y - 1;
        if (last) {
            counters[bh] = 0u;
            __threadfence();
        }
        red[0] = last ? 1.f : 0.f;
    }
    __syncthreads();
    if (red[0] != 0.f) {
        for (int i = tid; i < DQ; i += blockDim.x) nb[i] = sn[i];
        if (tid == 0) m[bh] = mprev;
    }
}
