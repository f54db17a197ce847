// Decoding kernels that fuse a matrix-vector product (gemv.cuh) with the operations around it, so that a step of
// an xLSTM-7B block launches 7 kernels instead of 15 (Ops.rmsNormLinears, rmsNormGatedLinear, linearAdd,
// headNormGated). Each computes exactly what the separate kernels compute, in the same float order (the norm as
// norms.cu, the products as gemv.cu, the epilogues as elementwise.cu), so fused and unfused steps agree bit for bit.
// Rows r < rows <= GEMV_MAX_ROWS; in % 8 == 0. Kernels with a norm prologue keep the normalised rows in dynamic shared
// memory: rows · in floats.
#include "gemv.cuh"

// Up to 6 products of rmsNorm(x) (the projections of an mLSTM layer), outputs j >= capFrom soft-capped:
// y = cap·tanh(y/cap) when cap > 0. Warps numbered over the outputs of all products together.
extern "C" __global__ void xlstm_gemv_rmsnorm_group(
    float* y0, float* y1, float* y2, float* y3, float* y4, float* y5,
    const __nv_bfloat16* w0, const __nv_bfloat16* w1, const __nv_bfloat16* w2, const __nv_bfloat16* w3,
    const __nv_bfloat16* w4, const __nv_bfloat16* w5,
    const float* b0, const float* b1, const float* b2, const float* b3, const float* b4, const float* b5,
    int o0, int o1, int o2, int o3, int o4, int o5, const float* __restrict__ x, const float* __restrict__ nw,
    const float* __restrict__ nb, float eps, float cap, int capFrom, int rows, int in) {
    extern __shared__ __align__(16) unsigned char smem[];
    float* xs = reinterpret_cast<float*>(smem);
    rmsnorm_rows_to_shared(x, nw, nb, eps, rows, in, xs);
    const int lane = threadIdx.x & 31;
    int o = blockIdx.x * GEMV_WARPS + (threadIdx.x >> 5), j;
    float* y; const __nv_bfloat16* w; const float* bias; int out;
    if (o < o0) { j = 0; y = y0; w = w0; bias = b0; out = o0; }
    else if ((o -= o0) < o1) { j = 1; y = y1; w = w1; bias = b1; out = o1; }
    else if ((o -= o1) < o2) { j = 2; y = y2; w = w2; bias = b2; out = o2; }
    else if ((o -= o2) < o3) { j = 3; y = y3; w = w3; bias = b3; out = o3; }
    else if ((o -= o3) < o4) { j = 4; y = y4; w = w4; bias = b4; out = o4; }
    else if ((o -= o4) < o5) { j = 5; y = y5; w = w5; bias = b5; out = o5; }
    else return;
    float acc[GEMV_MAX_ROWS] = {};
    warp_dots(w + (int64_t)o * in, xs, in, rows, in, acc);
    const bool capped = j >= capFrom && cap > 0.f;
#pragma unroll
    for (int r = 0; r < GEMV_MAX_ROWS; r++) {
        if (r < rows) {
            float s = warp_sum(acc[r]);
            if (lane == 0) {
                float v = s + (bias == nullptr ? 0.f : bias[o]);
                y[(int64_t)r * out + o] = capped ? cap * tanhf(v / cap) : v;
            }
        }
    }
}

// y = act(rmsNorm(x)·Wgᵀ + bg) ⊙ (rmsNorm(x)·Wuᵀ + bu): a gated feed-forward's first half, one warp per hidden unit
// computing both of its products.
extern "C" __global__ void xlstm_gemv_rmsnorm_gated(float* __restrict__ y, const __nv_bfloat16* __restrict__ wg,
                                                    const __nv_bfloat16* __restrict__ wu, const float* __restrict__ bg,
                                                    const float* __restrict__ bu, int out, const float* __restrict__ x,
                                                    const float* __restrict__ nw, const float* __restrict__ nb,
                                                    float eps, int act, int rows, int in) {
    extern __shared__ __align__(16) unsigned char smem[];
    float* xs = reinterpret_cast<float*>(smem);
    rmsnorm_rows_to_shared(x, nw, nb, eps, rows, in, xs);
    const int lane = threadIdx.x & 31;
    const int o = blockIdx.x * GEMV_WARPS + (threadIdx.x >> 5);
    if (o >= out) return;
    float ag[GEMV_MAX_ROWS] = {}, au[GEMV_MAX_ROWS] = {};
    warp_dots(wg + (int64_t)o * in, xs, in, rows, in, ag);
    warp_dots(wu + (int64_t)o * in, xs, in, rows, in, au);
#pragma unroll
    for (int r = 0; r < GEMV_MAX_ROWS; r++) {
        if (r < rows) {
            float g = warp_sum(ag[r]), u = warp_sum(au[r]);
            if (lane == 0) {
                g += bg == nullptr ? 0.f : bg[o];
                u += bu == nullptr ? 0.f : bu[o];
                y[(int64_t)r * out + o] = u * activate(act, g);
            }
        }
    }
}

// y = residual + x·Wᵀ + b (y may alias residual: each element is read and written by the same lane).
extern "C" __global__ void xlstm_gemv_add(float* y, const __nv_bfloat16* __restrict__ w, const float* __restrict__ bias,
                                          const float* residual, const float* __restrict__ x, int rows, int in, int out) {
    const int lane = threadIdx.x & 31;
    const int o = blockIdx.x * GEMV_WARPS + (threadIdx.x >> 5);
    if (o >= out) return;
    float acc[GEMV_MAX_ROWS] = {};
    warp_dots(w + (int64_t)o * in, x, in, rows, in, acc);
#pragma unroll
    for (int r = 0; r < GEMV_MAX_ROWS; r++) {
        if (r < rows) {
            float s = warp_sum(acc[r]);
            if (lane == 0) {
                const int64_t at = (int64_t)r * out + o;
                y[at] = (s + (bias == nullptr ? 0.f : bias[o])) + residual[at];
            }
        }
    }
}

// y = headLayerNorm(h) ⊙ act(o), per (row, head) segment of dh values, one warp each (xlstm_headnorm_f32 then
// xlstm_mul_activated_f32 in one kernel). segments = rows · heads; y may alias h.
extern "C" __global__ void xlstm_headnorm_gated(float* y, const float* h, const float* __restrict__ w,
                                                const float* __restrict__ bias, const float* __restrict__ og, int act,
                                                int heads, int dh, float eps, int offset, int64_t segments) {
    const int lane = threadIdx.x & 31;
    const int64_t seg = (int64_t)blockIdx.x * GEMV_WARPS + (threadIdx.x >> 5);
    if (seg >= segments) return;
    const int head = (int)(seg % heads);
    const float* xr = h + seg * dh;
    const float* orow = og + seg * dh;
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
        float n = (xr[c] - mean) * rstd * scale + (bias == nullptr ? 0.f : bias[ch]);
        yr[c] = n * activate(act, orow[c]);
    }
}
