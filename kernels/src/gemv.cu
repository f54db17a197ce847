// Plain matrix-vector products for decoding (see gemv.cuh): one product, or up to 6 of one input in one launch.
// cuBLAS runs such shapes as small GEMMs and needs x rounded to bf16 by a separate kernel first; here x stays fp32.
#include "gemv.cuh"

// in % 8 == 0, in <= 2048 (16-byte rows of bf16). Grid: ceil(out / GEMV_WARPS) blocks of GEMV_WARPS * 32 threads.
extern "C" __global__ void xlstm_gemv_bf16w_f32(float* __restrict__ y, const float* __restrict__ x,
                                                const __nv_bfloat16* __restrict__ w, const float* __restrict__ bias,
                                                int rows, int in, int out) {
    const int lane = threadIdx.x & 31;
    const int o = blockIdx.x * GEMV_WARPS + (threadIdx.x >> 5);
    if (o >= out) return;
    float acc[GEMV_MAX_ROWS] = {};
    warp_dots(w + (int64_t)o * in, x, in, rows, in, acc);
#pragma unroll
    for (int r = 0; r < GEMV_MAX_ROWS; r++) {
        if (r < rows) {
            float s = warp_sum(acc[r]);
            if (lane == 0) y[(int64_t)r * out + o] = s + (bias == nullptr ? 0.f : bias[o]);
        }
    }
}

// Up to 6 products of one input in one launch (the projections of a layer: q, k, v, o and the gates; an FFN's gate
// and up): warps are numbered over the outputs of all of them together. Decoding then launches one kernel where
// it launched six, and every weight is still read once.
extern "C" __global__ void xlstm_gemv_group_bf16w_f32(
    float* y0, float* y1, float* y2, float* y3, float* y4, float* y5,
    const __nv_bfloat16* w0, const __nv_bfloat16* w1, const __nv_bfloat16* w2, const __nv_bfloat16* w3,
    const __nv_bfloat16* w4, const __nv_bfloat16* w5,
    const float* b0, const float* b1, const float* b2, const float* b3, const float* b4, const float* b5,
    int o0, int o1, int o2, int o3, int o4, int o5, const float* __restrict__ x, int rows, int in) {
    const int lane = threadIdx.x & 31;
    int o = blockIdx.x * GEMV_WARPS + (threadIdx.x >> 5);
    float* y; const __nv_bfloat16* w; const float* bias; int out;
    if (o < o0) { y = y0; w = w0; bias = b0; out = o0; }
    else if ((o -= o0) < o1) { y = y1; w = w1; bias = b1; out = o1; }
    else if ((o -= o1) < o2) { y = y2; w = w2; bias = b2; out = o2; }
    else if ((o -= o2) < o3) { y = y3; w = w3; bias = b3; out = o3; }
    else if ((o -= o3) < o4) { y = y4; w = w4; bias = b4; out = o4; }
    else if ((o -= o4) < o5) { y = y5; w = w5; bias = b5; out = o5; }
    else return;
    float acc[GEMV_MAX_ROWS] = {};
    warp_dots(w + (int64_t)o * in, x, in, rows, in, acc);
#pragma unroll
    for (int r = 0; r < GEMV_MAX_ROWS; r++) {
        if (r < rows) {
            float s = warp_sum(acc[r]);
            if (lane == 0) y[(int64_t)r * out + o] = s + (bias == nullptr ? 0.f : bias[o]);
        }
    }
}
