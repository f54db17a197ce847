// Normalisations, one warp per row (or per row and head): a row of D <= a few thousand values is read by 32 lanes
// and reduced with warp shuffles (a fixed tree: deterministic), with no block-wide barriers. Rows of activations
// are short (D = 768 .. 4096), so a block per row spent most of its time in __syncthreads.
#include "norms.cuh"

#define ROWS_PER_BLOCK 8   // launch with 256 threads: 8 warps, one row each

// Layer norm over cols; scale = offset ? 1 + w : w (w may be null = 1); bias may be null.
extern "C" __global__ void xlstm_layernorm_f32(float* __restrict__ y, const float* __restrict__ x,
                                               const float* __restrict__ w, const float* __restrict__ b, int cols,
                                               float eps, int offset, int64_t rows) {
    const int64_t row = (int64_t)blockIdx.x * ROWS_PER_BLOCK + (threadIdx.x >> 5);
    if (row >= rows) return;
    headnorm_segment(x + row * cols, y + row * cols, 0, cols, w, b, eps, offset);   // one segment: the whole row
}

// RMS norm: x * rsqrt(mean(x^2) + eps) * w + b (w, b may be null)
extern "C" __global__ void xlstm_rmsnorm_f32(float* __restrict__ y, const float* __restrict__ x,
                                             const float* __restrict__ w, const float* __restrict__ b, int cols,
                                             float eps, int64_t rows) {
    const int64_t row = (int64_t)blockIdx.x * ROWS_PER_BLOCK + (threadIdx.x >> 5);
    if (row >= rows) return;
    rmsnorm_row(x + row * cols, y + row * cols, cols, w, b, eps);
}

// Per-head layer norm: one warp per (row, head) segment of dh values, normalised, then scaled (and shifted) per
// channel. segments = rows * heads.
extern "C" __global__ void xlstm_headnorm_f32(float* __restrict__ y, const float* __restrict__ x,
                                              const float* __restrict__ w, const float* __restrict__ bias, int heads,
                                              int dh, float eps, int offset, int64_t segments) {
    const int64_t seg = (int64_t)blockIdx.x * ROWS_PER_BLOCK + (threadIdx.x >> 5);
    if (seg >= segments) return;
    headnorm_segment(x + seg * dh, y + seg * dh, (int)(seg % heads), dh, w, bias, eps, offset);
}
