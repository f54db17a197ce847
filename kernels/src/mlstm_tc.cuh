// Shared pieces of the tensor-core mLSTM kernels (mlstm_tc.cu forward, mlstm_tc_backward.cu backward): fragment
// types, padding constants, bf16 conversions, the batched block-wide copy and the per-chunk gate scan. Both modules
// include it, so the forward and the backward see the gates and loads computed by the same code.
#pragma once
#include "common.cuh"
#include <mma.h>

using namespace nvcuda;
typedef __nv_bfloat16 bf16;

namespace {

constexpr int MAX_L = 64;          // chunk length bound (gate_scan keeps MAX_L / 32 values per lane)
constexpr int OUT_WARPS = 8;       // xlstm_mlstm_tc_outputs runs 8 warps (256 threads)
constexpr int PAD_BF16 = 8;        // row padding of bf16 tiles (16 bytes: spreads rows over the banks; ldm % 8 == 0)
constexpr int PAD_F32 = 4;         // row padding of fp32 tiles (ldm % 4 == 0)

typedef wmma::fragment<wmma::matrix_a, 16, 16, 16, bf16, wmma::row_major> FragArow;
typedef wmma::fragment<wmma::matrix_a, 16, 16, 16, bf16, wmma::col_major> FragAcol;
typedef wmma::fragment<wmma::matrix_b, 16, 16, 16, bf16, wmma::row_major> FragBrow;
typedef wmma::fragment<wmma::matrix_b, 16, 16, 16, bf16, wmma::col_major> FragBcol;
typedef wmma::fragment<wmma::accumulator, 16, 16, 16, float> FragC;

__device__ __forceinline__ size_t align128(size_t bytes) { return (bytes + 127) & ~(size_t)127; }

__device__ __forceinline__ bf16 to_bf16(float x) { return __float2bfloat16(x); }

__device__ __forceinline__ float from_bf16(bf16 x) { return __bfloat162float(x); }

/**
 * Block-wide copy of R rows of W floats (W a multiple of 4): row r starts at rowPtr(r) (nullptr: a row of zeros);
 * store(r, c, v) receives columns c..c+3 of row r. One index division per 4 floats, 16-byte loads when every row
 * start is 16-byte aligned (the tensor-core shapes make the offsets multiples of 16 floats; `aligned` says whether
 * the base pointers are), U loads in flight per thread.
 */
template <int U, class RowPtr, class Store4>
__device__ __forceinline__ void copy_rows4(int R, int W, bool aligned, RowPtr rowPtr, Store4 store) {
    const int W4 = W >> 2, n = R * W4;
    for (int e0 = threadIdx.x; e0 < n; e0 += U * blockDim.x) {
        float4 x[U];
#pragma unroll
        for (int u = 0; u < U; u++) {
            const int e = e0 + u * blockDim.x, r = e / W4;
            x[u] = make_float4(0.f, 0.f, 0.f, 0.f);
            if (e < n) {
                const float* p = rowPtr(r);
                if (p != nullptr) {
                    p += (e - r * W4) * 4;
                    x[u] = aligned ? *reinterpret_cast<const float4*>(p) : make_float4(p[0], p[1], p[2], p[3]);
                }
            }
        }
#pragma unroll
        for (int u = 0; u < U; u++) {
            const int e = e0 + u * blockDim.x, r = e / W4;
            if (e < n) store(r, (e - r * W4) * 4, x[u]);
        }
    }
}

/** fn(r, c) for every 4-column group c of rows r < R (W a multiple of 4), spread over the block's threads. */
template <class Fn>
__device__ __forceinline__ void for_rows4(int R, int W, Fn fn) {
    const int W4 = W >> 2;
    for (int e = threadIdx.x; e < R * W4; e += blockDim.x) {
        const int r = e / W4;
        fn(r, (e - r * W4) * 4);
    }
}

/** Writes a shared fp32 tile (R × W, row stride lds) to global rows dst + r·ldd (16-byte stores when aligned). */
__device__ __forceinline__ void store_tile(float* dst, int64_t ldd, const float* src, int lds, int R, int W, bool aligned) {
    for_rows4(R, W, [&](int r, int c) {
        const float4 x = *reinterpret_cast<const float4*>(src + r * lds + c);
        float* p = dst + r * ldd + c;
        if (aligned) {
            *reinterpret_cast<float4*>(p) = x;
        } else {
            p[0] = x.x;
            p[1] = x.y;
            p[2] = x.z;
            p[3] = x.w;
        }
    });
}

__device__ __forceinline__ bool aligned16(const void* p) { return ((uintptr_t)p & 15) == 0; }

/** Four floats to four consecutive bf16 (scaled by s). */
__device__ __forceinline__ void store4_bf16(bf16* dst, float4 v, float s = 1.f) {
    dst[0] = to_bf16(v.x * s);
    dst[1] = to_bf16(v.y * s);
    dst[2] = to_bf16(v.z * s);
    dst[3] = to_bf16(v.w * s);
}

/** Four floats to shared memory (16-byte aligned destination). */
__device__ __forceinline__ void store4_f32(float* dst, float4 v) { *reinterpret_cast<float4*>(dst) = v; }

/**
 * Gates of steps [t0, t0 + len) of one (batch, head), row0 = index of (b, t0, hd) in [B, S, NH]: cumulative log
 * forget gates gb[t] = Σ_{u≤t} log σ(f_u) and input gates gi[t], for t < L (beyond len: gb keeps b_{len-1}, gi = 0).
 * Called by one whole warp (an inclusive shuffle scan, 32 steps per round). L <= MAX_L.
 */
__device__ void gate_scan(const float* fg, const float* ig, int64_t row0, int NH, int len, int L, float* gb,
                          float* gi) {
    const int lane = threadIdx.x & 31;
    float fx[MAX_L / 32], ix[MAX_L / 32];
#pragma unroll
    for (int r = 0; r < MAX_L / 32; r++) {   // all loads first: one memory latency, not one per round
        const int t = r * 32 + lane;
        fx[r] = t < len ? fg[row0 + (int64_t)t * NH] : 0.f;
        ix[r] = t < len ? ig[row0 + (int64_t)t * NH] : 0.f;
    }
    float carry = 0.f;
#pragma unroll
    for (int r = 0; r < MAX_L / 32; r++) {
        if (r * 32 >= L) break;   // warp-uniform
        const int t = r * 32 + lane;
        float x = t < len ? log_sigmoid(fx[r]) : 0.f;
        for (int o = 1; o < 32; o <<= 1) {
            const float y = __shfl_up_sync(0xffffffffu, x, o);
            if (lane >= o) x += y;
        }
        x += carry;
        if (t < L) {
            gb[t] = x;
            gi[t] = ix[r];
        }
        carry = __shfl_sync(0xffffffffu, x, 31);
    }
}

/**
 * Row stabilisers of a chunk's steps t < len (threads of the block over the rows), for the state m before the chunk:
 * gm[t] = max(b_t + m, max_{s<=t} b_t − b_s + i_s) and the inter-chunk weight ga[t] = exp(b_t + m − m_t) (0 when
 * m = −∞).
 */
__device__ __forceinline__ void row_stabilisers(const float* gb, const float* gi, float mprev, int len, float* gm,
                                                float* ga) {
    for (int t = threadIdx.x; t < len; t += blockDim.x) {
        const float bt = gb[t];
        float mt = bt + mprev;
        for (int s = 0; s <= t; s++) mt = fmaxf(mt, bt - gb[s] + gi[s]);
        gm[t] = mt;
        ga[t] = expf(bt + mprev - mt);   // 0 when mprev = -inf
    }
}

/**
 * The state update of a chunk, by one whole warp after gate_scan: the new stabiliser m' = max(b_L + m, max_t b_L −
 * b_t + i_t) in sc[0], the decay of the carried state exp(b_L + m − m') in sc[1] (0 when m = −∞), and the input
 * weights gw[t] = exp(b_L − b_t + i_t − m') · kscale (0 for t >= len), so that C' = decay·C + Σ_t gw_t k_t v_tᵀ.
 */
__device__ __forceinline__ void chunk_update_weights(const float* gb, const float* gi, int len, int L, float mprev,
                                                     float kscale, float* gw, float* sc) {
    const int lane = threadIdx.x & 31;
    const float bl = gb[len - 1];
    float mn = bl + mprev;
    for (int t = lane; t < len; t += 32) mn = fmaxf(mn, bl - gb[t] + gi[t]);
    for (int o = 16; o > 0; o >>= 1) mn = fmaxf(mn, __shfl_xor_sync(0xffffffffu, mn, o));
    for (int t = lane; t < L; t += 32) gw[t] = t < len ? expf(bl - gb[t] + gi[t] - mn) * kscale : 0.f;
    if (lane == 0) {
        sc[0] = mn;
        sc[1] = expf(bl + mprev - mn);   // 0 when mprev = -inf
    }
}

}  // namespace
