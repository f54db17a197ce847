// Matrix-vector products for decoding, shared by gemv.cu (plain products) and decode.cu (products fused with the
// operations around them): y[r, o] = Σ_i x[r, i]·W[o, i] for a few rows r (<= GEMV_MAX_ROWS) with bfloat16 weights
// W [out, in] and float32 x. One warp reads one weight row with 16-byte loads, all of a lane's loads issued before
// any is used (a decode step is a pass over the weights: latency, not arithmetic, is the cost), and keeps the R dot
// products in registers. Kernels come in two builds: R = GEMV_MAX_ROWS, and R = 1 (batch-1 decoding: 15 fewer
// accumulators per thread, so more warps per multiprocessor keep loads in flight); `rows` <= R at run time.
#pragma once
#include "norms.cuh"

#define GEMV_MAX_ROWS 16
#define GEMV_WARPS 8
#define GEMV_MAX_VECS 8   // 16-byte weight vectors in flight per lane: one pass covers in <= 32 · 8 · 8 = 2048

/** The 16-byte vectors base + lane + 32·j (j < GEMV_MAX_VECS) of a weight row of `vecs` vectors (zero past it). */
__device__ __forceinline__ void warp_load_weights(const __nv_bfloat16* __restrict__ w, int vecs, int base,
                                                  uint4 (&buf)[GEMV_MAX_VECS]) {
    const int lane = threadIdx.x & 31;
    const uint4* wr = reinterpret_cast<const uint4*>(w);
#pragma unroll
    for (int j = 0; j < GEMV_MAX_VECS; j++) {
        const int v = base + lane + 32 * j;
        buf[j] = v < vecs ? __ldg(wr + v) : make_uint4(0u, 0u, 0u, 0u);
    }
}

/**
 * acc[r] += the products of the loaded vectors with x's rows r < rows (each 8-value group summed in one expression,
 * groups in the lanes' order: the same bits in every kernel). x float32, rows 16-byte aligned, global or shared.
 */
template <int R>
__device__ __forceinline__ void warp_dot_loaded(const uint4 (&buf)[GEMV_MAX_VECS], int vecs, int base, const float* x,
                                                int ldx, int rows, float* acc) {
    const int lane = threadIdx.x & 31;
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
        for (int r = 0; r < R; r++) {
            if (r < rows) {
                const float4* xr = reinterpret_cast<const float4*>(x + (int64_t)r * ldx + i0);
                float4 a = xr[0], b = xr[1];
                acc[r] += a.x * wf[0] + a.y * wf[1] + a.z * wf[2] + a.w * wf[3]
                        + b.x * wf[4] + b.y * wf[5] + b.z * wf[6] + b.w * wf[7];
            }
        }
    }
}

/** acc[r] += Σ_i x[r·ldx + i]·w[i] over in (a multiple of 8) for r < rows, by one warp, in passes of 2048. */
template <int R>
__device__ __forceinline__ void warp_dots(const __nv_bfloat16* __restrict__ w, const float* x, int ldx, int rows,
                                          int in, float* acc) {
    const int vecs = in >> 3;
    for (int base = 0; base < vecs; base += 32 * GEMV_MAX_VECS) {
        uint4 buf[GEMV_MAX_VECS];
        warp_load_weights(w, vecs, base, buf);
        warp_dot_loaded<R>(buf, vecs, base, x, ldx, rows, acc);
    }
}

/**
 * As warp_dots for a kernel launched dependently (CudaKernel.launchDependent): the first pass's weights are
 * requested, then pdl_wait() (x is the previous kernel's output), then the products. Every caller of a launch that
 * reaches this must not have read or written the previous kernel's data before.
 */
template <int R>
__device__ __forceinline__ void warp_dots_dependent(const __nv_bfloat16* __restrict__ w, const float* x, int ldx,
                                                    int rows, int in, float* acc) {
    const int vecs = in >> 3;
    uint4 buf[GEMV_MAX_VECS];
    warp_load_weights(w, vecs, 0, buf);
    pdl_wait();
    pdl_trigger();
    warp_dot_loaded<R>(buf, vecs, 0, x, ldx, rows, acc);
    for (int base = 32 * GEMV_MAX_VECS; base < vecs; base += 32 * GEMV_MAX_VECS) {
        warp_load_weights(w, vecs, base, buf);
        warp_dot_loaded<R>(buf, vecs, base, x, ldx, rows, acc);
    }
}

/** y[r·out + o] = warp sum of acc[r] (+ bias[o]) by lane 0, through `finish(r, value)`. */
template <int R, class Finish>
__device__ __forceinline__ void warp_finish(const float* acc, int rows, Finish finish) {
    const int lane = threadIdx.x & 31;
#pragma unroll
    for (int r = 0; r < R; r++) {
        if (r < rows) {
            float s = warp_sum(acc[r]);
            if (lane == 0) finish(r, s);
        }
    }
}

/** The rows of x normalised as xlstm_rmsnorm_f32 does into shared xs [rows, in]; one warp per row, then a barrier. */
__device__ __forceinline__ void rmsnorm_rows_to_shared(const float* __restrict__ x, const float* __restrict__ nw,
                                                       const float* __restrict__ nb, float eps, int rows, int in,
                                                       float* xs) {
    const int warp = threadIdx.x >> 5, nwarps = blockDim.x >> 5;
    for (int r = warp; r < rows; r += nwarps) rmsnorm_row(x + (int64_t)r * in, xs + r * in, in, nw, nb, eps);
    __syncthreads();
}

/**
 * One (row, head) segment of h normalised as xlstm_headnorm_f32 does, then times act(gate) as
 * xlstm_mul_activated_f32 does, by one warp (each lane scales the elements it wrote); y may be shared memory.
 */
__device__ __forceinline__ void headnorm_gated_segment(const float* xr, const float* orow, float* yr, int head, int dh,
                                                       const float* __restrict__ w, const float* __restrict__ bias,
                                                       float eps, int offset, int act) {
    headnorm_segment(xr, yr, head, dh, w, bias, eps, offset);
    for (int c = threadIdx.x & 31; c < dh; c += 32) yr[c] = yr[c] * activate(act, orow[c]);
}
