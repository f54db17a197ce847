// Normalisations, one thread block per row (or per row and head): mean and variance by deterministic block sums.
#include "common.cuh"

// Layer norm over cols; scale = offset ? 1 + w : w (w may be null = 1); bias may be null.
extern "C" __global__ void xlstm_layernorm_f32(float* __restrict__ y, const float* __restrict__ x,
                                               const float* __restrict__ w, const float* __restrict__ b, int cols,
                                               float eps, int offset) {
    __shared__ float red[32];
    const float* xr = x + (int64_t)blockIdx.x * cols;
    float* yr = y + (int64_t)blockIdx.x * cols;
    float s = 0.f;
    for (int c = threadIdx.x; c < cols; c += blockDim.x) s += xr[c];
    float mean = block_sum(s, red) / cols;
    float v = 0.f;
    for (int c = threadIdx.x; c < cols; c += blockDim.x) { float d = xr[c] - mean; v += d * d; }
    float rstd = rsqrtf(block_sum(v, red) / cols + eps);
    for (int c = threadIdx.x; c < cols; c += blockDim.x) {
        float scale = w == nullptr ? 1.f : (offset ? 1.f + w[c] : w[c]);
        yr[c] = (xr[c] - mean) * rstd * scale + (b == nullptr ? 0.f : b[c]);
    }
}

// RMS norm: x * rsqrt(mean(x^2) + eps) * w + b (w, b may be null)
extern "C" __global__ void xlstm_rmsnorm_f32(float* __restrict__ y, const float* __restrict__ x,
                                             const float* __restrict__ w, const float* __restrict__ b, int cols,
                                             float eps) {
    __shared__ float red[32];
    const float* xr = x + (int64_t)blockIdx.x * cols;
    float* yr = y + (int64_t)blockIdx.x * cols;
    float s = 0.f;
    for (int c = threadIdx.x; c < cols; c += blockDim.x) s += xr[c] * xr[c];
    float r = rsqrtf(block_sum(s, red) / cols + eps);
    for (int c = threadIdx.x; c < cols; c += blockDim.x)
        yr[c] = xr[c] * r * (w == nullptr ? 1.f : w[c]) + (b == nullptr ? 0.f : b[c]);
}

// Per-head layer norm: grid (rows, heads), each head's dh values normalised, then scaled (and shifted) per channel.
extern "C" __global__ void xlstm_headnorm_f32(float* __restrict__ y, const float* __restrict__ x,
                                              const float* __restrict__ w, const float* __restrict__ bias, int heads,
                                              int dh, float eps, int offset) {
    __shared__ float red[32];
    int64_t base = ((int64_t)blockIdx.x * heads + blockIdx.y) * dh;
    const float* xr = x + base;
    float* yr = y + base;
    float s = 0.f;
    for (int c = threadIdx.x; c < dh; c += blockDim.x) s += xr[c];
    float mean = block_sum(s, red) / dh;
    float v = 0.f;
    for (int c = threadIdx.x; c < dh; c += blockDim.x) { float d = xr[c] - mean; v += d * d; }
    float rstd = rsqrtf(block_sum(v, red) / dh + eps);
    for (int c = threadIdx.x; c < dh; c += blockDim.x) {
        int ch = blockIdx.y * dh + c;
        float scale = w == nullptr ? 1.f : (offset ? 1.f + w[ch] : w[ch]);
        yr[c] = (xr[c] - mean) * rstd * scale + (bias == nullptr ? 0.f : bias[ch]);
    }
}
