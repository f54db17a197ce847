// Elementwise kernels: fills, scaled adds, activations. One thread per element, grid-stride loops so any grid
// size covers any length. extern "C" keeps the names unmangled for cuModuleGetFunction.
#include <cstdint>

extern "C" __global__ void xlstm_fill_f32(float* __restrict__ y, float value, int64_t n) {
    for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x)
        y[i] = value;
}

// y = a*x + y
extern "C" __global__ void xlstm_axpy_f32(float* __restrict__ y, const float* __restrict__ x, float a, int64_t n) {
    for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x)
        y[i] = fmaf(a, x[i], y[i]);
}

// y = x * sigmoid(x)  (SiLU, the official "swish")
extern "C" __global__ void xlstm_silu_f32(float* __restrict__ y, const float* __restrict__ x, int64_t n) {
    for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x) {
        float v = x[i];
        y[i] = v / (1.0f + expf(-v));
    }
}
