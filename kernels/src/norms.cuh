// Normalisations of one row (or one head's segment), shared by the norm kernels (norms.cu) and the decode kernels
// that normalise their input as a prologue (gemv.cuh, decode.cu): the same per-lane order everywhere, so a fused
// kernel's normalised values are bit for bit the separate kernel's. The reductions (one warp: lane l sums elements
// l, l + 32, ... in order, then a warp_sum) and the per-element formulas are split out so that a prologue can stage
// its rows in shared memory with the whole block and still reduce them exactly as a single warp does.
#pragma once
#include "common.cuh"

/**
 * The RMS norm's sum of squares is taken in one fixed order everywhere: elements in groups of 4 (x[4v .. 4v+3],
 * sq4), 32 consecutive groups summed by a warp_sum (a "block" of 128 elements), the blocks' sums added in order. A
 * decode kernel that stages a row with its whole thread block then gets the sum from the registers it staged (one
 * warp per 128 elements, rmsnorm_rows_block) where a single warp would walk the row: the same bits either way.
 */
__device__ __forceinline__ float sq4(float a, float b, float c, float d) {
    return fmaf(d, d, fmaf(c, c, fmaf(b, b, a * a)));
}

/** Sum of the squares of xr[0 .. cols) in the order above, by one warp (every lane returns it); xr may be shared. */
__device__ __forceinline__ float rms_sumsq_warp(const float* xr, int cols) {
    const int lane = threadIdx.x & 31;
    float s = 0.f;
    for (int base = 0; base < cols; base += 128) {
        const int i = base + 4 * lane;
        const float a = i < cols ? xr[i] : 0.f, b = i + 1 < cols ? xr[i + 1] : 0.f;
        const float c = i + 2 < cols ? xr[i + 2] : 0.f, d = i + 3 < cols ? xr[i + 3] : 0.f;
        s += warp_sum(sq4(a, b, c, d));
    }
    return s;
}

/** rsqrt(mean of squares + eps) from the sum of squares of cols values (the one expression used everywhere). */
__device__ __forceinline__ float rms_rinv(float sumsq, int cols, float eps) { return rsqrtf(sumsq / cols + eps); }

/** rsqrt(mean(xr²) + eps) over cols, by one warp (every lane returns it); xr may be shared memory. */
__device__ __forceinline__ float rms_rinv_warp(const float* xr, int cols, float eps) {
    return rms_rinv(rms_sumsq_warp(xr, cols), cols, eps);
}

/** One element of an RMS-normalised row: w is the norm weight (1 when absent), b its bias (0 when absent). */
__device__ __forceinline__ float rms_apply(float x, float r, float w, float b) { return x * r * w + b; }

/** yr = xr·rsqrt(mean(xr²) + eps)·w + b over cols (w, b may be null); yr may be shared memory. */
__device__ __forceinline__ void rmsnorm_row(const float* xr, float* yr, int cols, const float* __restrict__ w,
                                            const float* __restrict__ b, float eps) {
    const int lane = threadIdx.x & 31;
    const float r = rms_rinv_warp(xr, cols, eps);
    for (int c = lane; c < cols; c += 32)
        yr[c] = rms_apply(xr[c], r, w == nullptr ? 1.f : w[c], b == nullptr ? 0.f : b[c]);
}

/** Mean and rsqrt(variance + eps) of dh values, by one warp (every lane gets them); xr may be shared memory. */
__device__ __forceinline__ void layernorm_stats_warp(const float* xr, int dh, float eps, float& mean, float& rstd) {
    const int lane = threadIdx.x & 31;
    float s = 0.f;
    for (int c = lane; c < dh; c += 32) s += xr[c];
    mean = warp_sum(s) / dh;
    float v = 0.f;
    for (int c = lane; c < dh; c += 32) { float d = xr[c] - mean; v += d * d; }
    rstd = rsqrtf(warp_sum(v) / dh + eps);
}

/** Channel ch's scale of a (head) layer norm: 1 + w when offset, w, or 1 when w is null. */
__device__ __forceinline__ float layernorm_scale(const float* __restrict__ w, int ch, int offset) {
    return w == nullptr ? 1.f : (offset ? 1.f + w[ch] : w[ch]);
}

/** One element of a layer-normalised segment (bias 0 when absent). */
__device__ __forceinline__ float layernorm_apply(float x, float mean, float rstd, float scale, float bias) {
    return (x - mean) * rstd * scale + bias;
}

/**
 * Layer norm of head `head`'s segment of dh values, scaled per channel (1 + w when offset, w, or 1 when w is null)
 * and shifted by bias (may be null); each lane writes the elements it read (yr may be shared memory).
 */
__device__ __forceinline__ void headnorm_segment(const float* xr, float* yr, int head, int dh,
                                                 const float* __restrict__ w, const float* __restrict__ bias, float eps,
                                                 int offset) {
    const int lane = threadIdx.x & 31;
    float mean, rstd;
    layernorm_stats_warp(xr, dh, eps, mean, rstd);
    for (int c = lane; c < dh; c += 32) {
        int ch = head * dh + c;
        yr[c] = layernorm_apply(xr[c], mean, rstd, layernorm_scale(w, ch, offset), bias == nullptr ? 0.f : bias[ch]);
    }
}
