// Shared device helpers. Everything is float32 here; bf16 variants convert at load/store.
#pragma once
#include <cstdint>
#include <cuda_bf16.h>

#define GRID_STRIDE(i, n) \
    for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < (n); i += (int64_t)gridDim.x * blockDim.x)

// log(sigmoid(x)) = min(x, 0) - log1p(exp(-|x|)): no overflow for large |x|.
__device__ __forceinline__ float log_sigmoid(float x) { return fminf(x, 0.f) - log1pf(expf(-fabsf(x))); }

__device__ __forceinline__ float sigmoidf(float x) { return 1.f / (1.f + expf(-x)); }

// Activation ids follow org.xlstm.jvm.config.Activation's ordinal: GELU, RELU, RELU2, SIGMOID, SWISH, SELU.
__device__ __forceinline__ float activate(int act, float x) {
    switch (act) {
        case 0: return 0.5f * x * (1.f + erff(x * 0.70710678118654752f));   // exact (erf) GELU, torch's default
        case 1: return fmaxf(x, 0.f);
        case 2: { float r = fmaxf(x, 0.f); return r * r; }
        case 3: return sigmoidf(x);
        case 4: return x * sigmoidf(x);
        default: return 1.0507009873554805f * (x > 0.f ? x : 1.6732632423543772f * expm1f(x));
    }
}

// Block-wide sum with a fixed reduction tree (deterministic). blockDim.x must be a multiple of 32, <= 1024.
__device__ __forceinline__ float block_sum(float v, float* shared32) {
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    __syncthreads();
    if (lane == 0) shared32[warp] = v;
    __syncthreads();
    int nw = blockDim.x >> 5;
    v = lane < nw ? shared32[lane] : 0.f;
    if (warp == 0)
        for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    if (threadIdx.x == 0) shared32[0] = v;
    __syncthreads();
    float r = shared32[0];
    __syncthreads();
    return r;
}

__device__ __forceinline__ float warp_sum(float v) {
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    return v;
}

// Programmatic dependent launch (CudaKernel.launchDependent, compute capability 9.0+): the kernel may start while the
// previous kernel on the stream still runs. pdl_wait() blocks until that kernel has completed and its writes are
// visible: call it before reading anything an earlier kernel wrote (or writing what one reads); loads of constant
// inputs (weights) may come before it and overlap the previous kernel. pdl_trigger() lets the next dependent kernel
// start launching (its blocks still wait in their pdl_wait()); call it only after pdl_wait(), so that a kernel that
// has started knows every kernel but its immediate predecessor complete (its weight loads then never overtake a
// write, e.g. a bf16 weight refresh, queued earlier). One documented exception: the batch-1 head norm + out
// projection (decode.cu) triggers first, for a successor that reads only weights before its wait. Both are no-ops for
// plain launches and elsewhere.
__device__ __forceinline__ void pdl_wait() {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
    asm volatile("griddepcontrol.wait;" ::: "memory");
#endif
}

__device__ __forceinline__ void pdl_trigger() {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
    asm volatile("griddepcontrol.launch_dependents;" :::);
#endif
}

// Asks the L2 cache for the 128-byte lines of n floats at p (one prefetch per line, spread over the block's threads;
// no registers, no result): for small constant inputs (norm weights, biases) that a dependently launched kernel
// reads only after pdl_wait(), so that they arrive while the previous kernel finishes. A no-op off the device.
__device__ __forceinline__ void prefetch_l2_block(const float* p, int n) {
#if defined(__CUDA_ARCH__)
    if (p == nullptr) return;
    for (int i = threadIdx.x * 32; i < n; i += blockDim.x * 32)
        asm volatile("prefetch.global.L2 [%0];" ::"l"(__cvta_generic_to_global(p + i)));
#else
    (void)p;
    (void)n;
#endif
}

// Asks the L2 cache for this block's share of the `bytes` at p (bulk prefetches of up to 64 KB, one per thread of
// the first threads; no registers, no result): weights that kernels a few launches ahead read, requested by a
// kernel that reads little memory itself (a decode step's kernels are latency-bound and leave most of the memory's
// bandwidth idle). A hint: a tail past a multiple of 16 bytes is skipped, a misaligned start skips it all; nothing
// before sm_90.
__device__ __forceinline__ void prefetch_l2_share(const void* p, long long bytes) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
    if (p == nullptr || bytes < 16 || (reinterpret_cast<uintptr_t>(p) & 15) != 0) return;
    const long long per = ((bytes + gridDim.x * gridDim.y - 1) / (gridDim.x * gridDim.y) + 15) & ~15ll;
    const long long from = per * (blockIdx.y * gridDim.x + blockIdx.x), end = min(from + per, bytes & ~15ll);
    for (long long at = from + threadIdx.x * 65536ll; at < end; at += blockDim.x * 65536ll) {
        const unsigned n = (unsigned)min(65536ll, end - at);
        asm volatile("cp.async.bulk.prefetch.L2.global [%0], %1;" ::"l"(__cvta_generic_to_global(
                         reinterpret_cast<const char*>(p) + at)), "r"(n) : "memory");
    }
#else
    (void)p;
    (void)bytes;
#endif
}

// Greedy decoding's arg-max as one 64-bit key (greedy.cu): the value's bits mapped to an unsigned order (larger
// float, larger key; NaN above +inf, torch.argmax's rule) over ~index (among equal values the lowest index wins), so
// that atomicMax over keys is the arg-max.
__device__ __forceinline__ unsigned long long argmax_key(float v, int index) {
    unsigned int b = __float_as_uint(v);
    b = (b & 0x80000000u) ? ~b : (b | 0x80000000u);
    return ((unsigned long long)b << 32) | (unsigned int)~(unsigned int)index;
}

__device__ __forceinline__ int argmax_key_index(unsigned long long key) { return (int)~(unsigned int)key; }
