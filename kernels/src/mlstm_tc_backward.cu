// Backward of the chunkwise mLSTM cell on tensor cores, for the BF16 precision of the CUDA backend
// (GradOps.mlstmChunkwiseBackward from the zero state with stabiliser m0). Layouts as in mlstm_tc.cu: q, k, dq, dk
// [B, S, NH*DQ], v, dh, dv [B, S, NH*DV], gate pre-activations and their gradients [B, S, NH]. Products take bf16
// inputs with fp32 accumulation; gates, stabilisers, normalisers and every per-row quantity are fp32.
//
// The stabilisers (row maxima m_t, chunk states m) are taken as constants, as the mlstm_kernels chunkwise backward
// does: the cell's output does not depend on them except through eps, so the gradient is the same up to terms of
// order eps·e^m. (The float32 kernel, mlstm_backward_seq.cu, differentiates them as computed, for conformance.)
//
// Per chunk of L steps with in-chunk cumulative log forget gates b_t, input pre-activations i_t, the state (C, n, m)
// before it and kscale = 1/√DQ, the forward computes
//   P_ts = kscale q_t·k_s · exp(b_t − b_s + i_s − m_t) (s ≤ t),   a_t = exp(b_t + m − m_t),
//   num_t = Σ_s P_ts v_s + a_t q_t C,   den_t = Σ_s P_ts + a_t q_t·n,   h_t = num_t / N_t,
//   N_t = max(|den_t|, exp(−m_t)) + eps,   C' = decay·C + Σ_s w_s k_s v_sᵀ,  n' = decay·n + Σ_s w_s k_s.
// Four passes:
//   xlstm_mlstm_tc_states (mlstm_tc.cu)  the forward's states pass, from the zero state: C, n, m before each chunk;
//   xlstm_mlstm_tc_bwd_rows      grid (B·NH, NC): per row 1/N_t, the gradient of den_t and of log a_t;
//   xlstm_mlstm_tc_bwd_states    grid (B·NH, DQ/TQ, DV/TV): chunks last to first, the gradient of the state after
//                                each chunk, dC ← decay·dC + Σ_t (a_t/N_t) q_t dh_tᵀ and dn likewise;
//   xlstm_mlstm_tc_bwd_chunk     grid (B·NH, NC): everything else of a chunk (dq, dk, dv, di, df) from its states and
//                                the gradient of the state after it. Rows belong to one chunk: no atomics anywhere.
#include "mlstm_tc.cuh"

namespace {

/** Pointer to part `bytes` further on, 128-byte aligned parts (the layouts below). */
template <class T>
__device__ __forceinline__ T* part(unsigned char*& at, size_t bytes) {
    T* p = reinterpret_cast<T*>(at);
    at += align128(bytes);
    return p;
}

/** Lower-triangular product tiles: out[ti][tj] (tj <= ti) = A[ti rows] · Bᵀ over kdim, A and B row-major bf16. */
__device__ void lower_products(const bf16* A, int lda, const bf16* B, int ldb, int kdim, int RT, int len, float* out,
                               int ldo) {
    const int warp = threadIdx.x >> 5, nwarps = blockDim.x >> 5;
    for (int ti = 0, idx = 0; ti < RT; ti++)
        for (int tj = 0; tj <= ti; tj++, idx++) {
            if (idx % nwarps != warp || ti * 16 >= len) continue;
            FragC acc;
            wmma::fill_fragment(acc, 0.f);
            for (int kk = 0; kk < kdim / 16; kk++) {
                FragArow a;
                FragBcol b;   // Bᵀ: element (x, s) = B[s][x]
                wmma::load_matrix_sync(a, A + ti * 16 * lda + kk * 16, lda);
                wmma::load_matrix_sync(b, B + tj * 16 * ldb + kk * 16, ldb);
                wmma::mma_sync(acc, a, b, acc);
            }
            wmma::store_matrix_sync(out + ti * 16 * ldo + tj * 16, acc, ldo, wmma::mem_row_major);
        }
}

/** Loads rows [t0, t0+len) of a [B, S, NH*D] tensor's head (columns d0..d0+W) into a bf16 tile (L rows, ld), rows
 * past len zero, each row scaled by rowScale[t] when given. */
__device__ __forceinline__ void load_rows_bf16(const float* src, int64_t row0, int NH, int D, int d0, int W, int len,
                                               int L, bf16* dst, int ld, const float* rowScale) {
    copy_rows4<8>(L, W, aligned16(src), [&](int t) { return t < len ? src + (row0 + (int64_t)t * NH) * D + d0 : nullptr; },
                  [&](int t, int c, float4 x) {
                      store4_bf16(dst + t * ld + c, x, rowScale == nullptr || t >= len ? 1.f : rowScale[t]);
                  });
}

}  // namespace

// ---------------------------------------------------------------------------------------------------------------
// Row quantities. Block: 256 threads. Dynamic shared memory, parts rounded up to 128 bytes:
//   Qb, Kb  L × (DQ+8) bf16;  Vb, Hb  L × (DV+8) bf16 (v, dh);  Cb  DQ × (DV+8) bf16 (C before the chunk)
//   Sf, Xf  L × (L+4) fp32 (q·kᵀ, dh·vᵀ);  Yf  L × (DQ+4) fp32 (dh·Cᵀ);  nsm DQ fp32;  gb, gi, gm, ga, gw  L fp32;
//   sc 2 fp32
// Writes, per row (index (b·NH + head)·S + t): rinv = 1/N_t, dden = ∂/∂den_t, dloga = ∂/∂log a_t and, for the
// states pass, coefA = a_t/N_t and coefN = a_t·dden_t; per chunk (index (b·NH + head)·NC + c) the decay of the state.
extern "C" __global__ void __launch_bounds__(256) xlstm_mlstm_tc_bwd_rows(
    const float* __restrict__ q, const float* __restrict__ k, const float* __restrict__ v,
    const float* __restrict__ ig, const float* __restrict__ fg, const float* __restrict__ dh,
    const float* __restrict__ Cs, const float* __restrict__ ns, const float* __restrict__ ms,
    float* __restrict__ rinvOut, float* __restrict__ ddenOut, float* __restrict__ dlogaOut,
    float* __restrict__ coefAOut, float* __restrict__ coefNOut, float* __restrict__ decayOut, int S, int NH, int DQ,
    int DV, int L, float eps) {
    extern __shared__ __align__(128) unsigned char smem[];
    const int ldq = DQ + PAD_BF16, ldv = DV + PAD_BF16, lds = L + PAD_F32, ldy = DQ + PAD_F32;
    unsigned char* at = smem;
    bf16* Qb = part<bf16>(at, (size_t)L * ldq * sizeof(bf16));
    bf16* Kb = part<bf16>(at, (size_t)L * ldq * sizeof(bf16));
    bf16* Vb = part<bf16>(at, (size_t)L * ldv * sizeof(bf16));
    bf16* Hb = part<bf16>(at, (size_t)L * ldv * sizeof(bf16));
    bf16* Cb = part<bf16>(at, (size_t)DQ * ldv * sizeof(bf16));
    float* Sf = part<float>(at, (size_t)L * lds * sizeof(float));
    float* Xf = part<float>(at, (size_t)L * lds * sizeof(float));
    float* Yf = part<float>(at, (size_t)L * ldy * sizeof(float));
    float* nsm = part<float>(at, (size_t)DQ * sizeof(float));
    float* gb = reinterpret_cast<float*>(at);
    float* gi = gb + L;
    float* gm = gi + L;
    float* ga = gm + L;
    float* gw = ga + L;
    float* sc = gw + L;

    const int bh = blockIdx.x, b = bh / NH, hd = bh % NH, cl = blockIdx.y, NC = gridDim.y;
    const int t0 = cl * L, len = min(L, S - t0);
    const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5, nwarps = blockDim.x >> 5;
    const int64_t atc = (int64_t)bh * NC + cl;
    const int64_t row0 = ((int64_t)b * S + t0) * NH + hd;
    const float kscale = rsqrtf((float)DQ);
    const int RT = L / 16;
    const float mprev = ms[atc];
    const bool inter = mprev > -INFINITY;   // block-uniform; a_t = 0 for every row otherwise

    if (warp == 0) {
        gate_scan(fg, ig, row0, NH, len, L, gb, gi);
        __syncwarp();
        chunk_update_weights(gb, gi, len, L, mprev, kscale, gw, sc);
    }
    load_rows_bf16(q, row0, NH, DQ, 0, DQ, len, L, Qb, ldq, nullptr);
    load_rows_bf16(k, row0, NH, DQ, 0, DQ, len, L, Kb, ldq, nullptr);
    load_rows_bf16(v, row0, NH, DV, 0, DV, len, L, Vb, ldv, nullptr);
    load_rows_bf16(dh, row0, NH, DV, 0, DV, len, L, Hb, ldv, nullptr);
    if (inter) {
        const float* Cc = Cs + atc * DQ * DV;
        copy_rows4<8>(DQ, DV, aligned16(Cs), [&](int r) { return Cc + (int64_t)r * DV; },
                      [&](int r, int c, float4 x) { store4_bf16(Cb + r * ldv + c, x); });
    }
    for (int i = tid; i < DQ; i += blockDim.x) nsm[i] = ns[atc * DQ + i];
    __syncthreads();
    if (tid == 0) decayOut[atc] = sc[1];
    row_stabilisers(gb, gi, mprev, len, gm, ga);

    lower_products(Qb, ldq, Kb, ldq, DQ, RT, len, Sf, lds);
    lower_products(Hb, ldv, Vb, ldv, DV, RT, len, Xf, lds);
    if (inter) {   // Y = dh · Cᵀ, all tiles
        const int CT = DQ / 16;
        for (int tile = warp; tile < RT * CT; tile += nwarps) {
            const int ti = tile % RT, tj = tile / RT;
            if (ti * 16 >= len) continue;
            FragC acc;
            wmma::fill_fragment(acc, 0.f);
            for (int kk = 0; kk < DV / 16; kk++) {
                FragArow a;
                FragBcol bc;   // Cᵀ: element (j, i) = C[i][j]
                wmma::load_matrix_sync(a, Hb + ti * 16 * ldv + kk * 16, ldv);
                wmma::load_matrix_sync(bc, Cb + tj * 16 * ldv + kk * 16, ldv);
                wmma::mma_sync(acc, a, bc, acc);
            }
            wmma::store_matrix_sync(Yf + ti * 16 * ldy + tj * 16, acc, ldy, wmma::mem_row_major);
        }
    }
    __syncthreads();

    for (int t = warp; t < len; t += nwarps) {
        const float bt = gb[t], mt = gm[t], a = ga[t];
        float den = 0.f, dot = 0.f;
        for (int s = lane; s <= t; s += 32) {
            const float p = Sf[t * lds + s] * kscale * expf(bt - gb[s] + gi[s] - mt);
            den += p;
            dot = fmaf(p, Xf[t * lds + s], dot);
        }
        float qn = 0.f, qy = 0.f;
        if (inter)
            for (int i = lane; i < DQ; i += 32) {
                const float qi = from_bf16(Qb[t * ldq + i]);
                qn = fmaf(qi, nsm[i], qn);
                qy = fmaf(qi, Yf[t * ldy + i], qy);
            }
        const float qnS = warp_sum(qn), qyS = warp_sum(qy);
        den = warp_sum(den) + a * qnS;
        dot = warp_sum(dot) + a * qyS;   // dh_t · num_t
        if (lane == 0) {
            const float floor = expf(-mt);
            const float rinv = 1.f / (fmaxf(fabsf(den), floor) + eps);
            // h = num / N: ∂N = −(dh·h)/N, reaching den only where |den| is the larger side of the max
            const float dden = fabsf(den) > floor ? -(dot * rinv) * rinv * (den < 0.f ? -1.f : 1.f) : 0.f;
            const int64_t r = (int64_t)bh * S + t0 + t;
            rinvOut[r] = rinv;
            ddenOut[r] = dden;
            dlogaOut[r] = a * (rinv * qyS + dden * qnS);   // a_t q_t·(C dh_t/N_t + n dden_t)
            coefAOut[r] = a * rinv;
            coefNOut[r] = a * dden;
        }
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Gradient of the state after each chunk, chunks last to first, one TQ×TV tile of dC per block (TQ, TV in {16, 32}),
// from the rows pass's coefficients: dC ← decay·dC + Σ_t coefA_t q_t dh_tᵀ, dn ← decay·dn + Σ_t coefN_t q_t.
// Block: 128 threads. Dynamic shared memory, parts rounded up to 128 bytes:
//   Qs  L × (TQ+8) bf16    coefA_t · q_t[q0:q0+TQ]
//   Hs  L × (TV+8) bf16    dh_t[dv0:dv0+TV]
//   Qf  L × TQ fp32        q_t[q0:q0+TQ]
//   dCt TQ × (TV+4) fp32   the carried gradient tile
//   ca, cn (L), dnt (TQ): fp32
// Writes dCs[b·NH + head][c] = ∂/∂(C after chunk c) (zero for the last chunk), dns likewise (blocks of column tile 0).
extern "C" __global__ void __launch_bounds__(128) xlstm_mlstm_tc_bwd_states(
    const float* __restrict__ q, const float* __restrict__ dh, const float* __restrict__ coefA,
    const float* __restrict__ coefN, const float* __restrict__ decays, float* __restrict__ dCs,
    float* __restrict__ dns, int S, int NH, int DQ, int DV, int L, int TQ, int TV) {
    extern __shared__ __align__(128) unsigned char smem[];
    const int ldq = TQ + PAD_BF16, ldh = TV + PAD_BF16, ldc = TV + PAD_F32;
    unsigned char* at = smem;
    bf16* Qs = part<bf16>(at, (size_t)L * ldq * sizeof(bf16));
    bf16* Hs = part<bf16>(at, (size_t)L * ldh * sizeof(bf16));
    float* Qf = part<float>(at, (size_t)L * TQ * sizeof(float));
    float* dCt = part<float>(at, (size_t)TQ * ldc * sizeof(float));
    float* ca = reinterpret_cast<float*>(at);
    float* cn = ca + L;
    float* dnt = cn + L;

    const int bh = blockIdx.x, b = bh / NH, hd = bh % NH;
    const int q0 = blockIdx.y * TQ, dv0 = blockIdx.z * TV;
    const bool ownsN = blockIdx.z == 0;
    const int tid = threadIdx.x, warp = tid >> 5, nwarps = blockDim.x >> 5;
    const int NC = (S + L - 1) / L;
    const int fv = TV / 16, nfrag = (TQ / 16) * fv;

    for (int e = tid; e < TQ * ldc; e += blockDim.x) dCt[e] = 0.f;
    for (int i = tid; i < TQ; i += blockDim.x) dnt[i] = 0.f;
    __syncthreads();

    for (int cl = NC - 1;; cl--) {
        const int64_t atc = (int64_t)bh * NC + cl;
        float* Dc = dCs + atc * DQ * DV + (int64_t)q0 * DV + dv0;
        store_tile(Dc, DV, dCt, ldc, TQ, TV, aligned16(dCs));
        if (ownsN)
            for (int i = tid; i < TQ; i += blockDim.x) dns[atc * DQ + q0 + i] = dnt[i];
        if (cl == 0) break;   // the state before the first chunk is the zero state: nothing further to carry

        const int t0 = cl * L, len = min(L, S - t0);
        const int64_t row0 = ((int64_t)b * S + t0) * NH + hd, r0 = (int64_t)bh * S + t0;
        for (int t = tid; t < L; t += blockDim.x) {
            ca[t] = t < len ? coefA[r0 + t] : 0.f;
            cn[t] = t < len ? coefN[r0 + t] : 0.f;
        }
        copy_rows4<8>(L, TQ, aligned16(q),
                      [&](int t) { return t < len ? q + (row0 + (int64_t)t * NH) * DQ + q0 : nullptr; },
                      [&](int t, int c, float4 x) { store4_f32(Qf + t * TQ + c, x); });
        load_rows_bf16(dh, row0, NH, DV, dv0, TV, len, L, Hs, ldh, nullptr);
        const float decay = decays[atc];
        __syncthreads();

        for_rows4(L, TQ, [&](int t, int c) { store4_bf16(Qs + t * ldq + c, *reinterpret_cast<const float4*>(Qf + t * TQ + c), ca[t]); });
        if (ownsN)
            for (int i = tid; i < TQ; i += blockDim.x) {
                float acc = decay == 0.f ? 0.f : decay * dnt[i];
                for (int t = 0; t < len; t++) acc = fmaf(cn[t], Qf[t * TQ + i], acc);
                dnt[i] = acc;
            }
        __syncthreads();
        for (int fr = warp; fr < nfrag; fr += nwarps) {
            const int ri = fr / fv, cj = fr % fv;
            float* cp = dCt + ri * 16 * ldc + cj * 16;
            FragC acc;
            if (decay == 0.f) {
                wmma::fill_fragment(acc, 0.f);
            } else {
                wmma::load_matrix_sync(acc, cp, ldc, wmma::mem_row_major);
                for (int e = 0; e < acc.num_elements; e++) acc.x[e] *= decay;
            }
            for (int kk = 0; kk * 16 < len; kk++) {
                FragAcol a;   // Qsᵀ: element (i, t) = Qs[t][i]
                FragBrow bm;
                wmma::load_matrix_sync(a, Qs + kk * 16 * ldq + ri * 16, ldq);
                wmma::load_matrix_sync(bm, Hs + kk * 16 * ldh + cj * 16, ldh);
                wmma::mma_sync(acc, a, bm, acc);
            }
            wmma::store_matrix_sync(cp, acc, ldc, wmma::mem_row_major);
        }
        __syncthreads();
    }
}

// ---------------------------------------------------------------------------------------------------------------
// A chunk's gradients. Block: 256 threads (8 warps). Dynamic shared memory, parts rounded up to 128 bytes:
//   Qb, Kb  L × (DQ+8) bf16;   Vb, Nb  L × (DV+8) bf16 (v; dh_t/N_t)
//   Mb      DQ × (DV+8) bf16   C before the chunk, then dC' (the gradient of the state after it)
//   Pb, Db  L × (L+8) bf16     P and kscale·∂/∂S (zero above the diagonal and past len)
//   Sf      L × (L+4) fp32     scores, then ∂/∂log D
//   Xf      max(L × (L+4), 8·512) fp32   (dh/N)·vᵀ, then two 16×16 staging tiles per warp
//   Gf      L × (DQ+4) fp32    v·dC'ᵀ
//   nsm, dnsm  DQ fp32;  per row (L each): gb gi gm ga gw rinv dden dloga grow gcol dlogw;  red 32, sc 2 fp32
// With m taken as constant (see the top), log D_ts = b_t − b_s + i_s − m_t, log a_t = b_t + m − m_t,
// log w_s = b_L − b_s + i_s − m' and log decay = b_L + m − m', so the gate gradients are sums of ∂/∂log of these:
//   ∂b_t = Σ_s ∂D_ts − Σ_u ∂D_ut + ∂a_t − ∂w_t (+ Σ_s ∂w_s + ∂decay at t = len−1),  ∂i_s = Σ_t ∂D_ts + ∂w_s,
//   ∂f_u = σ(−f_u) Σ_{t≥u} ∂b_t.
extern "C" __global__ void __launch_bounds__(256) xlstm_mlstm_tc_bwd_chunk(
    const float* __restrict__ q, const float* __restrict__ k, const float* __restrict__ v,
    const float* __restrict__ ig, const float* __restrict__ fg, const float* __restrict__ dh,
    const float* __restrict__ Cs, const float* __restrict__ ns, const float* __restrict__ ms,
    const float* __restrict__ dCs, const float* __restrict__ dns, const float* __restrict__ rinvIn,
    const float* __restrict__ ddenIn, const float* __restrict__ dlogaIn, float* __restrict__ dq,
    float* __restrict__ dk, float* __restrict__ dv, float* __restrict__ di, float* __restrict__ df, int S, int NH,
    int DQ, int DV, int L) {
    extern __shared__ __align__(128) unsigned char smem[];
    const int ldq = DQ + PAD_BF16, ldv = DV + PAD_BF16, ldp = L + PAD_BF16, lds = L + PAD_F32, ldg = DQ + PAD_F32;
    unsigned char* at = smem;
    bf16* Qb = part<bf16>(at, (size_t)L * ldq * sizeof(bf16));
    bf16* Kb = part<bf16>(at, (size_t)L * ldq * sizeof(bf16));
    bf16* Vb = part<bf16>(at, (size_t)L * ldv * sizeof(bf16));
    bf16* Nb = part<bf16>(at, (size_t)L * ldv * sizeof(bf16));
    bf16* Mb = part<bf16>(at, (size_t)DQ * ldv * sizeof(bf16));
    bf16* Pb = part<bf16>(at, (size_t)L * ldp * sizeof(bf16));
    bf16* Db = part<bf16>(at, (size_t)L * ldp * sizeof(bf16));
    float* Sf = part<float>(at, (size_t)L * lds * sizeof(float));
    float* Xf = part<float>(at, (size_t)max(L * lds, 8 * 512) * sizeof(float));
    float* Gf = part<float>(at, (size_t)L * ldg * sizeof(float));
    float* nsm = part<float>(at, (size_t)DQ * sizeof(float));
    float* dnsm = part<float>(at, (size_t)DQ * sizeof(float));
    float* gb = reinterpret_cast<float*>(at);
    float* gi = gb + L;
    float* gm = gi + L;
    float* ga = gm + L;
    float* gw = ga + L;
    float* rinv = gw + L;
    float* dden = rinv + L;
    float* dloga = dden + L;
    float* grow = dloga + L;
    float* gcol = grow + L;
    float* dlogw = gcol + L;
    float* red = dlogw + L;
    float* sc = red + 32;

    const int bh = blockIdx.x, b = bh / NH, hd = bh % NH, cl = blockIdx.y, NC = gridDim.y;
    const int t0 = cl * L, len = min(L, S - t0);
    const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5, nwarps = blockDim.x >> 5;
    const int64_t atc = (int64_t)bh * NC + cl;
    const int64_t row0 = ((int64_t)b * S + t0) * NH + hd;
    const float kscale = rsqrtf((float)DQ);
    const int RT = L / 16, CQ = DQ / 16, CV = DV / 16;
    const float mprev = ms[atc];
    const bool inter = mprev > -INFINITY;   // block-uniform: from the zero state with m = −∞ every a_t is 0

    // phase A: gates, row quantities, operands
    if (warp == 0) {
        gate_scan(fg, ig, row0, NH, len, L, gb, gi);
        __syncwarp();
        chunk_update_weights(gb, gi, len, L, mprev, kscale, gw, sc);
    }
    for (int t = tid; t < L; t += blockDim.x) {
        const int64_t r = (int64_t)bh * S + t0 + t;
        rinv[t] = t < len ? rinvIn[r] : 0.f;
        dden[t] = t < len ? ddenIn[r] : 0.f;
        dloga[t] = t < len ? dlogaIn[r] : 0.f;
    }
    load_rows_bf16(q, row0, NH, DQ, 0, DQ, len, L, Qb, ldq, nullptr);
    load_rows_bf16(k, row0, NH, DQ, 0, DQ, len, L, Kb, ldq, nullptr);
    load_rows_bf16(v, row0, NH, DV, 0, DV, len, L, Vb, ldv, nullptr);
    if (inter) {
        const float* Cc = Cs + atc * DQ * DV;
        copy_rows4<8>(DQ, DV, aligned16(Cs), [&](int r) { return Cc + (int64_t)r * DV; },
                      [&](int r, int c, float4 x) { store4_bf16(Mb + r * ldv + c, x); });
    }
    for (int i = tid; i < DQ; i += blockDim.x) {
        nsm[i] = ns[atc * DQ + i];
        dnsm[i] = dns[atc * DQ + i];
    }
    __syncthreads();
    row_stabilisers(gb, gi, mprev, len, gm, ga);
    load_rows_bf16(dh, row0, NH, DV, 0, DV, len, L, Nb, ldv, rinv);
    __syncthreads();

    // phase B: S = q·kᵀ and X = (dh/N)·vᵀ on the lower-triangular tiles
    lower_products(Qb, ldq, Kb, ldq, DQ, RT, len, Sf, lds);
    lower_products(Nb, ldv, Vb, ldv, DV, RT, len, Xf, lds);
    __syncthreads();

    // phase C, one warp per row: P, ∂P = X + ∂den, ∂S = ∂P·D, ∂log D = ∂P·P (row sums here, column sums next)
    for (int t = warp; t < L; t += nwarps) {
        float rs = 0.f;
        for (int s = lane; s < L; s += 32) {
            float p = 0.f, dS = 0.f, g = 0.f;
            if (t < len && s <= t) {
                const float D = expf(gb[t] - gb[s] + gi[s] - gm[t]);
                p = Sf[t * lds + s] * kscale * D;
                const float dp = Xf[t * lds + s] + dden[t];
                dS = dp * D;
                g = dp * p;
            }
            Pb[t * ldp + s] = to_bf16(p);
            Db[t * ldp + s] = to_bf16(dS * kscale);
            Sf[t * lds + s] = g;
            rs += g;
        }
        rs = warp_sum(rs);
        if (lane == 0) grow[t] = rs;
    }
    __syncthreads();

    // phase D: column sums of ∂log D; dq = kscale·∂S·k + a_t ((dh/N)·Cᵀ + ∂den_t n)
    for (int s = tid; s < L; s += blockDim.x) {
        float cs = 0.f;
        for (int t = s; t < len; t++) cs += Sf[t * lds + s];
        gcol[s] = cs;
    }
    float* stage = Xf + warp * 512;
    for (int tile = warp; tile < RT * CQ; tile += nwarps) {
        const int ti = tile % RT, tj = tile / RT;
        if (ti * 16 >= len) continue;
        FragC acc, acc2;
        wmma::fill_fragment(acc, 0.f);
        wmma::fill_fragment(acc2, 0.f);
        for (int kk = 0; kk <= ti; kk++) {
            FragArow a;
            FragBrow bm;
            wmma::load_matrix_sync(a, Db + ti * 16 * ldp + kk * 16, ldp);
            wmma::load_matrix_sync(bm, Kb + kk * 16 * ldq + tj * 16, ldq);
            wmma::mma_sync(acc, a, bm, acc);
        }
        if (inter)
            for (int kk = 0; kk < CV; kk++) {
                FragArow a;
                FragBcol bc;   // Cᵀ: element (j, i) = C[i][j]
                wmma::load_matrix_sync(a, Nb + ti * 16 * ldv + kk * 16, ldv);
                wmma::load_matrix_sync(bc, Mb + tj * 16 * ldv + kk * 16, ldv);
                wmma::mma_sync(acc2, a, bc, acc2);
            }
        wmma::store_matrix_sync(stage, acc, 16, wmma::mem_row_major);
        wmma::store_matrix_sync(stage + 256, acc2, 16, wmma::mem_row_major);
        __syncwarp();
        for (int e = lane; e < 256; e += 32) {
            const int t = ti * 16 + (e >> 4), i = tj * 16 + (e & 15);
            if (t < len && dq != nullptr) dq[(row0 + (int64_t)t * NH) * DQ + i] = stage[e] + ga[t] * (stage[256 + e] + dden[t] * nsm[i]);
        }
        __syncwarp();
    }
    __syncthreads();

    // phase E: dC' replaces C; ∂log decay = decay · (Σ dC'⊙C + dn'·n), C as the products took it (bf16), each
    // element read by the thread that overwrites it
    const float* dCc = dCs + atc * DQ * DV;
    float part_ = 0.f;
    copy_rows4<8>(DQ, DV, aligned16(dCs), [&](int r) { return dCc + (int64_t)r * DV; },
                  [&](int r, int c, float4 x) {
                      bf16* slot = Mb + r * ldv + c;
                      if (inter)
                          part_ += (x.x * from_bf16(slot[0]) + x.y * from_bf16(slot[1])) +
                                   (x.z * from_bf16(slot[2]) + x.w * from_bf16(slot[3]));
                      store4_bf16(slot, x);
                  });
    if (inter)
        for (int i = tid; i < DQ; i += blockDim.x) part_ = fmaf(dnsm[i], nsm[i], part_);
    const float dlogdecay = sc[1] * block_sum(part_, red);   // block_sum synchronises: Mb is complete after it

    // phase F: G = v·dC'ᵀ; dv = Pᵀ·(dh/N) + w_s (k·dC')
    for (int tile = warp; tile < RT * CQ; tile += nwarps) {
        const int ti = tile % RT, tj = tile / RT;
        if (ti * 16 >= len) continue;
        FragC acc;
        wmma::fill_fragment(acc, 0.f);
        for (int kk = 0; kk < CV; kk++) {
            FragArow a;
            FragBcol bc;   // dC'ᵀ
            wmma::load_matrix_sync(a, Vb + ti * 16 * ldv + kk * 16, ldv);
            wmma::load_matrix_sync(bc, Mb + tj * 16 * ldv + kk * 16, ldv);
            wmma::mma_sync(acc, a, bc, acc);
        }
        wmma::store_matrix_sync(Gf + ti * 16 * ldg + tj * 16, acc, ldg, wmma::mem_row_major);
    }
    for (int tile = warp; tile < RT * CV; tile += nwarps) {
        const int ti = tile % RT, tj = tile / RT;
        if (ti * 16 >= len) continue;
        FragC acc, acc2;
        wmma::fill_fragment(acc, 0.f);
        wmma::fill_fragment(acc2, 0.f);
        for (int kk = ti; kk * 16 < len; kk++) {   // P is zero above the diagonal: rows t >= s only
            FragAcol a;   // Pᵀ: element (s, t) = P[t][s]
            FragBrow bm;
            wmma::load_matrix_sync(a, Pb + kk * 16 * ldp + ti * 16, ldp);
            wmma::load_matrix_sync(bm, Nb + kk * 16 * ldv + tj * 16, ldv);
            wmma::mma_sync(acc, a, bm, acc);
        }
        for (int kk = 0; kk < CQ; kk++) {
            FragArow a;
            FragBrow bm;
            wmma::load_matrix_sync(a, Kb + ti * 16 * ldq + kk * 16, ldq);
            wmma::load_matrix_sync(bm, Mb + kk * 16 * ldv + tj * 16, ldv);
            wmma::mma_sync(acc2, a, bm, acc2);
        }
        wmma::store_matrix_sync(stage, acc, 16, wmma::mem_row_major);
        wmma::store_matrix_sync(stage + 256, acc2, 16, wmma::mem_row_major);
        __syncwarp();
        for (int e = lane; e < 256; e += 32) {
            const int s = ti * 16 + (e >> 4);
            if (s < len && dv != nullptr) dv[(row0 + (int64_t)s * NH) * DV + tj * 16 + (e & 15)] = stage[e] + gw[s] * stage[256 + e];
        }
        __syncwarp();
    }
    __syncthreads();

    // phase G: ∂log w_s = w_s k_s·(G_s + dn'); dk = kscale·∂Sᵀ·q + w_s (G_s + dn')
    for (int s = warp; s < len; s += nwarps) {
        float x = 0.f;
        for (int i = lane; i < DQ; i += 32) x = fmaf(from_bf16(Kb[s * ldq + i]), Gf[s * ldg + i] + dnsm[i], x);
        x = warp_sum(x);
        if (lane == 0) dlogw[s] = gw[s] * x;
    }
    for (int tile = warp; tile < RT * CQ; tile += nwarps) {
        const int ti = tile % RT, tj = tile / RT;
        if (ti * 16 >= len) continue;
        FragC acc;
        wmma::fill_fragment(acc, 0.f);
        for (int kk = ti; kk * 16 < len; kk++) {
            FragAcol a;   // ∂Sᵀ
            FragBrow bm;
            wmma::load_matrix_sync(a, Db + kk * 16 * ldp + ti * 16, ldp);
            wmma::load_matrix_sync(bm, Qb + kk * 16 * ldq + tj * 16, ldq);
            wmma::mma_sync(acc, a, bm, acc);
        }
        wmma::store_matrix_sync(stage, acc, 16, wmma::mem_row_major);
        __syncwarp();
        for (int e = lane; e < 256; e += 32) {
            const int s = ti * 16 + (e >> 4), i = tj * 16 + (e & 15);
            if (s < len && dk != nullptr)
                dk[(row0 + (int64_t)s * NH) * DQ + i] = stage[e] + gw[s] * (Gf[s * ldg + i] + dnsm[i]);
        }
        __syncwarp();
    }
    __syncthreads();

    // phase H: gate gradients; the reverse cumulative sum over the ≤ 64 rows by one thread, in shared memory
    if (tid == 0) {
        float wsum = 0.f;
        for (int s = 0; s < len; s++) wsum += dlogw[s];
        float acc = 0.f;
        for (int u = len - 1; u >= 0; u--) {
            float db = grow[u] - gcol[u] + dloga[u] - dlogw[u];
            if (u == len - 1) db += wsum + dlogdecay;
            acc += db;
            grow[u] = acc;   // now Σ_{t≥u} ∂b_t
        }
    }
    __syncthreads();
    for (int u = tid; u < len; u += blockDim.x) {
        const int64_t r = row0 + (int64_t)u * NH;
        if (df != nullptr) df[r] = grow[u] * sigmoidf(-fg[r]);
        if (di != nullptr) di[r] = gcol[u] + dlogw[u];
    }
}
