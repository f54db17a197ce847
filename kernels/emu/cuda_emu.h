// A small CPU emulator for our CUDA kernels: include this, then the .cu file, compile with g++ (-Ikernels/emu so
// <mma.h> and <cuda_bf16.h> resolve to the mocks here). Each CUDA thread of a block is a fiber (ucontext) on one OS
// thread; __syncthreads, __syncwarp and the shuffles are cooperative barriers, so the kernels' own code runs,
// barriers and all, deterministically. Blocks run one after another. Catches: barrier deadlocks (e.g. a
// __syncthreads a thread skips), reads of shared memory never written (it starts as NaN bytes), writes past the
// dynamic shared allocation (canary), wmma tiles outside it or misaligned (see mma.h), and, with emu::galloc, global
// accesses past the end of a buffer (guard page).
#pragma once
#include <ucontext.h>
#include <sys/mman.h>
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __shared__
#define __launch_bounds__(...)
#define __align__(n)

struct dim3 {
    unsigned x = 1, y = 1, z = 1;
};
inline dim3 threadIdx, blockIdx, blockDim, gridDim;

struct alignas(16) float4 {
    float x, y, z, w;
};
inline float4 make_float4(float x, float y, float z, float w) { return float4{x, y, z, w}; }

struct alignas(16) uint4 {
    unsigned x, y, z, w;
};
inline uint4 make_uint4(unsigned x, unsigned y, unsigned z, unsigned w) { return uint4{x, y, z, w}; }
template <class T>
inline T __ldg(const T* p) { return *p; }

using std::max;
using std::min;
inline float rsqrtf(float x) { return 1.f / std::sqrt(x); }
inline float __fmul_rn(float a, float b) { return a * b; }

// the block's dynamic shared memory (kernels declare `extern __shared__ unsigned char smem[]`)
constexpr size_t EMU_SMEM_MAX = 240 * 1024, EMU_CANARY = 4096;
alignas(128) inline unsigned char smem[EMU_SMEM_MAX + EMU_CANARY];

namespace emu {

struct Fiber {
    ucontext_t ctx;
    bool done = false;
};

constexpr size_t STACK_BYTES = 256 * 1024;

/** Thread t's fiber stack, allocated once and reused by every block (zeroing fresh stacks per block dominated). */
inline char* stack_of(unsigned t) {
    static std::vector<std::unique_ptr<char[]>> stacks;
    while (stacks.size() <= t) stacks.emplace_back(new char[STACK_BYTES]);
    return stacks[t].get();
}

struct Block {
    std::vector<Fiber> fibers;
    ucontext_t main;
    int cur = 0, nthreads = 0;
    int arrived = 0;
    long gen = 0;
    std::vector<int> warrived;
    std::vector<long> wgen;
    std::vector<float> xch;
    long spins = 0;
    size_t shmem = 0;
    std::function<void()> body;
};
inline Block* blk = nullptr;

inline void fail(const char* what) {
    std::fprintf(stderr, "EMULATOR: %s (block %u,%u,%u thread %u,%u,%u)\n", what, blockIdx.x, blockIdx.y, blockIdx.z,
                 threadIdx.x, threadIdx.y, threadIdx.z);
    std::abort();
}

/** The thread's linear index in its block (x fastest, as CUDA numbers threads into warps). */
inline unsigned linear() { return threadIdx.x + blockDim.x * (threadIdx.y + blockDim.y * threadIdx.z); }

inline unsigned lane() { return linear() & 31; }

/** Sets threadIdx (all three components) from the linear index of fiber t. */
inline void set_thread(int t) {
    threadIdx.x = (unsigned)t % blockDim.x;
    threadIdx.y = (unsigned)t / blockDim.x % blockDim.y;
    threadIdx.z = (unsigned)t / (blockDim.x * blockDim.y);
}

/** Threads in warp w (the last warp of a block whose size is not a multiple of 32 is partial). */
inline int warp_size(int w) { return std::min(32, blk->nthreads - 32 * w); }

/**
 * EMU_REVERSE=1 runs the threads (and the blocks, see launch) in the opposite order: a race in one order often reads
 * stale data in the other.
 */
inline bool reverse() {
    static const bool r = [] { const char* e = std::getenv("EMU_REVERSE"); return e != nullptr && e[0] == '1'; }();
    return r;
}

/** The lane that performs a warp's wmma stores: the one the scheduler runs last. */
inline unsigned store_lane() { return reverse() ? 0 : 31; }

inline void switch_to(int next) {
    int me = blk->cur;
    blk->cur = next;
    set_thread(next);
    if (next != me) swapcontext(&blk->fibers[me].ctx, &blk->fibers[next].ctx);
}

/** Lets the next live fiber run (round robin); a full round of yields with no barrier released is a deadlock. */
inline void yield() {
    if (++blk->spins > 4L * blk->nthreads + 64) fail("deadlock: every live thread waits at a barrier");
    int n = blk->nthreads, next = blk->cur, step = reverse() ? n - 1 : 1;
    for (int i = 0; i < n; i++) {
        next = (next + step) % n;
        if (!blk->fibers[next].done) break;
    }
    switch_to(next);
}

inline void progress() { blk->spins = 0; }

inline void syncthreads() {
    long g = blk->gen;
    if (++blk->arrived == blk->nthreads) {
        blk->arrived = 0;
        blk->gen++;
        progress();
        return;
    }
    while (blk->gen == g) yield();
}

inline void syncwarp() {
    int w = (int)linear() / 32;
    long g = blk->wgen[w];
    if (++blk->warrived[w] == warp_size(w)) {
        blk->warrived[w] = 0;
        blk->wgen[w]++;
        progress();
        return;
    }
    while (blk->wgen[w] == g) yield();
}

inline float exchange(float v, int src) {
    int w = (int)linear() / 32;
    if (src >= warp_size(w)) fail("shuffle from a lane past the end of a partial warp");
    syncwarp();
    blk->xch[w * 32 + lane()] = v;
    syncwarp();
    return blk->xch[w * 32 + src];
}

inline void fiber_entry(int idx) {
    blk->body();
    blk->fibers[idx].done = true;
    progress();
    int n = blk->nthreads, step = reverse() ? n - 1 : 1;
    for (int i = 1; i <= n; i++) {
        int next = (idx + i * step) % n;
        if (!blk->fibers[next].done) {
            blk->cur = next;
            set_thread(next);
            setcontext(&blk->fibers[next].ctx);
        }
    }
    setcontext(&blk->main);
}

inline void check_tile(const void* p, unsigned ldm, unsigned elemBytes, bool colMajor, const char* what) {
    (void)colMajor;
    if ((uintptr_t)p % 32 != 0) fail((std::string(what) + ": pointer not 256-bit aligned").c_str());
    if (ldm % (16 / elemBytes) != 0) fail((std::string(what) + ": ldm not a multiple of 16 bytes").c_str());
    const unsigned char* c = (const unsigned char*)p;
    if (c >= smem && c < smem + sizeof(smem)) {
        size_t end = (size_t)(c - smem) + ((size_t)15 * ldm + 16) * elemBytes;
        if (end > blk->shmem) fail((std::string(what) + ": tile beyond the dynamic shared allocation").c_str());
    }
}

/**
 * Runs the kernel body (a lambda calling the kernel) over the grid, blocks one after another. Blocks of any shape up
 * to 1024 threads; threads are numbered x fastest and grouped into warps of 32 by that number, as on the device (a
 * block whose size is not a multiple of 32 ends with a partial warp).
 */
inline void launch(dim3 grid, dim3 block, size_t shmem, const std::function<void()>& body) {
    if (shmem > EMU_SMEM_MAX) fail("dynamic shared memory above the emulator's 240 KB");
    const unsigned nthreads = block.x * block.y * block.z;
    if (block.x == 0 || block.y == 0 || block.z == 0 || nthreads > 1024 || block.z > 64)
        fail("emulator: invalid blockDim (at most 1024 threads, z at most 64)");
    if (grid.x == 0 || grid.y == 0 || grid.z == 0 || grid.y > 65535 || grid.z > 65535) fail("emulator: invalid gridDim");
    gridDim = grid;
    blockDim = block;
    for (unsigned zi = 0; zi < grid.z; zi++)
        for (unsigned yi = 0; yi < grid.y; yi++)
            for (unsigned xi = 0; xi < grid.x; xi++) {
                // EMU_REVERSE also runs the blocks last to first (a block that reads what another block of the same
                // launch writes then sees it in one of the two orders)
                const bool rev = reverse();
                blockIdx = dim3{rev ? grid.x - 1 - xi : xi, rev ? grid.y - 1 - yi : yi, rev ? grid.z - 1 - zi : zi};
                std::memset(smem, 0xff, shmem);                     // NaN everywhere: unwritten reads show
                std::memset(smem + shmem, 0xa5, EMU_CANARY);
                Block b;
                b.nthreads = (int)nthreads;
                b.shmem = shmem;
                b.warrived.assign((nthreads + 31) / 32, 0);
                b.wgen.assign((nthreads + 31) / 32, 0);
                b.xch.assign((nthreads + 31) / 32 * 32, 0.f);
                b.body = body;
                b.fibers.resize(nthreads);
                blk = &b;
                for (unsigned t = 0; t < nthreads; t++) {
                    Fiber& f = b.fibers[t];
                    getcontext(&f.ctx);
                    f.ctx.uc_stack.ss_sp = stack_of(t);
                    f.ctx.uc_stack.ss_size = STACK_BYTES;
                    f.ctx.uc_link = &b.main;
                    makecontext(&f.ctx, (void (*)())fiber_entry, 1, (int)t);
                }
                b.cur = reverse() ? (int)nthreads - 1 : 0;
                set_thread(b.cur);
                swapcontext(&b.main, &b.fibers[b.cur].ctx);
                for (auto& f : b.fibers)
                    if (!f.done) fail("a thread did not finish");
                for (size_t i = 0; i < EMU_CANARY; i++)
                    if (smem[shmem + i] != 0xa5) fail("write past the dynamic shared allocation");
                blk = nullptr;
            }
}

/** n floats whose end touches a PROT_NONE page: reading or writing past the end faults. */
inline float* galloc(size_t n) {
    size_t bytes = std::max<size_t>(n, 1) * 4, pages = (bytes + 4095) / 4096 + 1;
    char* base = (char*)mmap(nullptr, pages * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (base == MAP_FAILED) fail("mmap");
    mprotect(base + (pages - 1) * 4096, 4096, PROT_NONE);
    return (float*)(base + (pages - 1) * 4096 - bytes);
}
}  // namespace emu

inline void __syncthreads() { emu::syncthreads(); }
inline void __syncwarp(unsigned = 0xffffffffu) { emu::syncwarp(); }
inline float __shfl_sync(unsigned, float v, int src) { return emu::exchange(v, src & 31); }
inline float __shfl_xor_sync(unsigned, float v, int o) { return emu::exchange(v, (int)(emu::lane() ^ o)); }
inline float __shfl_up_sync(unsigned, float v, unsigned d) {
    int src = (int)emu::lane() - (int)d;
    float r = emu::exchange(v, src < 0 ? (int)emu::lane() : src);
    return src < 0 ? v : r;
}

// Atomics: fibers switch only at barriers and shuffles, so a plain read-modify-write is atomic here.
inline unsigned atomicAdd(unsigned* p, unsigned v) {
    unsigned old = *p;
    *p = old + v;
    return old;
}
inline unsigned long long atomicMax(unsigned long long* p, unsigned long long v) {
    unsigned long long old = *p;
    if (v > old) *p = v;
    return old;
}
inline void __threadfence() {}
inline unsigned __float_as_uint(float v) {
    unsigned u;
    std::memcpy(&u, &v, 4);
    return u;
}
inline float __uint_as_float(unsigned u) {
    float v;
    std::memcpy(&v, &u, 4);
    return v;
}
// 64-bit shuffles as two 32-bit ones (the halves' bits carried through floats)
inline unsigned long long __shfl_xor_sync(unsigned m, unsigned long long v, int o) {
    unsigned lo = __float_as_uint(__shfl_xor_sync(m, __uint_as_float((unsigned)v), o));
    unsigned hi = __float_as_uint(__shfl_xor_sync(m, __uint_as_float((unsigned)(v >> 32)), o));
    return ((unsigned long long)hi << 32) | lo;
}
