// Normalisations, one warp per row (or per row and head): a row of D <= a few thousand values is read by 32 lanes
// and reduced with warp shuffles (a fixed tree: deterministic), with no block-wide barriers. Rows of activations
// are short (D = 768 .. 4096), so a block per row spent most of its time in __syncthreads.
#include "common.cuh"

#define ROWS_PER_BLOCK 8   // launch with 256 threads: 8 warps, one row each

// Layer norm over cols; scale = offset ? 1 + w : w (w may be null = 1); bias may be null.
extern "C" __global__ void xlstm_layernorm_f32(float* __restrict__ y, const float* __restrict__ x,
                                               const float* __restrict__ w, const float* __restrict__ b, int cols,
                                               float eps, int offset, int64_t rows) {
    const int lane = threadIdx.x & 31;
    const int64_t row = (int64_t)blockIdx.x * ROWS_PER_BLOCK + (threadIdx.x >> 5);
    if (row >= rows) return;
    const float* xr = x + row * cols;
    float* yr = y + row * cols;
    float s = 0.f;
    for (int c = lane; c < cols; c += 32) s += xr[c];
    const float mean = warp_sum(s) / cols;
    float v = 0.f;
    for (int c = lane; c < cols; c += 32) { float d = xr[c] - mean; v += d * d; }
    const float rstd = rsqrtf(warp_sum(v) / cols + eps);
    for (int c = lane; c < cols; c += 32) {
        float scale = w == nullptr ? 1.f : (offset ? 1.f + w[c] : w[c]);
        yr[c] = (xr[c] - mean) * rstd * scale + (b == nullptr ? 0.f : b[c]);
    }
}

// RMS norm: x * rsqrt(mean(x^2) + eps) * w + b (w, b may be null)
extern "C" __global__ void xlstm_rmsnorm_f32(float* __restrict__ y, const float* __restrict__ x,
                                             const float* __restrict__ w, const float* __restrict__ b, int cols,
                                             float eps, int64_t rows) {
    const int lane = threadIdx.x & 31;
    const int64_t row = (int64_t)blockIdx.x * ROWS_PER_BLOCK + (threadIdx.x >> 5);
    if (row >= rows) return;
    const float* xr = x + row * cols;
    float* yr = y + row * cols;
    float s = 0.f;
    for (int c = lane; c < cols; c += 32) s += xr[c] * xr[c];
    const float r = rsqrtf(warp_sum(s) / cols + eps);
    for (int c = lane; c < cols; c += 32)
        yr[c] = xr[c] * r * (w == nullptr ? 1.f : w[c]) + (b == nullptr ? 0.f : b[c]);
}

// Per-head layer norm: one warp per (row, head) segment of dh values, normalised, then scaled (and shifted) per
// channel. segments = rows * heads.
extern "C" __global__ void xlstm_headnorm_f32(float* __restrict__ y, const float* __restrict__ x,
                                              const float* __restrict__ w, const float* __restrict__ bias, int heads,
                                              int dh, float eps, int offset, int64_t segments) {
    const int lane = threadIdx.x & 31;
    const int64_t seg = (int64_t)blockIdx.x * ROWS_PER_BLOCK + (threadIdx.x >> 5);
    if (seg >= segments) return;
    const int head = (int)(seg % heads);
    const float* xr = x + seg * dh;
    float* yr = y + seg * dh;
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
