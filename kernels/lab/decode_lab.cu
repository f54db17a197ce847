// Decode lab: times the real decode kernels (kernels/src/decode.cu, mlstm_step.cu, greedy.cu, compiled into this
// program) in CUDA graphs of programmatic dependent launches, as the runtime's greedy loop replays them, without the
// JVM: one xLSTM-7B-architecture token (D=768, 12 blocks, 4 heads, vocab 50,304, batch 1), and chains of one kernel
// kind repeated (distinct weights, so every launch reads its own from memory) to see what each kind costs inside a
// chain. Numbers are timing only: the weights are random, nothing is checked here (the JUnit GPU tests do that).
//   nvcc -O3 -std=c++17 -arch=sm_90 -diag-suppress 1556 -I kernels/src -o decode_lab kernels/lab/decode_lab.cu && ./decode_lab
#include "../src/decode.cu"
#include "../src/mlstm_step.cu"
#include "../src/greedy.cu"
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <vector>
#include <string>
#include <algorithm>

// Variants under trial (lab only): 3 weight vectors per lane (in <= 768: exactly xLSTM-7B-at-768's one pass), and
// the gated kernel held to 64 registers.
extern "C" __global__ void lab_group_v3(NORM_GROUP_PARAMS) { gemv_rmsnorm_group<1, 3>(NORM_GROUP_ARGS); }
extern "C" __global__ void lab_gated_v3(NORM_GATED_PARAMS) { gemv_rmsnorm_gated<1, 3>(NORM_GATED_ARGS); }
extern "C" __global__ void __launch_bounds__(256, 4) lab_gated_lb4(NORM_GATED_PARAMS) { gemv_rmsnorm_gated<1, 4>(NORM_GATED_ARGS); }
extern "C" __global__ void lab_headnorm_v3(HEADNORM_ADD_PARAMS) { gemv_headnorm_gated_add<1, 3>(HEADNORM_ADD_ARGS); }
extern "C" __global__ void __launch_bounds__(256) lab_wide_v3a1(WIDE_PARAMS) { gemv_rmsnorm_wide<3, 1>(WIDE_ARGS); }
extern "C" __global__ void __launch_bounds__(256) lab_wide_v3a2(WIDE_PARAMS) { gemv_rmsnorm_wide<3, 2>(WIDE_ARGS); }
extern "C" __global__ void __launch_bounds__(256) lab_wide_v3a3(WIDE_PARAMS) { gemv_rmsnorm_wide<3, 3>(WIDE_ARGS); }
// Gated first half with one weight row per warp: a block of 8 warps takes 4 hidden units, warps 0-3 their gate rows,
// warps 4-7 their up rows; the products meet in shared memory (same dot order per row: same bits).
extern "C" __global__ void __launch_bounds__(256) lab_gated_split(NORM_GATED_PARAMS) {
    extern __shared__ __align__(16) unsigned char smem[];
    float* xs = reinterpret_cast<float*>(smem);
    float* rs = xs + rows * in;
    float* pr = rs + rows + 1;   // [8] products
    const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
    const int o = blockIdx.x * 4 + (warp & 3), vecs = o < out ? in >> 3 : 0, oc = o < out ? o : 0;
    const bool up = warp >= 4;
    const __nv_bfloat16* wrow = (up ? wu : wg) + (int64_t)oc * in;
    uint4 buf[R1_VECS];
    warp_load_weights<R1_VECS>(wrow, vecs, 0, buf);
    const float* bb = up ? bu : bg;
    const float bo = bb == nullptr ? 0.f : __ldg(bb + oc);
    prefetch_l2_block(nw, in);
    prefetch_l2_block(nb, in);
    pdl_wait();
    pdl_trigger();
    rmsnorm_rows_block(x, nw, nb, eps, rows, in, xs, rs);
    float acc[1] = {0.f};
    warp_dot_loaded<1, R1_VECS>(buf, vecs, 0, xs, in, rows, acc);
    warp_dots_rest<1, R1_VECS>(wrow, xs, in, rows, vecs, acc);
    const float sum = warp_sum(acc[0]);
    if (lane == 0) pr[warp] = sum + bo;
    __syncthreads();
    if (threadIdx.x < 4) {
        const int u = blockIdx.x * 4 + threadIdx.x;
        if (u < out) y[u] = pr[4 + threadIdx.x] * activate(act, pr[threadIdx.x]);
    }
}
static bool gatedSplit = false;

// L2 prefetch of a later kernel's weights (the region split over the grid, one bulk prefetch per 32 KB by thread 0),
// issued first thing, before the kernel's own weights: the weights of the kernel after next start streaming into L2
// while this kernel and the next one run.
__device__ __forceinline__ void prefetch_l2_region(const char* p, long long bytes) {
    if (p == nullptr || bytes <= 0 || threadIdx.x != 0) return;
    long long per = ((bytes + gridDim.x - 1) / gridDim.x + 15) & ~15LL, from = per * blockIdx.x;
    long long to = from + per < bytes ? from + per : bytes;
    for (long long at = from; at < to; at += 32768) {
        unsigned n = (unsigned)((to - at < 32768 ? to - at : 32768) & ~15LL);
        if (n) asm volatile("cp.async.bulk.prefetch.L2.global [%0], %1;" ::"l"(p + at), "r"(n) : "memory");
    }
}
extern "C" __global__ void lab_group_pf(NORM_GROUP_PARAMS, const char* pf, long long pfb) {
    prefetch_l2_region(pf, pfb);
    gemv_rmsnorm_group<1, R1_VECS>(NORM_GROUP_ARGS);
}
extern "C" __global__ void lab_headnorm_pf(HEADNORM_ADD_PARAMS, const char* pf, long long pfb) {
    prefetch_l2_region(pf, pfb);
    gemv_headnorm_gated_add<1, R1_VECS>(HEADNORM_ADD_ARGS);
}
extern "C" __global__ void lab_gated_pf(NORM_GATED_PARAMS, const char* pf, long long pfb) {
    prefetch_l2_region(pf, pfb);
    gemv_rmsnorm_gated<1, R1_VECS>(NORM_GATED_ARGS);
}
extern "C" __global__ void lab_down_pf(ADD_PARAMS, const char* pf, long long pfb) {
    prefetch_l2_region(pf, pfb);
    gemv_add<1>(ADD_ARGS);
}
// Down projection + residual at batch 1 with its input staged in shared memory once per block (the runtime's reads
// it from global memory in every warp: 8 warps × 8 KB of L2 reads per block for in = 2048); same order, same bits.
// early: the residual requested before pdl_wait (its writer is two kernels back in a decode step).
template <bool Early>
__device__ __forceinline__ void down_staged(ADD_PARAMS) {
    extern __shared__ __align__(16) unsigned char smem[];
    float* xs = reinterpret_cast<float*>(smem);
    const int o = blockIdx.x * GEMV_WARPS + (threadIdx.x >> 5), oc = o < out ? o : 0, vecs = o < out ? in >> 3 : 0;
    uint4 buf[GEMV_MAX_VECS];
    warp_load_weights(w + (int64_t)oc * in, vecs, 0, buf);
    const float bo = bias == nullptr ? 0.f : __ldg(bias + oc);
    float res0 = 0.f;
    if (Early) res0 = residual[oc];
    pdl_wait();
    pdl_trigger();
    if (!Early) res0 = residual[oc];
    stage_vectors(x, in >> 2, xs);
    __syncthreads();
    if (o >= out) return;
    float acc[1] = {0.f};
    warp_dot_loaded<1>(buf, vecs, 0, xs, in, 1, acc);
    warp_dots_rest<1, GEMV_MAX_VECS>(w + (int64_t)o * in, xs, in, 1, vecs, acc);
    warp_finish<1>(acc, 1, [&](int, float s2) { y[o] = (s2 + bo) + res0; });
}
extern "C" __global__ void lab_down_staged(ADD_PARAMS) { down_staged<false>(ADD_ARGS); }
extern "C" __global__ void lab_down_staged_early(ADD_PARAMS) { down_staged<true>(ADD_ARGS); }
static int downVariant = 0;
static bool prefetchAhead = false;
static const char* pfPtr = nullptr;
static long long pfBytes = 0;
static void pfSet(const void* from, const void* end) { pfPtr = (const char*)from; pfBytes = end ? ((const char*)end - (const char*)from) & ~15LL : 0; }
static const void* wideKernel = (const void*)xlstm_gemv_rmsnorm_wide_r1;
static int variant = 0;   // 0: the runtime's kernels; 1: v3 builds; 2: gated held to 64 registers

#define CK(x) do { cudaError_t e_ = (x); if (e_ != cudaSuccess) { printf("%s (line %d): %s\n", #x, __LINE__, cudaGetErrorString(e_)); exit(1); } } while (0)

static const int D = 768, QK = 384, NH = 4, DQ = 96, DV = 192, FF = 2048, VOCAB = 50304, BLOCKS = 12;
static int COLS = 16;

__global__ void fill_bf16(__nv_bfloat16* p, size_t n, unsigned seed) {
    GRID_STRIDE(i, (int64_t)n) {
        unsigned h = (unsigned)i * 2654435761u ^ seed;
        h ^= h >> 13; h *= 0x5bd1e995u; h ^= h >> 15;
        p[i] = __float2bfloat16(((h & 0xffff) / 65536.f - 0.5f) * 0.08f);
    }
}
__global__ void fill_f32(float* p, size_t n, float v) { GRID_STRIDE(i, (int64_t)n) p[i] = v; }

struct Pool {   // bump allocator over one device allocation; wraps (reusing weights) past its size
    char* base; size_t size, at = 0;
    void* take(size_t bytes) { bytes = (bytes + 255) & ~size_t(255); if (at + bytes > size) at = 0; void* p = base + at; at += bytes; return p; }
};

static cudaStream_t st;
static bool first;
static void launch(const void* fn, dim3 grid, dim3 block, int shared, void** args) {
    cudaLaunchConfig_t cfg = {};
    cfg.gridDim = grid; cfg.blockDim = block; cfg.dynamicSmemBytes = shared; cfg.stream = st;
    cudaLaunchAttribute at[1];
    at[0].id = cudaLaunchAttributeProgrammaticStreamSerialization;
    at[0].val.programmaticStreamSerializationAllowed = 1;
    cfg.attrs = at; cfg.numAttrs = first ? 0 : 1;   // the graph's first kernel waits for everything before it
    first = false;
    CK(cudaLaunchKernelExC(&cfg, fn, args));
}

struct Act {   // activations of one token (batch 1)
    float *x, *q, *k, *v, *o, *ig, *fg, *h, *g, *logits, *C, *n, *m;
    unsigned* counters; unsigned long long* keys; int *fed, *pos;
};

struct BlockW { __nv_bfloat16 *wq, *wk, *wv, *wo, *wi, *wf, *wout, *wgate, *wup, *wdown; float *bi, *bf, *n1, *n2, *hn; };

static float eps = 1e-6f, capGate = 15.f, capOut = 30.f;

static void group(Act& a, BlockW& w) {
    float* y[6] = {a.q, a.k, a.v, a.o, a.ig, a.fg};
    const __nv_bfloat16* ws[6] = {w.wq, w.wk, w.wv, w.wo, w.wi, w.wf};
    const float* bs[6] = {nullptr, nullptr, nullptr, nullptr, w.bi, w.bf};
    int o[6] = {QK, QK, D, D, NH, NH}, capFrom = 4, rows = 1, in = D;
    float* nb = nullptr;
    void* args[] = {&y[0], &y[1], &y[2], &y[3], &y[4], &y[5], &ws[0], &ws[1], &ws[2], &ws[3], &ws[4], &ws[5], &bs[0], &bs[1],
                    &bs[2], &bs[3], &bs[4], &bs[5], &o[0], &o[1], &o[2], &o[3], &o[4], &o[5], &a.x, &w.n1, &nb, &eps, &capGate,
                    &capFrom, &rows, &in, &pfPtr, &pfBytes};
    int total = QK + QK + D + D + NH + NH;
    if (prefetchAhead) { launch((const void*)lab_group_pf, dim3((total + GEMV_WARPS - 1) / GEMV_WARPS), dim3(GEMV_WARPS * 32), (D + 1) * 4, args); return; }
    launch(variant == 1 ? (const void*)lab_group_v3 : (const void*)xlstm_gemv_rmsnorm_group_r1, dim3((total + GEMV_WARPS - 1) / GEMV_WARPS), dim3(GEMV_WARPS * 32), (D + 1) * 4, args);
}

static void step(Act& a, float* C, float* n, float* m) {
    int S = 1, nh = NH, dq = DQ, dv = DV, cols = COLS;
    int shared = (32 + ((3 * DQ + 3) & ~3) + STEP_COLS_THREADS / (COLS / 4) * COLS) * 4;
    void* args[] = {&a.q, &a.k, &a.v, &a.ig, &a.fg, &C, &n, &m, &a.h, &a.counters, &S, &nh, &dq, &dv, &cols, &eps};
    launch((const void*)xlstm_mlstm_step_cols_f32, dim3(NH, (DV + COLS - 1) / COLS), dim3(STEP_COLS_THREADS), shared, args);
}

static void headnormAdd(Act& a, BlockW& w) {
    float* bias = nullptr; float* nb = nullptr;
    int offset = 0, act = 3, heads = NH, rows = 1, in = D, out = D;
    void* args[] = {&a.x, &w.wout, &bias, &a.x, &a.h, &a.o, &w.hn, &nb, &eps, &offset, &act, &heads, &rows, &in, &out, &pfPtr, &pfBytes};
    if (prefetchAhead) { launch((const void*)lab_headnorm_pf, dim3((D + GEMV_WARPS - 1) / GEMV_WARPS), dim3(GEMV_WARPS * 32), (D + 2 * NH) * 4, args); return; }
    launch(variant == 1 ? (const void*)lab_headnorm_v3 : (const void*)xlstm_gemv_headnorm_gated_add_r1, dim3((D + GEMV_WARPS - 1) / GEMV_WARPS), dim3(GEMV_WARPS * 32), (D + 2 * NH) * 4, args);
}

static void gated(Act& a, BlockW& w) {
    float* nul = nullptr;
    int out = FF, act = 4, rows = 1, in = D;
    void* args[] = {&a.g, &w.wgate, &w.wup, &nul, &nul, &out, &a.x, &w.n2, &nul, &eps, &act, &rows, &in, &pfPtr, &pfBytes};
    if (prefetchAhead) { launch((const void*)lab_gated_pf, dim3((FF + GEMV_WARPS - 1) / GEMV_WARPS), dim3(GEMV_WARPS * 32), (D + 1) * 4, args); return; }
    if (gatedSplit) {
        launch((const void*)lab_gated_split, dim3((FF + 3) / 4), dim3(256), (D + 2 + 8) * 4, args);
        return;
    }
    launch(variant == 1 ? (const void*)lab_gated_v3 : variant == 2 ? (const void*)lab_gated_lb4 : (const void*)xlstm_gemv_rmsnorm_gated_r1, dim3((FF + GEMV_WARPS - 1) / GEMV_WARPS), dim3(GEMV_WARPS * 32), (D + 1) * 4, args);
}

static void down(Act& a, BlockW& w) {
    float* bias = nullptr;
    int rows = 1, in = FF, out = D;
    void* args[] = {&a.x, &w.wdown, &bias, &a.x, &a.g, &rows, &in, &out, &pfPtr, &pfBytes};
    if (downVariant) { launch(downVariant == 1 ? (const void*)lab_down_staged : (const void*)lab_down_staged_early, dim3((D + GEMV_WARPS - 1) / GEMV_WARPS), dim3(GEMV_WARPS * 32), FF * 4, args); return; }
    if (prefetchAhead) { launch((const void*)lab_down_pf, dim3((D + GEMV_WARPS - 1) / GEMV_WARPS), dim3(GEMV_WARPS * 32), 0, args); return; }
    launch((const void*)xlstm_gemv_add_r1, dim3((D + GEMV_WARPS - 1) / GEMV_WARPS), dim3(GEMV_WARPS * 32), FF * 4, args);
}

static void head(Act& a, __nv_bfloat16* wh, float* nw) {
    float* y[6] = {a.logits, nullptr, nullptr, nullptr, nullptr, nullptr};
    const __nv_bfloat16* ws[6] = {wh, nullptr, nullptr, nullptr, nullptr, nullptr};
    const float* bs[6] = {};
    int o[6] = {VOCAB, 0, 0, 0, 0, 0}, capFrom = 0, rows = 1, in = D;
    float* nb = nullptr;
    void* args[] = {&y[0], &y[1], &y[2], &y[3], &y[4], &y[5], &ws[0], &ws[1], &ws[2], &ws[3], &ws[4], &ws[5], &bs[0], &bs[1],
                    &bs[2], &bs[3], &bs[4], &bs[5], &o[0], &o[1], &o[2], &o[3], &o[4], &o[5], &a.x, &nw, &nb, &eps, &capOut,
                    &capFrom, &rows, &in};
    launch((const void*)xlstm_gemv_rmsnorm_group_r1, dim3((VOCAB + GEMV_WARPS - 1) / GEMV_WARPS), dim3(GEMV_WARPS * 32), (D + 1) * 4, args);
}

static int sms, wideBlocksPerSm = 4;
static void headWide(Act& a, __nv_bfloat16* wh, float* nw, bool fuseArgmax) {
    float* bias = nullptr; float* nb = nullptr;
    int out = VOCAB, in = D;
    unsigned long long* keys = fuseArgmax ? a.keys : nullptr;
    void* args[] = {&a.logits, &wh, &bias, &out, &a.x, &nw, &nb, &eps, &capOut, &in, &keys};
    int grid = std::min((VOCAB + GEMV_WARPS - 1) / GEMV_WARPS, wideBlocksPerSm * sms);
    launch(wideKernel, dim3(grid), dim3(GEMV_WARPS * 32), (D + 2) * 4 + GEMV_WARPS * 8, args);
}

static void argmax(Act& a) {
    int v = VOCAB;
    void* args[] = {&a.logits, &a.keys, &v};
    launch((const void*)xlstm_argmax_key_f32, dim3(64, 1), dim3(256), 0, args);
}

static void embed(Act& a, float* table) {
    int cap = 1024, d = D, vocab = VOCAB;
    void* args[] = {&a.x, &table, &a.keys, &a.fed, &a.pos, &cap, &d, &vocab};
    launch((const void*)xlstm_embedding_greedy_f32, dim3(1), dim3(256), 0, args);
}

static double timeGraph(const char* name, int launchesPerReplay, const std::function<void()>& body) {
    cudaGraph_t g; cudaGraphExec_t ge;
    CK(cudaStreamBeginCapture(st, cudaStreamCaptureModeGlobal));
    first = true;
    body();
    CK(cudaStreamEndCapture(st, &g));
    CK(cudaGraphInstantiate(&ge, g, 0));
    for (int w = 0; w < 30; w++) CK(cudaGraphLaunch(ge, st));
    CK(cudaStreamSynchronize(st));
    cudaEvent_t e0, e1;
    cudaEventCreate(&e0); cudaEventCreate(&e1);
    const int N = 300;
    cudaEventRecord(e0, st);
    for (int r = 0; r < N; r++) CK(cudaGraphLaunch(ge, st));
    cudaEventRecord(e1, st);
    CK(cudaEventSynchronize(e1));
    float ms;
    cudaEventElapsedTime(&ms, e0, e1);
    double us = ms * 1000.0 / N;
    printf("%-34s %9.1f us per replay  %6.2f us per launch", name, us, us / launchesPerReplay);
    if (launchesPerReplay > 40) printf("  %7.0f replays/s", 1e6 / us);
    printf("\n");
    CK(cudaGraphExecDestroy(ge)); CK(cudaGraphDestroy(g));
    return us;
}

int main(int argc, char** argv) {
    CK(cudaStreamCreate(&st));
    CK(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, 0));
    // argv[1]: one preferred shared-memory carveout (percent) for every kernel (-1: the driver's choice per kernel)
    const int carveout = argc > 1 ? atoi(argv[1]) : -1;
    if (carveout >= 0) {
        const void* fns[] = {(const void*)xlstm_gemv_rmsnorm_group_r1, (const void*)xlstm_mlstm_step_cols_f32,
                             (const void*)xlstm_gemv_headnorm_gated_add_r1, (const void*)xlstm_gemv_rmsnorm_gated_r1,
                             (const void*)xlstm_gemv_add_r1, (const void*)xlstm_gemv_rmsnorm_wide_r1,
                             (const void*)xlstm_argmax_key_f32, (const void*)xlstm_embedding_greedy_f32};
        for (const void* f : fns) CK(cudaFuncSetAttribute(f, cudaFuncAttributePreferredSharedMemoryCarveout, carveout));
    }
    printf("carveout %d\n", carveout);
    Pool pool{nullptr, (size_t)700 << 20};
    CK(cudaMalloc(&pool.base, pool.size));
    fill_bf16<<<4096, 256>>>((__nv_bfloat16*)pool.base, pool.size / 2, 12345u);
    auto bf = [&](size_t n) { return (__nv_bfloat16*)pool.take(n * 2); };
    float* small; CK(cudaMalloc(&small, 64 << 20));
    fill_f32<<<4096, 256>>>(small, 16 << 20, 0.01f);
    size_t sat = 0;
    auto f32 = [&](size_t n) { float* p = small + sat; sat += (n + 63) & ~size_t(63); return p; };
    auto ones = [&](size_t n) { float* p = f32(n); fill_f32<<<64, 256>>>(p, n, 1.f); return p; };
    Act a{};
    a.x = f32(D); a.q = f32(QK); a.k = f32(QK); a.v = f32(D); a.o = f32(D); a.ig = f32(NH); a.fg = f32(NH); a.h = f32(D);
    a.g = f32(FF); a.logits = f32(VOCAB);
    CK(cudaMalloc(&a.counters, 4096)); CK(cudaMemset(a.counters, 0, 4096));
    CK(cudaMalloc(&a.keys, 64)); CK(cudaMemset(a.keys, 0, 64));
    CK(cudaMalloc(&a.fed, 4096 * 4)); CK(cudaMalloc(&a.pos, 64)); CK(cudaMemset(a.pos, 0, 64));
    std::vector<BlockW> bw(48);
    std::vector<float*> Cs(48), ns(48), ms(48);
    for (int b = 0; b < 48; b++) {
        BlockW& w = bw[b];
        w.wq = bf((size_t)QK * D); w.wk = bf((size_t)QK * D); w.wv = bf((size_t)D * D); w.wo = bf((size_t)D * D);
        w.wi = bf((size_t)NH * D); w.wf = bf((size_t)NH * D); w.wout = bf((size_t)D * D);
        w.wgate = bf((size_t)FF * D); w.wup = bf((size_t)FF * D); w.wdown = bf((size_t)D * FF);
        w.bi = f32(NH); w.bf = f32(NH); w.n1 = ones(D); w.n2 = ones(D); w.hn = ones(D);
        Cs[b] = f32((size_t)NH * DQ * DV); ns[b] = f32(NH * DQ); ms[b] = f32(NH);
    }
    __nv_bfloat16* wh = bf((size_t)VOCAB * D);
    float* hn = ones(D);
    float* table; CK(cudaMalloc(&table, (size_t)VOCAB * D * 4));
    fill_f32<<<4096, 256>>>(table, (size_t)VOCAB * D, 0.01f);
    CK(cudaDeviceSynchronize());

    const int R = 48;
    printf("decode lab: xLSTM-7B architecture D=%d, %d blocks, %d heads, vocab %d, batch 1\n", D, BLOCKS, NH, VOCAB);
    timeGraph("token (embedding .. arg-max)", 2 + 5 * BLOCKS + 2, [&] {
        embed(a, table);
        for (int b = 0; b < BLOCKS; b++) {
            group(a, bw[b]); step(a, Cs[b], ns[b], ms[b]); headnormAdd(a, bw[b]); gated(a, bw[b]); down(a, bw[b]);
        }
        head(a, wh, hn); argmax(a);
    });
    for (int fused = 0; fused < 2; fused++)
        timeGraph(fused ? "token, wide LM head + its arg-max" : "token, wide LM head", 2 + 5 * BLOCKS + 2 - fused, [&] {
            embed(a, table);
            for (int b = 0; b < BLOCKS; b++) {
                group(a, bw[b]); step(a, Cs[b], ns[b], ms[b]); headnormAdd(a, bw[b]); gated(a, bw[b]); down(a, bw[b]);
            }
            headWide(a, wh, hn, fused);
            if (!fused) argmax(a);
        });
    for (int dv = 0; dv < 3; dv++) {
        downVariant = dv;
        const char* names[] = {"the runtime's down kernel", "down with its input staged", "staged + residual before the wait"};
        printf("%s\n", names[dv]);
        timeGraph("token", 1 + 5 * BLOCKS + 1, [&] {
            embed(a, table);
            for (int b = 0; b < BLOCKS; b++) {
                group(a, bw[b]); step(a, Cs[b], ns[b], ms[b]); headnormAdd(a, bw[b]); gated(a, bw[b]); down(a, bw[b]);
            }
            headWide(a, wh, hn, true);
        });
        timeGraph("down + residual x48", R, [&] { for (int b = 0; b < R; b++) down(a, bw[b]); });
        timeGraph("gate/up, down x24", R, [&] { for (int b = 0; b < R / 2; b++) { gated(a, bw[b]); down(a, bw[b]); } });
    }
    downVariant = 0;
    timeGraph("norm + 6 projections x48", R, [&] { for (int b = 0; b < R; b++) group(a, bw[b]); });
    timeGraph("mLSTM step (cols) x48", R, [&] { for (int b = 0; b < R; b++) step(a, Cs[b], ns[b], ms[b]); });
    timeGraph("headnorm + out proj + res x48", R, [&] { for (int b = 0; b < R; b++) headnormAdd(a, bw[b]); });
    timeGraph("norm + gate/up x48", R, [&] { for (int b = 0; b < R; b++) gated(a, bw[b]); });
    timeGraph("down + residual x48", R, [&] { for (int b = 0; b < R; b++) down(a, bw[b]); });
    timeGraph("LM head x4", 4, [&] { for (int b = 0; b < 4; b++) head(a, wh, hn); });
    timeGraph("arg-max x48", R, [&] { for (int b = 0; b < R; b++) argmax(a); });
    timeGraph("embedding x48", R, [&] { for (int b = 0; b < R; b++) embed(a, table); });
    return 0;
}
