// Normalisations of one row (or one head's segment) by one warp, shared by the norm kernels (norms.cu) and the
// decode kernels that normalise their input as a prologue (gemv.cuh, decode.cu): the same per-lane order everywhere,
// so a fused kernel's normalised values are bit for bit the separate kernel's.
#pragma once
#include "common.cuh"

/** yr = xr·rsqrt(mean(xr²) + eps)·w + b over cols (w, b may be null); yr may be shared memory. */
__device__ __forceinline__ void rmsnorm_row(const float* xr, float* yr, int cols, const float* __restrict__ w,
                                            const float* __restrict__ b, float eps) {
    const int lane = threadIdx.x & 31;
    float s = 0.f;
    for (int c = lane; c < cols; c += 32) s += xr[c] * xr[c];
    const float r = rsqrtf(warp_sum(s) / cols + eps);
    for (int c = lane; c < cols; c += 32)
        yr[c] = xr[c] * r * (w == nullptr ? 1.f : w[c]) + (b == nullptr ? 0.f : b[c]);
}

/**
 * Layer norm of head `head`'s segment of dh values, scaled per channel (1 + w when offset, w, or 1 when w is null)
 * and shifted by bias (may be null); each lane writes the elements it read (yr may be shared memory).
 */
__device__ __forceinline__ void headnorm_segment(const float* xr, float* yr, int head, int dh,
                                                 const float* __restrict__ w, const float* __restrict__ bias, float eps,
                                                 int offset) {
    const int lane = threadIdx.x & 31;
    float s = 0.f;
    for (int c = lane; c < dh; c += 32) s += xr[c];
    const float mean = warp_sum(s) / dh;
    float v = 0.f;
    for (int c = lane; c < dh; c += 32) { float d = xr[c] - mean; v += d * d; }
    const float rstd = rsqrtf(warp_sum(v) / dh + eps);
    for (int c = lane; c < dh; c += 32) {
        int ch = head * dh + c;
        float scale = w == nullptr ? 1.f : (offset ? 1.f + w[ch] : w[ch]);
        yr[c] = (xr[c] - mean) * rstd * scale + (bias == nullptr ? 0.f : bias[ch]);
    }
}
