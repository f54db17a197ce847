// Elementwise kernels: fills, adds, activations, soft caps, column concatenation. Grid-stride loops so any grid
// covers any length. extern "C" keeps names unmangled for cuModuleGetFunction.
#include "common.cuh"

extern "C" __global__ void xlstm_fill_f32(float* __restrict__ y, float value, int64_t n) {
    GRID_STRIDE(i, n) y[i] = value;
}

// y = a*x + y
extern "C" __global__ void xlstm_axpy_f32(float* __restrict__ y, const float* __restrict__ x, float a, int64_t n) {
    GRID_STRIDE(i, n) y[i] = fmaf(a, x[i], y[i]);
}

// y = x * sigmoid(x)  (SiLU, the official "swish")
extern "C" __global__ void xlstm_silu_f32(float* __restrict__ y, const float* __restrict__ x, int64_t n) {
    GRID_STRIDE(i, n) { float v = x[i]; y[i] = v / (1.0f + expf(-v)); }
}

// y = act(x); may alias
extern "C" __global__ void xlstm_activation_f32(float* y, const float* x, int act, int64_t n) {
    GRID_STRIDE(i, n) y[i] = activate(act, x[i]);
}

// y = x * act(g); y may alias x
extern "C" __global__ void xlstm_mul_activated_f32(float* y, const float* x, const float* g, int act, int64_t n) {
    GRID_STRIDE(i, n) y[i] = x[i] * activate(act, g[i]);
}

// y = a + b; y may alias a
extern "C" __global__ void xlstm_add_f32(float* y, const float* a, const float* b, int64_t n) {
    GRID_STRIDE(i, n) y[i] = a[i] + b[i];
}

// y[r, c] = a[r, c] + w[c] * b[r, c]; y may alias a
extern "C" __global__ void xlstm_add_scaled_f32(float* y, const float* a, const float* w, const float* b, int cols,
                                                int64_t n) {
    GRID_STRIDE(i, n) y[i] = fmaf(w[i % cols], b[i], a[i]);
}

// y = cap * tanh(x / cap); may alias
extern "C" __global__ void xlstm_softcap_f32(float* y, const float* x, float cap, int64_t n) {
    GRID_STRIDE(i, n) y[i] = cap * tanhf(x[i] / cap);
}

// Copies x [rows, cx] into columns [offset, offset + cx) of y [rows, cy].
extern "C" __global__ void xlstm_copy_columns_f32(float* __restrict__ y, const float* __restrict__ x, int cx, int cy,
                                                  int offset, int64_t n) {
    GRID_STRIDE(i, n) {
        int64_t r = i / cx;
        int c = (int)(i - r * cx);
        y[r * cy + offset + c] = x[i];
    }
}

// y[r] = table[tokens[r]] rows of width d
extern "C" __global__ void xlstm_embedding_f32(float* __restrict__ y, const float* __restrict__ table,
                                               const int* __restrict__ tokens, int d, int64_t n) {
    GRID_STRIDE(i, n) {
        int64_t r = i / d;
        int c = (int)(i - r * d);
        y[i] = table[(int64_t)tokens[r] * d + c];
    }
}

// float32 -> bfloat16 (round to nearest even) and back, for mixed precision.
extern "C" __global__ void xlstm_f32_to_bf16(__nv_bfloat16* __restrict__ y, const float* __restrict__ x, int64_t n) {
    GRID_STRIDE(i, n) y[i] = __float2bfloat16_rn(x[i]);
}

extern "C" __global__ void xlstm_bf16_to_f32(float* __restrict__ y, const __nv_bfloat16* __restrict__ x, int64_t n) {
    GRID_STRIDE(i, n) y[i] = __bfloat162float(x[i]);
}

// y[r, c] += b[c]
extern "C" __global__ void xlstm_add_bias_f32(float* y, const float* __restrict__ b, int cols, int64_t n) {
    GRID_STRIDE(i, n) y[i] += b[i % cols];
}

extern "C" __global__ void xlstm_copy_f32(float* __restrict__ y, const float* __restrict__ x, int64_t n) {
    GRID_STRIDE(i, n) y[i] = x[i];
}
