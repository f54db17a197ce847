// Training kernels: cross-entropy fused with the softmax over the logits, AdamW, and the global gradient norm.
#include "common.cuh"

// Cross-entropy fused with the softmax: one block per row r of logits [R, V], targets[r] = -1 ignored.
//   loss[r] = logsumexp(logits[r]) − logits[r, t] (0 for an ignored row)
//   dlogits[r] = (softmax(logits[r]) − onehot(t))·scale (0 for an ignored row), scale = 1/count from the host.
// The log-sum-exp is computed online (running max and sum rescaled when the max grows) in the same pass that reads
// the row, so the logits are read once from memory: the cached variant keeps the row in shared memory for the
// gradient pass; the plain one reads the row again (mostly from L2). Dynamic shared memory only (the CPU emulator,
// kernels/emu, maps it): CE_SCRATCH bytes for the warps' partial results, then the cached row (V·4 bytes).
// Threads combine their (max, sum) pairs through a fixed tree: deterministic. dlogits may be null (loss only)
// or alias logits (each element is read before the same thread overwrites it; the target logit is read first).

// (m, s) ← the log-sum-exp pair of the union of (m, s) and (mo, so); an empty pair is (−∞, 0).
__device__ __forceinline__ void lse_merge(float& m, float& s, float mo, float so) {
    if (mo == -INFINITY) return;
    if (m == -INFINITY) { m = mo; s = so; return; }
    if (mo > m) { s = s * expf(m - mo) + so; m = mo; }
    else s += so * expf(mo - m);
}

// one more value into the running pair
__device__ __forceinline__ void lse_add(float& m, float& s, float v) {
    if (v > m) { s = s * expf(m - v) + 1.f; m = v; }      // from (−∞, 0): 0·0 + 1
    else if (m != -INFINITY) s += expf(v - m);
}

__device__ __forceinline__ void lse_add4(float& m, float& s, float4 v) {
    float vm = fmaxf(fmaxf(v.x, v.y), fmaxf(v.z, v.w));
    if (vm > m) { s = s * expf(m - vm); m = vm; }
    if (m != -INFINITY) s += (expf(v.x - m) + expf(v.y - m)) + (expf(v.z - m) + expf(v.w - m));
}

#define CE_SCRATCH 256

template <bool CACHE>
__device__ __forceinline__ void cross_entropy_row(const float* logits, const int* __restrict__ targets,
                                                  float* __restrict__ loss, float* dlogits, int V, float scale,
                                                  unsigned char* shared) {
    float* wm = reinterpret_cast<float*>(shared);
    float* ws = wm + 32;
    float* cache = reinterpret_cast<float*>(shared + CE_SCRATCH);
    const int64_t row = blockIdx.x;
    const float* x = logits + row * V;
    float* g = dlogits == nullptr ? nullptr : dlogits + row * V;
    const int t = targets[row];
    const float xt = (threadIdx.x == 0 && t >= 0) ? x[t] : 0.f;   // before anything is written
    const bool vec = (V & 3) == 0 && (((uintptr_t)x | (uintptr_t)g) & 15) == 0;
    const int n4 = V >> 2;
    float m = -INFINITY, s = 0.f;
    if (vec) {
        const float4* x4 = reinterpret_cast<const float4*>(x);
        for (int i = threadIdx.x; i < n4; i += blockDim.x) {
            float4 v = x4[i];
            if (CACHE) reinterpret_cast<float4*>(cache)[i] = v;
            lse_add4(m, s, v);
        }
    } else {
        for (int c = threadIdx.x; c < V; c += blockDim.x) {
            float v = x[c];
            if (CACHE) cache[c] = v;
            lse_add(m, s, v);
        }
    }
    for (int o = 16; o > 0; o >>= 1) {
        float mo = __shfl_xor_sync(0xffffffffu, m, o), so = __shfl_xor_sync(0xffffffffu, s, o);
        lse_merge(m, s, mo, so);
    }
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, nw = blockDim.x >> 5;
    if (lane == 0) { wm[warp] = m; ws[warp] = s; }
    __syncthreads();
    if (warp == 0) {
        m = lane < nw ? wm[lane] : -INFINITY;
        s = lane < nw ? ws[lane] : 0.f;
        for (int o = 16; o > 0; o >>= 1) {
            float mo = __shfl_xor_sync(0xffffffffu, m, o), so = __shfl_xor_sync(0xffffffffu, s, o);
            lse_merge(m, s, mo, so);
        }
        if (lane == 0) { wm[0] = m; ws[0] = s; }
    }
    __syncthreads();   // also orders every cache write before the gradient pass reads
    const float lse = wm[0] + logf(ws[0]);
    if (threadIdx.x == 0) loss[row] = t < 0 ? 0.f : lse - xt;
    if (g == nullptr) return;
    if (t < 0) {
        for (int c = threadIdx.x; c < V; c += blockDim.x) g[c] = 0.f;
        return;
    }
    if (vec) {
        const float4* src = reinterpret_cast<const float4*>(CACHE ? cache : x);
        float4* g4 = reinterpret_cast<float4*>(g);
        for (int i = threadIdx.x; i < n4; i += blockDim.x) {
            float4 v = src[i];
            int c = i << 2;
            float4 o;
            o.x = (expf(v.x - lse) - (c == t ? 1.f : 0.f)) * scale;
            o.y = (expf(v.y - lse) - (c + 1 == t ? 1.f : 0.f)) * scale;
            o.z = (expf(v.z - lse) - (c + 2 == t ? 1.f : 0.f)) * scale;
            o.w = (expf(v.w - lse) - (c + 3 == t ? 1.f : 0.f)) * scale;
            g4[i] = o;
        }
    } else {
        const float* src = CACHE ? cache : x;
        for (int c = threadIdx.x; c < V; c += blockDim.x) g[c] = (expf(src[c] - lse) - (c == t ? 1.f : 0.f)) * scale;
    }
}

// Dynamic shared memory: CE_SCRATCH bytes.
extern "C" __global__ void xlstm_cross_entropy_f32(const float* logits, const int* __restrict__ targets,
                                                   float* __restrict__ loss, float* dlogits, int V, float scale) {
    extern __shared__ __align__(16) unsigned char smem[];
    cross_entropy_row<false>(logits, targets, loss, dlogits, V, scale, smem);
}

// As xlstm_cross_entropy_f32 with the row kept in shared memory between the two passes: CE_SCRATCH + V·4 bytes.
extern "C" __global__ void xlstm_cross_entropy_cached_f32(const float* logits, const int* __restrict__ targets,
                                                          float* __restrict__ loss, float* dlogits, int V, float scale) {
    extern __shared__ __align__(16) unsigned char smem[];
    cross_entropy_row<true>(logits, targets, loss, dlogits, V, scale, smem);
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
