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

// CAP: the logits are the soft-capped cap·tanh(raw/cap) of the values read (the xLSTM-7B output cap), written to
// `capped` when it is not null; the gradient is taken with respect to the raw values (the soft cap's derivative
// 1 − tanh² applied in the same pass), with the very float operations of xlstm_softcap_f32 then
// xlstm_softcap_backward_f32, so the fused pass equals the three kernels bit for bit.
template <bool CACHE, bool CAP>
__device__ __forceinline__ void cross_entropy_row(const float* logits, const int* __restrict__ targets,
                                                  float* __restrict__ loss, float* dlogits, int V, float scale,
                                                  unsigned char* shared, float cap = 0.f, float* capped = nullptr) {
    float* wm = reinterpret_cast<float*>(shared);
    float* ws = wm + 32;
    float* cache = reinterpret_cast<float*>(shared + CE_SCRATCH);   // the values as read (raw under CAP)
    const int64_t row = blockIdx.x;
    const float* x = logits + row * V;
    float* g = dlogits == nullptr ? nullptr : dlogits + row * V;
    float* y = CAP && capped != nullptr ? capped + row * V : nullptr;
    auto val = [&](float r) { return CAP ? __fmul_rn(cap, tanhf(r / cap)) : r; };   // _rn: never fused into an fma
    const int t = targets[row];
    const float xt = (threadIdx.x == 0 && t >= 0) ? val(x[t]) : 0.f;   // before anything is written
    const bool vec = (V & 3) == 0 && (((uintptr_t)x | (uintptr_t)g | (uintptr_t)y) & 15) == 0;
    const int n4 = V >> 2;
    float m = -INFINITY, s = 0.f;
    if (vec) {
        const float4* x4 = reinterpret_cast<const float4*>(x);
        for (int i = threadIdx.x; i < n4; i += blockDim.x) {
            float4 v = x4[i];
            if (CACHE) reinterpret_cast<float4*>(cache)[i] = v;
            if (CAP) {
                v = make_float4(val(v.x), val(v.y), val(v.z), val(v.w));
                if (y != nullptr) reinterpret_cast<float4*>(y)[i] = v;
            }
            lse_add4(m, s, v);
        }
    } else {
        for (int c = threadIdx.x; c < V; c += blockDim.x) {
            float v = x[c];
            if (CACHE) cache[c] = v;
            if (CAP) {
                v = val(v);
                if (y != nullptr) y[c] = v;
            }
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
    // one gradient element from the value as read: softmax − onehot, scaled, times the cap's derivative
    auto grad = [&](float r, int c) {
        if (!CAP) return (expf(r - lse) - (c == t ? 1.f : 0.f)) * scale;
        const float th = tanhf(r / cap);
        return ((expf(__fmul_rn(cap, th) - lse) - (c == t ? 1.f : 0.f)) * scale) * (1.f - th * th);
    };
    if (vec) {
        const float4* src = reinterpret_cast<const float4*>(CACHE ? cache : x);
        float4* g4 = reinterpret_cast<float4*>(g);
        for (int i = threadIdx.x; i < n4; i += blockDim.x) {
            float4 v = src[i];
            int c = i << 2;
            g4[i] = make_float4(grad(v.x, c), grad(v.y, c + 1), grad(v.z, c + 2), grad(v.w, c + 3));
        }
    } else {
        const float* src = CACHE ? cache : x;
        for (int c = threadIdx.x; c < V; c += blockDim.x) g[c] = grad(src[c], c);
    }
}

// Dynamic shared memory: CE_SCRATCH bytes.
extern "C" __global__ void xlstm_cross_entropy_f32(const float* logits, const int* __restrict__ targets,
                                                   float* __restrict__ loss, float* dlogits, int V, float scale) {
    extern __shared__ __align__(16) unsigned char smem[];
    cross_entropy_row<false, false>(logits, targets, loss, dlogits, V, scale, smem);
}

// As xlstm_cross_entropy_f32 with the row kept in shared memory between the two passes: CE_SCRATCH + V·4 bytes.
extern "C" __global__ void xlstm_cross_entropy_cached_f32(const float* logits, const int* __restrict__ targets,
                                                          float* __restrict__ loss, float* dlogits, int V, float scale) {
    extern __shared__ __align__(16) unsigned char smem[];
    cross_entropy_row<true, false>(logits, targets, loss, dlogits, V, scale, smem);
}

// Cross-entropy of the soft-capped logits cap·tanh(raw/cap) (written to `capped` unless null), gradient with respect
// to raw: xlstm_softcap_f32, the cross-entropy and xlstm_softcap_backward_f32 in one pass. Shared: CE_SCRATCH bytes.
extern "C" __global__ void xlstm_cross_entropy_softcap_f32(const float* raw, const int* __restrict__ targets,
                                                           float* __restrict__ loss, float* draw, float* capped, int V,
                                                           float scale, float cap) {
    extern __shared__ __align__(16) unsigned char smem[];
    cross_entropy_row<false, true>(raw, targets, loss, draw, V, scale, smem, cap, capped);
}

// As xlstm_cross_entropy_softcap_f32 with the raw row kept in shared memory: CE_SCRATCH + V·4 bytes.
extern "C" __global__ void xlstm_cross_entropy_softcap_cached_f32(const float* raw, const int* __restrict__ targets,
                                                                  float* __restrict__ loss, float* draw, float* capped,
                                                                  int V, float scale, float cap) {
    extern __shared__ __align__(16) unsigned char smem[];
    cross_entropy_row<true, true>(raw, targets, loss, draw, V, scale, smem, cap, capped);
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
