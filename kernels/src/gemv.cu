// Plain matrix-vector products for decoding (see gemv.cuh): one product, or up to 6 of one input in one launch.
// cuBLAS runs such shapes as small GEMMs and needs x rounded to bf16 by a separate kernel first; here x stays fp32.
// Grid: ceil(outputs / GEMV_WARPS) blocks of GEMV_WARPS · 32 threads; in % 8 == 0. "_r1" builds: rows == 1.
// Launched dependently (they wait for the previous kernel after requesting their weights) or plainly.
#include "gemv.cuh"

template <int R>
__device__ __forceinline__ void gemv(float* __restrict__ y, const float* __restrict__ x, const __nv_bfloat16* __restrict__ w,
                                     const float* __restrict__ bias, int rows, int in, int out) {
    const int o = blockIdx.x * GEMV_WARPS + (threadIdx.x >> 5);
    if (o >= out) return;
    float acc[R] = {};
    warp_dots_dependent<R>(w + (int64_t)o * in, x, in, rows, in, acc);
    warp_finish<R>(acc, rows, [&](int r, float s) { y[(int64_t)r * out + o] = s + (bias == nullptr ? 0.f : bias[o]); });
}

extern "C" __global__ void xlstm_gemv_bf16w_f32(float* __restrict__ y, const float* __restrict__ x,
                                                const __nv_bfloat16* __restrict__ w, const float* __restrict__ bias,
                                                int rows, int in, int out) {
    gemv<GEMV_MAX_ROWS>(y, x, w, bias, rows, in, out);
}

extern "C" __global__ void xlstm_gemv_bf16w_f32_r1(float* __restrict__ y, const float* __restrict__ x,
                                                   const __nv_bfloat16* __restrict__ w, const float* __restrict__ bias,
                                                   int rows, int in, int out) {
    gemv<1>(y, x, w, bias, rows, in, out);
}

// Up to 6 products of one input in one launch (the projections of a layer: q, k, v, o and the gates; an FFN's gate
// and up): warps are numbered over the outputs of all of them together. Decoding then launches one kernel where
// it launched six, and every weight is still read once.
#define GEMV_GROUP_PARAMS                                                                                          \
    float *y0, float *y1, float *y2, float *y3, float *y4, float *y5, const __nv_bfloat16 *w0,                     \
        const __nv_bfloat16 *w1, const __nv_bfloat16 *w2, const __nv_bfloat16 *w3, const __nv_bfloat16 *w4,       \
        const __nv_bfloat16 *w5, const float *b0, const float *b1, const float *b2, const float *b3,               \
        const float *b4, const float *b5, int o0, int o1, int o2, int o3, int o4, int o5,                          \
        const float *__restrict__ x, int rows, int in
#define GEMV_GROUP_ARGS y0, y1, y2, y3, y4, y5, w0, w1, w2, w3, w4, w5, b0, b1, b2, b3, b4, b5, o0, o1, o2, o3, o4, o5, x, rows, in

template <int R>
__device__ __forceinline__ void gemv_group(GEMV_GROUP_PARAMS) {
    int o = blockIdx.x * GEMV_WARPS + (threadIdx.x >> 5);
    float* y; const __nv_bfloat16* w; const float* bias; int out;
    if (o < o0) { y = y0; w = w0; bias = b0; out = o0; }
    else if ((o -= o0) < o1) { y = y1; w = w1; bias = b1; out = o1; }
    else if ((o -= o1) < o2) { y = y2; w = w2; bias = b2; out = o2; }
    else if ((o -= o2) < o3) { y = y3; w = w3; bias = b3; out = o3; }
    else if ((o -= o3) < o4) { y = y4; w = w4; bias = b4; out = o4; }
    else if ((o -= o4) < o5) { y = y5; w = w5; bias = b5; out = o5; }
    else return;
    float acc[R] = {};
    warp_dots_dependent<R>(w + (int64_t)o * in, x, in, rows, in, acc);
    warp_finish<R>(acc, rows, [&](int r, float s) { y[(int64_t)r * out + o] = s + (bias == nullptr ? 0.f : bias[o]); });
}

extern "C" __global__ void xlstm_gemv_group_bf16w_f32(GEMV_GROUP_PARAMS) { gemv_group<GEMV_MAX_ROWS>(GEMV_GROUP_ARGS); }

extern "C" __global__ void xlstm_gemv_group_bf16w_f32_r1(GEMV_GROUP_PARAMS) { gemv_group<1>(GEMV_GROUP_ARGS); }
