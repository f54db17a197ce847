// Matrix-vector products for decoding, shared by gemv.cu (plain products) and decode.cu (products fused with the
// operations around them): y[r, o] = Σ_i x[r, i]·W[o, i] for a few rows r (<= GEMV_MAX_ROWS) with bfloat16 weights
// W [out, in] and float32 x. One warp reads one weight row with 16-byte loads, all of a lane's loads issued before
// any is used (a decode step is a pass over the weights: latency, not arithmetic, is the cost), and keeps the R dot
// products in registers.
#pragma once
#include "common.cuh"

#define GEMV_MAX_ROWS 16
#define GEMV_WARPS 8
#define GEMV_MAX_VECS 8   // 16-byte weight vectors in flight per lane: one pass covers in <= 32 · 8 · 8 = 2048

/**
 * acc[r] += Σ_i x[r·ldx + i]·w[i] over in (a multiple of 8) for r < rows, by one warp (lane-strided 8-value
 * groups, in the order of the lanes' loops, each group's 8 products summed in one expression: the same order for every caller, so fused and plain
 * kernels give identical bits). x is float32 in global or shared memory, 16-byte aligned rows.
 */
__device__ __forceinline__ void warp_dots(const __nv_bfloat16* __restrict__ w, const float* x, int ldx, int rows,
                                          int in, float* acc) {
    const int lane = threadIdx.x & 31, vecs = in >> 3;
    const uint4* wr = reinterpret_cast<const uint4*>(w);
    for (int base = 0; base < vecs; base += 32 * GEMV_MAX_VECS) {   // one pass for in <= 2048
        uint4 buf[GEMV_MAX_VECS];
#pragma unroll
        for (int j = 0; j < GEMV_MAX_VECS; j++) {
            const int v = base + lane + 32 * j;
            buf[j] = v < vecs ? __ldg(wr + v) : make_uint4(0u, 0u, 0u, 0u);
        }
#pragma unroll
        for (int j = 0; j < GEMV_MAX_VECS; j++) {
            const int v = base + lane + 32 * j;
            if (v >= vecs) break;
            const __nv_bfloat16* wb = reinterpret_cast<const __nv_bfloat16*>(&buf[j]);
            float wf[8];
#pragma unroll
            for (int k = 0; k < 8; k++) wf[k] = __bfloat162float(wb[k]);
            const int i0 = v << 3;
#pragma unroll
            for (int r = 0; r < GEMV_MAX_ROWS; r++) {
                if (r < rows) {
                    const float4* xr = reinterpret_cast<const float4*>(x + (int64_t)r * ldx + i0);
                    float4 a = xr[0], b = xr[1];
                    acc[r] += a.x * wf[0] + a.y * wf[1] + a.z * wf[2] + a.w * wf[3]
                            + b.x * wf[4] + b.y * wf[5] + b.z * wf[6] + b.w * wf[7];
                }
            }
        }
    }
}

/**
 * The rows of x normalised as xlstm_rmsnorm_f32 does (x·rsqrt(mean(x²) + eps)·w + b, the same per-lane order), into
 * shared xs [rows, in]; one warp per row, then a block barrier.
 */
__device__ __forceinline__ void rmsnorm_rows_to_shared(const float* __restrict__ x, const float* __restrict__ nw,
                                                       const float* __restrict__ nb, float eps, int rows, int in,
                                                       float* xs) {
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, nwarps = blockDim.x >> 5;
    for (int r = warp; r < rows; r += nwarps) {
        const float* xr = x + (int64_t)r * in;
        float s = 0.f;
        for (int c = lane; c < in; c += 32) s += xr[c] * xr[c];
        const float rs = rsqrtf(warp_sum(s) / in + eps);
        for (int c = lane; c < in; c += 32)
            xs[r * in + c] = xr[c] * rs * (nw == nullptr ? 1.f : nw[c]) + (nb == nullptr ? 0.f : nb[c]);
    }
    __syncthreads();
}
