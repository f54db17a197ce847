// Optimizer and metrics kernels for training where the parameters live on the GPU.
#include "common.cuh"

// AdamW, one parameter tensor, with exactly the float operations of the CPU optimizer (train/AdamW.java):
//   p *= decay; m = fma(g, 1-b1, m*b1); v = v*b2 + (g*(1-b2))*g; p -= (m / (sqrt(v)/bc2sqrt + eps)) * stepSize
// Intrinsics with explicit rounding keep nvcc from contracting into other fused multiply-adds, so the GPU and
// the CPU produce the same parameters bit for bit from the same gradients.
extern "C" __global__ void xlstm_adamw_exact_f32(float* __restrict__ p, const float* __restrict__ g,
                                                 float* __restrict__ m, float* __restrict__ v, float decay, float b1,
                                                 float omb1, float b2, float omb2, float stepSize, float bc2sqrt,
                                                 float eps, int64_t n) {
    GRID_STRIDE(i, n) {
        float gi = g[i];
        float pi = __fmul_rn(p[i], decay);
        float mi = __fmaf_rn(gi, omb1, __fmul_rn(m[i], b1));
        float vi = __fadd_rn(__fmul_rn(v[i], b2), __fmul_rn(__fmul_rn(gi, omb2), gi));
        float denom = __fadd_rn(__fdiv_rn(__fsqrt_rn(vi), bc2sqrt), eps);
        pi = __fsub_rn(pi, __fmul_rn(__fdiv_rn(mi, denom), stepSize));
        m[i] = mi;
        v[i] = vi;
        p[i] = pi;
    }
}

// Sums of squares per block (fixed tree); the host adds the partials in block order in double (deterministic).
extern "C" __global__ void xlstm_sumsq_blocks_f32(const float* __restrict__ x, float* __restrict__ partial, int64_t n) {
    __shared__ float red[32];
    float s = 0.f;
    GRID_STRIDE(i, n) s = fmaf(x[i], x[i], s);
    s = block_sum(s, red);
    if (threadIdx.x == 0) partial[blockIdx.x] = s;
}

extern "C" __global__ void xlstm_scale_inplace_f32(float* __restrict__ x, float a, int64_t n) {
    GRID_STRIDE(i, n) x[i] *= a;
}

// ---------------------------------------------------------------------------------------------------------------
// Multi-tensor forms: one launch for all of a model's parameters (~200 tensors, most of them small, where one
// launch each made the step wait for the host issuing them). Tensor t owns the blocks [first[t], first[t + 1]),
// each covering EACH_CHUNK of its elements; per element the arithmetic is the single-tensor kernel's, bit for bit.
#define EACH_CHUNK 4096

struct EachSlot {          // 48 bytes, as CudaOptimizer writes it: four pointers, the length, one float
    float* a;
    float* b;
    float* c;
    float* d;
    long long n;
    float s;
    int pad;
};

__device__ __forceinline__ int each_slot(const long long* __restrict__ first, int count) {
    int lo = 0, hi = count;                    // first[lo] <= block < first[hi]
    while (hi - lo > 1) {
        int mid = (lo + hi) >> 1;
        if (first[mid] <= (long long)blockIdx.x) lo = mid; else hi = mid;
    }
    return lo;
}

#define EACH_RANGE(i, slot, first, t) \
    const long long each_start = ((long long)blockIdx.x - (first)[t]) * EACH_CHUNK; \
    const long long each_end = min(each_start + EACH_CHUNK, (slot).n); \
    for (long long i = each_start + threadIdx.x; i < each_end; i += blockDim.x)

// AdamW of xlstm_adamw_exact_f32 per slot: a = p, b = g, c = m, d = v, s = decay.
extern "C" __global__ void xlstm_adamw_each_f32(const EachSlot* __restrict__ slots, const long long* __restrict__ first,
                                                int count, float b1, float omb1, float b2, float omb2, float stepSize,
                                                float bc2sqrt, float eps) {
    const int t = each_slot(first, count);
    const EachSlot e = slots[t];
    EACH_RANGE(i, e, first, t) {
        float gi = e.b[i];
        float pi = __fmul_rn(e.a[i], e.s);
        float mi = __fmaf_rn(gi, omb1, __fmul_rn(e.c[i], b1));
        float vi = __fadd_rn(__fmul_rn(e.d[i], b2), __fmul_rn(__fmul_rn(gi, omb2), gi));
        float denom = __fadd_rn(__fdiv_rn(__fsqrt_rn(vi), bc2sqrt), eps);
        pi = __fsub_rn(pi, __fmul_rn(__fdiv_rn(mi, denom), stepSize));
        e.c[i] = mi;
        e.d[i] = vi;
        e.a[i] = pi;
    }
}

// a *= s per slot (the clipping's scale, xlstm_scale_inplace_f32).
extern "C" __global__ void xlstm_scale_each_f32(const EachSlot* __restrict__ slots, const long long* __restrict__ first,
                                                int count) {
    const int t = each_slot(first, count);
    const EachSlot e = slots[t];
    EACH_RANGE(i, e, first, t) e.a[i] *= e.s;
}

// a = s per slot (zeroing the gradients).
extern "C" __global__ void xlstm_fill_each_f32(const EachSlot* __restrict__ slots, const long long* __restrict__ first,
                                               int count) {
    const int t = each_slot(first, count);
    const EachSlot e = slots[t];
    EACH_RANGE(i, e, first, t) e.a[i] = e.s;
}

// Block partial sums of squares per slot, as xlstm_sumsq_blocks_f32 computes them with the slot's blocks as its
// grid (the same grid-stride loop and tree): slot t's partials at partial[t * SUMSQ_SLOT + its block].
#define SUMSQ_SLOT 256   // CudaOptimizer.SUMSQ_BLOCKS
extern "C" __global__ void xlstm_sumsq_each_f32(const EachSlot* __restrict__ slots, const long long* __restrict__ first,
                                                int count, float* __restrict__ partial) {
    __shared__ float red[32];
    const int t = each_slot(first, count);
    const EachSlot e = slots[t];
    const long long block = (long long)blockIdx.x - first[t], grid = first[t + 1] - first[t];
    float s = 0.f;
    for (long long i = block * blockDim.x + threadIdx.x; i < e.n; i += grid * blockDim.x) s = fmaf(e.a[i], e.a[i], s);
    s = block_sum(s, red);
    if (threadIdx.x == 0) partial[(long long)t * SUMSQ_SLOT + block] = s;
}

// Per row of logits [R, V]: the first arg-max (as torch.argmax) and, for a scored row (target >= 0), the negative
// log-likelihood logsumexp(row) - row[target]; ignored rows get nll 0, and with targets == null (greedy decoding)
// the exponential pass is skipped. One block per row (1024 threads for a vocabulary: a decode step's whole LM-head
// row is read by one block, so the loads are 16-byte and many per thread in flight).
__device__ __forceinline__ void argmax_take(float xv, int c, float& best, int& bi) {
    if (xv > best || (xv == best && c < bi) || (bi == 0x7fffffff && xv != xv)) { best = xv; bi = c; }
}

extern "C" __global__ void xlstm_row_argmax_nll_f32(const float* __restrict__ logits, const int* __restrict__ targets,
                                                    int* __restrict__ argmax, float* __restrict__ nll, int V) {
    __shared__ float smax[32];
    __shared__ int sidx[32];
    __shared__ float red[32];
    const int64_t row = blockIdx.x;
    const float* x = logits + row * V;
    float best = -INFINITY;
    int bi = 0x7fffffff;
    if ((V & 3) == 0 && ((uintptr_t)x & 15) == 0) {
        const float4* x4 = reinterpret_cast<const float4*>(x);
        for (int i = threadIdx.x; i < (V >> 2); i += blockDim.x) {
            const float4 v = x4[i];
            const int c = i << 2;
            argmax_take(v.x, c, best, bi);
            argmax_take(v.y, c + 1, best, bi);
            argmax_take(v.z, c + 2, best, bi);
            argmax_take(v.w, c + 3, best, bi);
        }
    } else {
        for (int c = threadIdx.x; c < V; c += blockDim.x) argmax_take(x[c], c, best, bi);
    }
    for (int o = 16; o > 0; o >>= 1) {
        float ob = __shfl_xor_sync(0xffffffffu, best, o);
        int oi = __shfl_xor_sync(0xffffffffu, bi, o);
        if (ob > best || (ob == best && oi < bi)) { best = ob; bi = oi; }
    }
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, nw = blockDim.x >> 5;
    if (lane == 0) { smax[warp] = best; sidx[warp] = bi; }
    __syncthreads();
    if (warp == 0) {
        best = lane < nw ? smax[lane] : -INFINITY;
        bi = lane < nw ? sidx[lane] : 0x7fffffff;
        for (int o = 16; o > 0; o >>= 1) {
            float ob = __shfl_xor_sync(0xffffffffu, best, o);
            int oi = __shfl_xor_sync(0xffffffffu, bi, o);
            if (ob > best || (ob == best && oi < bi)) { best = ob; bi = oi; }
        }
        if (lane == 0) { smax[0] = best; sidx[0] = bi; }
    }
    __syncthreads();
    const float mx = smax[0];
    const int am = sidx[0];
    if (targets == nullptr) {   // greedy decoding: the arg-max only
        if (threadIdx.x == 0) {
            argmax[row] = am == 0x7fffffff ? 0 : am;
            nll[row] = 0.f;
        }
        return;
    }
    float s = 0.f;
    for (int c = threadIdx.x; c < V; c += blockDim.x) s += expf(x[c] - mx);
    s = block_sum(s, red);
    if (threadIdx.x == 0) {
        argmax[row] = am == 0x7fffffff ? 0 : am;
        const int t = targets[row];
        nll[row] = t < 0 ? 0.f : (mx + logf(s)) - x[t];
    }
}
