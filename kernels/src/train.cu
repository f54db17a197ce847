// Training kernels: cross-entropy fused with the softmax over the logits, AdamW, and the global gradient norm.
#include "common.cuh"

// One block per row r of logits [R, V]. targets[r] = -1 means ignored (loss 0, gradient 0).
// loss[r] = logsumexp(logits[r]) - logits[r, t]; dlogits[r] = (softmax(logits[r]) - onehot(t)) * scale
// where scale = 1 / (number of non-ignored rows), known on the host. dlogits may alias logits.
extern "C" __global__ void xlstm_cross_entropy_f32(const float* logits, const int* __restrict__ targets,
                                                   float* __restrict__ loss, float* dlogits, int V, float scale) {
    __shared__ float red[32];
    const int64_t row = blockIdx.x;
    const float* x = logits + row * V;
    float* g = dlogits + row * V;
    const int t = targets[row];
    float mx = -INFINITY;
    for (int c = threadIdx.x; c < V; c += blockDim.x) mx = fmaxf(mx, x[c]);
    // block max through the same fixed tree as block_sum
    for (int o = 16; o > 0; o >>= 1) mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, o));
    if ((threadIdx.x & 31) == 0) red[threadIdx.x >> 5] = mx;
    __syncthreads();
    if (threadIdx.x < 32) {
        float v = threadIdx.x < (blockDim.x >> 5) ? red[threadIdx.x] : -INFINITY;
        for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
        if (threadIdx.x == 0) red[0] = v;
    }
    __syncthreads();
    mx = red[0];
    __syncthreads();
    float s = 0.f;
    for (int c = threadIdx.x; c < V; c += blockDim.x) s += expf(x[c] - mx);
    const float sum = block_sum(s, red);
    const float lse = mx + logf(sum);
    const float xt = (t >= 0) ? x[t] : 0.f;   // read before any aliasing write
    __syncthreads();
    if (threadIdx.x == 0) loss[row] = t < 0 ? 0.f : lse - xt;
    if (dlogits != nullptr) {
        for (int c = threadIdx.x; c < V; c += blockDim.x) {
            float p = expf(x[c] - lse);
            g[c] = t < 0 ? 0.f : (p - (c == t ? 1.f : 0.f)) * scale;
        }
    }
}

// torch.optim.AdamW, one parameter tensor: decoupled decay first, then the bias-corrected Adam step.
// bc1 = 1 - beta1^step, bc2sqrt = sqrt(1 - beta2^step), computed on the host.
extern "C" __global__ void xlstm_adamw_f32(float* __restrict__ p, const float* __restrict__ g, float* __restrict__ m,
                                           float* __restrict__ v, float lr, float beta1, float beta2, float eps,
                                           float weightDecay, float bc1, float bc2sqrt, int64_t n) {
    GRID_STRIDE(i, n) {
        float pi = p[i] * (1.f - lr * weightDecay);
        float gi = g[i];
        float mi = beta1 * m[i] + (1.f - beta1) * gi;
        float vi = beta2 * v[i] + (1.f - beta2) * gi * gi;
        m[i] = mi;
        v[i] = vi;
        float denom = sqrtf(vi) / bc2sqrt + eps;
        p[i] = pi - (lr / bc1) * mi / denom;
    }
}

// Partial sums of squares: block b writes partial[b]; the host (or a second launch with one block) adds them in
// a fixed order, so the norm is deterministic.
extern "C" __global__ void xlstm_sumsq_partial_f32(const float* __restrict__ x, float* __restrict__ partial, int64_t n) {
    __shared__ float red[32];
    float s = 0.f;
    GRID_STRIDE(i, n) s += x[i] * x[i];
    s = block_sum(s, red);
    if (threadIdx.x == 0) partial[blockIdx.x] = s;
}

extern "C" __global__ void xlstm_scale_f32(float* __restrict__ x, float a, int64_t n) {
    GRID_STRIDE(i, n) x[i] *= a;
}
