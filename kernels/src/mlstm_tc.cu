// mLSTM chunkwise forward on tensor cores, for the BF16 precision of the CUDA backend. Same semantics and layouts
// as mlstm.cu (org.xlstm.jvm.backend.Ops#mlstmChunkwise): q, k [B, S, NH*DQ], v and h [B, S, NH*DV], gate
// pre-activations i, f [B, S, NH]; state C [B, NH, DQ, DV], n [B, NH, DQ], m [B, NH] (C and n kept divided by
// exp(m)). Matrix products take bfloat16 inputs (q, k, v rounded here, in the load path) with float32 accumulation;
// gates, their logs and cumulative sums, stabilisers, normalisers and the states stay float32.
//
// Two passes over a segment of chunks (steps [tbase, tbase + sseg), chunk length L in {16, 32, 64}):
//   xlstm_mlstm_tc_states   grid (B·NH, DQ/TQ, DV/TV): the state update C' = decay·C + Kᵀ·(w ⊙ V) is independent
//                           per (row, column) tile of C, so each block walks the chunks for one TQ×TV tile of C
//                           (n: the blocks of column tile 0; m: every block, redundantly, cheap) and records the
//                           state before each chunk (Cs, ns, ms: [B·NH, NC, ...]) for the outputs pass;
//   xlstm_mlstm_tc_outputs  grid (B·NH, NC, DV/TV): one chunk's outputs for one column tile of h from its recorded
//                           state: S = Q·Kᵀ, gate weights and row stabiliser in float32, then in one product
//                           H = [P | Q'] · [V ; C] with P = (S ⊙ D)/den and Q' = (a ⊙ Q)/den (rows scaled in fp32
//                           before rounding), so the row normaliser needs no pass over the accumulator.
// Tensor-core work uses the nvcuda::wmma API (16×16×16 bf16 tiles); accumulators go through shared memory, so no
// code depends on the (unspecified) register layout of a fragment. Global loads are coalesced 16-byte loads when the
// caller's tensors are 16-byte aligned (plain float loads otherwise), stores plain coalesced floats.
#include "mlstm_tc.cuh"

// ---------------------------------------------------------------------------------------------------------------
// Chunk states. Block: 128 threads (4 warps; fragment f of the (TQ/16)×(TV/16) tile belongs to warp f % 4).
// TQ, TV in {16, 32} dividing DQ, DV. Dynamic shared memory, each part rounded up to 128 bytes:
//   Kb  L × (TQ+8) bf16     k[:, q0:q0+TQ] of the chunk (unscaled)
//   WV  L × (TV+8) bf16     w_t · v[t, dv0:dv0+TV], w_t = exp(b_L − b_t + i_t − m') / √DQ
//   Vf  L × TV fp32         v staging (loaded while warp 0 computes the gates)
//   Ct  TQ × (TV+4) fp32    the carried C tile
//   gb, gi, gw (L each), nt (TQ), 2 scalars: fp32
// C, n are read at the start and written at the end by the block that owns the tile; m is read from m_in by every
// block and the final m written to m_out by block (·, 0, 0) only (m_in != m_out: no block may overwrite the m another
// block has yet to read).
extern "C" __global__ void __launch_bounds__(128) xlstm_mlstm_tc_states(
    const float* __restrict__ k, const float* __restrict__ v, const float* __restrict__ ig,
    const float* __restrict__ fg, float* __restrict__ C, float* __restrict__ n, const float* __restrict__ m_in,
    float* __restrict__ m_out, float* __restrict__ Cs, float* __restrict__ ns, float* __restrict__ ms, int S, int NH,
    int DQ, int DV, int L, int tbase, int sseg, int TQ, int TV) {
    extern __shared__ __align__(128) unsigned char smem[];
    const int ldk = TQ + PAD_BF16, ldw = TV + PAD_BF16, ldc = TV + PAD_F32;
    bf16* Kb = reinterpret_cast<bf16*>(smem);
    bf16* WV = reinterpret_cast<bf16*>(smem + align128((size_t)L * ldk * sizeof(bf16)));
    float* Vf = reinterpret_cast<float*>(reinterpret_cast<unsigned char*>(WV) + align128((size_t)L * ldw * sizeof(bf16)));
    float* Ct = reinterpret_cast<float*>(reinterpret_cast<unsigned char*>(Vf) + align128((size_t)L * TV * sizeof(float)));
    float* gb = reinterpret_cast<float*>(reinterpret_cast<unsigned char*>(Ct) + align128((size_t)TQ * ldc * sizeof(float)));
    float* gi = gb + L;
    float* gw = gi + L;
    float* nt = gw + L;
    float* sc = nt + TQ;   // [0] m after the chunk, [1] decay of the carried state

    const int bh = blockIdx.x, b = bh / NH, hd = bh % NH;
    const int q0 = blockIdx.y * TQ, dv0 = blockIdx.z * TV;
    const bool ownsN = blockIdx.z == 0, ownsM = blockIdx.y == 0 && blockIdx.z == 0;
    const int tid = threadIdx.x, warp = tid >> 5, nwarps = blockDim.x >> 5;
    const int NCs = (sseg + L - 1) / L;
    const float kscale = rsqrtf((float)DQ);
    const int fv = TV / 16, nfrag = (TQ / 16) * fv;
    const int64_t cBase = (int64_t)bh * DQ * DV + (int64_t)q0 * DV + dv0;   // element (q0, dv0) of this head's C

    copy_rows4<8>(TQ, TV, aligned16(C), [&](int r) { return C + cBase + (int64_t)r * DV; },
                  [&](int r, int c, float4 x) { store4_f32(Ct + r * ldc + c, x); });
    if (ownsN)
        for (int i = tid; i < TQ; i += blockDim.x) nt[i] = n[(int64_t)bh * DQ + q0 + i];
    float mprev = m_in[bh];
    __syncthreads();

    for (int cl = 0; cl < NCs; cl++) {
        const int t0 = tbase + cl * L, len = min(L, tbase + sseg - t0);
        const int64_t at = (int64_t)bh * NCs + cl;
        const int64_t row0 = ((int64_t)b * S + t0) * NH + hd;
        // the state before this chunk, for the outputs pass
        float* Cc = Cs + at * DQ * DV + (int64_t)q0 * DV + dv0;
        store_tile(Cc, DV, Ct, ldc, TQ, TV, aligned16(Cs));
        if (ownsN)
            for (int i = tid; i < TQ; i += blockDim.x) ns[at * DQ + q0 + i] = nt[i];
        if (ownsM && tid == 0) ms[at] = mprev;

        // phase A: warp 0 the gates, then everyone loads k (bf16) and v (fp32 staging)
        if (warp == 0) {
            gate_scan(fg, ig, row0, NH, len, L, gb, gi);
            __syncwarp();
            chunk_update_weights(gb, gi, len, L, mprev, kscale, gw, sc);
        }
        copy_rows4<8>(L, TQ, aligned16(k),
                      [&](int t) { return t < len ? k + (row0 + (int64_t)t * NH) * DQ + q0 : nullptr; },
                      [&](int t, int c, float4 x) { store4_bf16(Kb + t * ldk + c, x); });
        copy_rows4<8>(L, TV, aligned16(v),
                      [&](int t) { return t < len ? v + (row0 + (int64_t)t * NH) * DV + dv0 : nullptr; },
                      [&](int t, int c, float4 x) { store4_f32(Vf + t * TV + c, x); });
        __syncthreads();

        // phase B: w ⊙ V to bf16; n' = decay·n + Σ_t w_t k_t (fp32, from the same bf16 k as C)
        const float mnew = sc[0], decay = sc[1];
        for_rows4(L, TV, [&](int t, int c) { store4_bf16(WV + t * ldw + c, *reinterpret_cast<const float4*>(Vf + t * TV + c), gw[t]); });
        if (ownsN)
            for (int i = tid; i < TQ; i += blockDim.x) {
                float acc = decay == 0.f ? 0.f : decay * nt[i];
                for (int t = 0; t < len; t++) acc = fmaf(gw[t], from_bf16(Kb[t * ldk + i]), acc);
                nt[i] = acc;
            }
        __syncthreads();

        // phase C: C' = decay·C + Kᵀ·(w ⊙ V) on tensor cores, one 16×16 fragment per warp
        for (int fr = warp; fr < nfrag; fr += nwarps) {
            const int ri = fr / fv, cj = fr % fv;
            float* cp = Ct + ri * 16 * ldc + cj * 16;
            FragC acc;
            if (decay == 0.f) {
                wmma::fill_fragment(acc, 0.f);   // also when C holds garbage under m = -inf
            } else {
                wmma::load_matrix_sync(acc, cp, ldc, wmma::mem_row_major);
                for (int e = 0; e < acc.num_elements; e++) acc.x[e] *= decay;
            }
            for (int kk = 0; kk * 16 < len; kk++) {
                FragAcol a;   // Kᵀ: element (i, t) = Kb[t][i], column-major with ld = ldk
                FragBrow bm;
                wmma::load_matrix_sync(a, Kb + kk * 16 * ldk + ri * 16, ldk);
                wmma::load_matrix_sync(bm, WV + kk * 16 * ldw + cj * 16, ldw);
                wmma::mma_sync(acc, a, bm, acc);
            }
            wmma::store_matrix_sync(cp, acc, ldc, wmma::mem_row_major);
        }
        mprev = mnew;
        __syncthreads();
    }

    store_tile(C + cBase, DV, Ct, ldc, TQ, TV, aligned16(C));
    if (ownsN)
        for (int i = tid; i < TQ; i += blockDim.x) n[(int64_t)bh * DQ + q0 + i] = nt[i];
    if (ownsM && tid == 0) m_out[bh] = mprev;
}

// ---------------------------------------------------------------------------------------------------------------
// Chunk outputs. Block: 256 threads (8 warps). TV (multiple of 16) divides DV. Dynamic shared memory, each part
// rounded up to 128 bytes:
//   A   L × (L+DQ+8) bf16           columns [0, L): P = (S ⊙ D)/den; columns [L, L+DQ): q, then (a ⊙ q)/den
//   Kb  L × (DQ+8) bf16             k of the chunk (unscaled; 1/√DQ applied to the fp32 scores)
//   Bm  (L+DQ) × (TV+8) bf16        rows [0, L): v[:, dv0:dv0+TV]; rows [L, L+DQ): C before the chunk, same columns
//   Sf  max(L×(L+4), 8×256) fp32    scores, then (after the weights are taken) one 16×16 staging tile per warp
//   nsm DQ fp32; gb, gi, gm, ga: L fp32 each
extern "C" __global__ void __launch_bounds__(256) xlstm_mlstm_tc_outputs(
    const float* __restrict__ q, const float* __restrict__ k, const float* __restrict__ v,
    const float* __restrict__ ig, const float* __restrict__ fg, const float* __restrict__ Cs,
    const float* __restrict__ ns, const float* __restrict__ ms, float* __restrict__ h, int S, int NH, int DQ, int DV,
    int L, int tbase, int sseg, int TV, float eps) {
    extern __shared__ __align__(128) unsigned char smem[];
    const int lda = L + DQ + PAD_BF16, ldk = DQ + PAD_BF16, ldb = TV + PAD_BF16, lds = L + PAD_F32;
    bf16* A = reinterpret_cast<bf16*>(smem);
    bf16* Kb = reinterpret_cast<bf16*>(smem + align128((size_t)L * lda * sizeof(bf16)));
    bf16* Bm = reinterpret_cast<bf16*>(reinterpret_cast<unsigned char*>(Kb) + align128((size_t)L * ldk * sizeof(bf16)));
    float* Sf = reinterpret_cast<float*>(reinterpret_cast<unsigned char*>(Bm) +
                                         align128((size_t)(L + DQ) * ldb * sizeof(bf16)));
    float* nsm = reinterpret_cast<float*>(reinterpret_cast<unsigned char*>(Sf) +
                                          align128((size_t)max(L * lds, OUT_WARPS * 256) * sizeof(float)));
    float* gb = reinterpret_cast<float*>(reinterpret_cast<unsigned char*>(nsm) + align128((size_t)DQ * sizeof(float)));
    float* gi = gb + L;
    float* gm = gi + L;
    float* ga = gm + L;

    const int bh = blockIdx.x, b = bh / NH, hd = bh % NH, cl = blockIdx.y, NCs = gridDim.y, dv0 = blockIdx.z * TV;
    const int t0 = tbase + cl * L, len = min(L, tbase + sseg - t0);
    const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;
    const int64_t at = (int64_t)bh * NCs + cl;
    const int64_t row0 = ((int64_t)b * S + t0) * NH + hd;
    const float kscale = rsqrtf((float)DQ);
    const int RT = L / 16;

    if (warp == 0) gate_scan(fg, ig, row0, NH, len, L, gb, gi);
    copy_rows4<8>(L, DQ, aligned16(q), [&](int t) { return t < len ? q + (row0 + (int64_t)t * NH) * DQ : nullptr; },
                  [&](int t, int c, float4 x) { store4_bf16(A + t * lda + L + c, x); });
    copy_rows4<8>(L, DQ, aligned16(k), [&](int t) { return t < len ? k + (row0 + (int64_t)t * NH) * DQ : nullptr; },
                  [&](int t, int c, float4 x) { store4_bf16(Kb + t * ldk + c, x); });
    copy_rows4<8>(L, TV, aligned16(v),
                  [&](int t) { return t < len ? v + (row0 + (int64_t)t * NH) * DV + dv0 : nullptr; },
                  [&](int t, int c, float4 x) { store4_bf16(Bm + t * ldb + c, x); });
    const float* Cc = Cs + at * DQ * DV + dv0;
    copy_rows4<8>(DQ, TV, aligned16(Cs), [&](int r) { return Cc + (int64_t)r * DV; },
                  [&](int r, int c, float4 x) { store4_bf16(Bm + (L + r) * ldb + c, x); });
    for (int i = tid; i < DQ; i += blockDim.x) nsm[i] = ns[at * DQ + i];
    const float mprev = ms[at];
    __syncthreads();

    // row stabilisers m_t = max(b_t + m, max_{s<=t} b_t − b_s + i_s) and inter-chunk weights a_t = exp(b_t + m − m_t)
    row_stabilisers(gb, gi, mprev, len, gm, ga);
    // scores S = Q·Kᵀ on the lower-triangular 16×16 tiles (the others are masked)
    for (int ti = 0, idx = 0; ti < RT; ti++) {
        for (int tj = 0; tj <= ti; tj++, idx++) {
            if (idx % OUT_WARPS != warp || ti * 16 >= len) continue;
            FragC acc;
            wmma::fill_fragment(acc, 0.f);
            for (int kk = 0; kk < DQ / 16; kk++) {
                FragArow a;
                FragBcol bk;   // Kᵀ: element (i, s) = Kb[s][i], column-major with ld = ldk
                wmma::load_matrix_sync(a, A + ti * 16 * lda + L + kk * 16, lda);
                wmma::load_matrix_sync(bk, Kb + tj * 16 * ldk + kk * 16, ldk);
                wmma::mma_sync(acc, a, bk, acc);
            }
            wmma::store_matrix_sync(Sf + ti * 16 * lds + tj * 16, acc, lds, wmma::mem_row_major);
        }
    }
    __syncthreads();

    // per row (one warp each): weights in fp32, the normaliser, then both halves of A rescaled by 1/den in bf16
    for (int t = warp; t < L; t += OUT_WARPS) {
        bf16* Arow = A + t * lda;
        if (t >= len) {   // padding rows: P row zero (the q part was loaded as zeros)
            for (int s = lane; s < L; s += 32) Arow[s] = to_bf16(0.f);
            continue;
        }
        float* Srow = Sf + t * lds;
        const float bt = gb[t], mt = gm[t], a = ga[t];
        float rs = 0.f;
        for (int s = lane; s < L; s += 32) {
            const float p = s <= t ? Srow[s] * kscale * expf(bt - gb[s] + gi[s] - mt) : 0.f;
            Srow[s] = p;
            rs += p;
        }
        float qn = 0.f;
        if (a != 0.f)
            for (int i = lane; i < DQ; i += 32) qn = fmaf(from_bf16(Arow[L + i]), nsm[i], qn);
        rs = warp_sum(rs);
        qn = warp_sum(qn) * a;
        const float inv = 1.f / (fmaxf(fabsf(qn + rs), expf(-mt)) + eps);
        for (int s = lane; s < L; s += 32) Arow[s] = to_bf16(Srow[s] * inv);
        const float qs = a * inv;
        for (int i = lane; i < DQ; i += 32) Arow[L + i] = to_bf16(from_bf16(Arow[L + i]) * qs);
    }
    __syncthreads();

    // H = P·V + Q'·C: one accumulator per 16×16 output tile, staged through shared memory to the (masked) rows of h
    const bool inter = mprev > -INFINITY;   // block-uniform: the first chunk from the zero state skips Q'·C
    float* stage = Sf + warp * 256;         // the scores are no longer needed
    const int CT = TV / 16, KQ = DQ / 16;
    for (int tile = warp; tile < RT * CT; tile += OUT_WARPS) {
        const int ti = tile % RT, tj = tile / RT;
        if (ti * 16 >= len) continue;
        FragC acc;
        wmma::fill_fragment(acc, 0.f);
        for (int kk = 0; kk <= ti; kk++) {   // P is zero right of the diagonal tile
            FragArow a;
            FragBrow bm;
            wmma::load_matrix_sync(a, A + ti * 16 * lda + kk * 16, lda);
            wmma::load_matrix_sync(bm, Bm + kk * 16 * ldb + tj * 16, ldb);
            wmma::mma_sync(acc, a, bm, acc);
        }
        if (inter)
            for (int kk = 0; kk < KQ; kk++) {
                FragArow a;
                FragBrow bm;
                wmma::load_matrix_sync(a, A + ti * 16 * lda + L + kk * 16, lda);
                wmma::load_matrix_sync(bm, Bm + (L + kk * 16) * ldb + tj * 16, ldb);
                wmma::mma_sync(acc, a, bm, acc);
            }
        wmma::store_matrix_sync(stage, acc, 16, wmma::mem_row_major);
        __syncwarp();
        for (int e = lane; e < 256; e += 32) {
            const int t = ti * 16 + (e >> 4);
            if (t < len) h[(row0 + (int64_t)t * NH) * DV + dv0 + tj * 16 + (e & 15)] = stage[e];
        }
        __syncwarp();
    }
}
