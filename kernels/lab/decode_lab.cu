// Decode lab: times the real decode kernels (kernels/src/decode.cu, mlstm_step.cu, greedy.cu, compiled into this
// program) in CUDA graphs of programmatic dependent launches, as the runtime's greedy loop replays them, without the
// JVM: one xLSTM-7B-architecture token (D=768, 12 blocks, 4 heads, vocab 50,304, batch 1), and chains of one kernel
// kind repeated (distinct weights, so every launch reads its own from memory) to see what each kind costs inside a
// chain, leaving each kind out of the token, and neighbouring pairs. Numbers are timing only: the weights are random,
// nothing is checked here (the JUnit GPU tests and kernels/emu do that). Figures and what was tried: docs/performance.md.
// Optional argument: one preferred shared-memory carveout (percent) for every kernel. LAB_QUICK=1: the token only
// (comparing builds); LAB_NO_PREFETCH=1: the step does not ask L2 for the down projection's weights; LAB_HOT=1: the
// token with all blocks sharing 1..4 blocks' weights (L2-resident: the bound of any prefetching). LAB_GEMV=1 first times
// synthetic matrix-vector chains (lab_gemv: weights only, input and product, plus a norm-like reduction; and the
// same without weights) and dependent launches that do nothing (lab_nop): how a kernel's time divides.
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

// Lab-only kernels: where a decode kernel's time goes. One warp per output row of `in` bf16 weights (in <= 1024).
// stage 0: weights requested before the wait, folded and stored after it (no input); 1: + x staged in shared memory
// and the dot product (a plain gemv); 2: + x's sum of squares by warp 0 and a barrier (an RMS-norm-like prologue).
template <int STAGE>
__global__ void lab_gemv(float* y, const __nv_bfloat16* __restrict__ w, const float* __restrict__ x, int in, int out,
                         const __nv_bfloat16* __restrict__ ahead, int noWeights) {
    __shared__ __align__(16) float xs[1024];
    __shared__ float rs;
    const int warps = blockDim.x >> 5, o = blockIdx.x * warps + (threadIdx.x >> 5), lane = threadIdx.x & 31;
    const int vecs = o < out && !noWeights ? in >> 3 : 0;
    uint4 buf[4];
    warp_load_weights<4>(w + (int64_t)(o < out ? o : 0) * in, vecs, 0, buf);
    if (ahead != nullptr && o < out && lane * 64 < in)   // this warp's row of the weights two kernels ahead, into L2
        asm volatile("prefetch.global.L2 [%0];" ::"l"(__cvta_generic_to_global(ahead + (int64_t)o * in + lane * 64)));
    pdl_wait();
    pdl_trigger();
    float acc[1] = {0.f};
    if (STAGE == 0) {
        for (int j = 0; j < 4; j++) acc[0] += __uint_as_float(buf[j].x ^ buf[j].y ^ buf[j].z ^ buf[j].w);
    } else {
        stage_vectors(x, in >> 2, xs);
        __syncthreads();
        if (STAGE == 2) {
            if (threadIdx.x < 32) {
                const float r = rms_rinv_warp(xs, in, 1e-6f);
                if (lane == 0) rs = r;
            }
            __syncthreads();
            acc[0] = rs * 1e-3f;
        }
        warp_dot_loaded<1, 4>(buf, vecs, 0, xs, in, 1, acc);
    }
    const float s = warp_sum(acc[0]);
    if (lane == 0 && o < out) y[o] = s;
}

__global__ void lab_nop(float* p) {
    pdl_wait();
    pdl_trigger();
    if (threadIdx.x == 0 && p != nullptr) p[blockIdx.x] += 1.f;
}

#define CK(x) do { cudaError_t e_ = (x); if (e_ != cudaSuccess) { printf("%s (line %d): %s\n", #x, __LINE__, cudaGetErrorString(e_)); exit(1); } } while (0)

static const int D = 768, QK = 384, NH = 4, DQ = 96, DV = 192, VOCAB = 50304, BLOCKS = 12;
static const int FF = 2112;   // the feed-forward's width as the runtime sizes it: round_up(768 · 2.667, 64)
static const int COLS = 16;

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
                    &capFrom, &rows, &in};
    int total = QK + QK + D + D + NH + NH;
    launch((const void*)xlstm_gemv_rmsnorm_group_r1, dim3((total + GEMV_WARPS - 1) / GEMV_WARPS), dim3(GEMV_WARPS * 32), (D + rms_stats_floats(1, D)) * 4, args);
}

static bool stepPrefetch = true;   // the step asks L2 for the block's down projection (Ops.prefetchHint), as the runtime
static void step(Act& a, float* C, float* n, float* m, const __nv_bfloat16* ahead) {
    int S = 1, nh = NH, dq = DQ, dv = DV, cols = COLS;
    const void* pf = stepPrefetch ? ahead : nullptr;
    long long pfBytes = stepPrefetch ? (long long)D * FF * 2 : 0;
    int shared = (32 + ((3 * DQ + 3) & ~3) + STEP_COLS_THREADS / (COLS / 4) * COLS) * 4;
    void* args[] = {&a.q, &a.k, &a.v, &a.ig, &a.fg, &C, &n, &m, &a.h, &a.counters, &S, &nh, &dq, &dv, &cols, &eps, &pf, &pfBytes};
    launch((const void*)xlstm_mlstm_step_cols_f32, dim3(NH, (DV + COLS - 1) / COLS), dim3(STEP_COLS_THREADS), shared, args);
}

static void headnormAdd(Act& a, BlockW& w) {
    float* bias = nullptr; float* nb = nullptr;
    int offset = 0, act = 3, heads = NH, rows = 1, in = D, out = D;
    void* args[] = {&a.x, &w.wout, &bias, &a.x, &a.h, &a.o, &w.hn, &nb, &eps, &offset, &act, &heads, &rows, &in, &out};
    launch((const void*)xlstm_gemv_headnorm_gated_add_r1, dim3((D + GEMV_WARPS - 1) / GEMV_WARPS), dim3(GEMV_WARPS * 32), (D + 2 * NH) * 4, args);
}

static void gated(Act& a, BlockW& w) {
    float* nul = nullptr;
    int out = FF, act = 4, rows = 1, in = D;
    void* args[] = {&a.g, &w.wgate, &w.wup, &nul, &nul, &out, &a.x, &w.n2, &nul, &eps, &act, &rows, &in};
    launch((const void*)xlstm_gemv_rmsnorm_gated_r1, dim3((FF + GEMV_WARPS - 1) / GEMV_WARPS), dim3(GEMV_WARPS * 32), (D + rms_stats_floats(1, D)) * 4, args);
}

static void down(Act& a, BlockW& w) {
    float* bias = nullptr;
    int rows = 1, in = FF, out = D;
    void* args[] = {&a.x, &w.wdown, &bias, &a.x, &a.g, &rows, &in, &out};
    const void* fn = FF > 2048 && FF <= 2304 ? (const void*)xlstm_gemv_add_r1_v9 : (const void*)xlstm_gemv_add_r1;   // as CudaOps
    launch(fn, dim3((D + GEMV_WARPS - 1) / GEMV_WARPS), dim3(GEMV_WARPS * 32), FF * 4, args);
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
    launch((const void*)xlstm_gemv_rmsnorm_group_r1, dim3((VOCAB + GEMV_WARPS - 1) / GEMV_WARPS), dim3(GEMV_WARPS * 32), (D + rms_stats_floats(1, D)) * 4, args);
}

static int sms, wideBlocksPerSm = 4;
static void headWide(Act& a, __nv_bfloat16* wh, float* nw, bool fuseArgmax) {
    float* bias = nullptr; float* nb = nullptr;
    int out = VOCAB, in = D;
    unsigned long long* keys = fuseArgmax ? a.keys : nullptr;
    void* args[] = {&a.logits, &wh, &bias, &out, &a.x, &nw, &nb, &eps, &capOut, &in, &keys};
    int grid = std::min((VOCAB + GEMV_WARPS - 1) / GEMV_WARPS, wideBlocksPerSm * sms);
    launch((const void*)xlstm_gemv_rmsnorm_wide_r1, dim3(grid), dim3(GEMV_WARPS * 32), (D + rms_stats_floats(1, D)) * 4 + GEMV_WARPS * 8, args);
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
    if (getenv("LAB_GEMV") != nullptr)
    for (int blocks : {289}) {
        char name[80];
        snprintf(name, sizeof name, "nop %d blocks x48", blocks);
        timeGraph(name, R, [&] { for (int b = 0; b < R; b++) { float* p = a.logits; void* args[] = {&p}; launch((const void*)lab_nop, dim3(blocks), dim3(256), 0, args); } });
    }
    if (getenv("LAB_GEMV") != nullptr)
    for (int variant = 0; variant < 2; variant++)   // 0 plain, 1 no weights (the chain alone), 2 L2 prefetch 2 ahead
    for (int stage = 0; stage < 3; stage++)
        for (int warps : {8}) {
            const void* fn = stage == 0 ? (const void*)lab_gemv<0> : stage == 1 ? (const void*)lab_gemv<1> : (const void*)lab_gemv<2>;
            for (int shape = 0; shape < 2; shape++) {
                int in = D, out = shape == 0 ? 2312 : 4096;
                char name[80];
                snprintf(name, sizeof name, "gemv %s stage %d, %d rows x48", variant == 0 ? "plain" : variant == 1 ? "no weights" : "L2 ahead", stage, out);
                timeGraph(name, R, [&] {
                    for (int b = 0; b < R; b++) {
                        __nv_bfloat16* wp = b % 2 ? bw[b].wgate : bw[b].wup;
                        __nv_bfloat16* ah = variant == 2 ? ((b + 2) % 2 ? bw[(b + 2) % R].wgate : bw[(b + 2) % R].wup) : nullptr;
                        int noW = variant == 1;
                        void* args[] = {&a.g, &wp, &a.x, &in, &out, &ah, &noW};
                        launch(fn, dim3((out + warps - 1) / warps), dim3(warps * 32), 0, args);
                    }
                });
            }
        }
    int hotBlocks = 0;   // > 0: the blocks share the weights of that many blocks (L2-resident): what prefetching could give
    auto token = [&](int skip, bool wideHead) {   // skip: 0 none, 1..5 that kind of the block's five kernels
        embed(a, table);
        for (int bb = 0; bb < BLOCKS; bb++) {
            const int b = hotBlocks > 0 ? bb % hotBlocks : bb;
            if (skip != 1) group(a, bw[b]);
            if (skip != 2) step(a, Cs[b], ns[b], ms[b], bw[b].wdown);
            if (skip != 3) headnormAdd(a, bw[b]);
            if (skip != 4) gated(a, bw[b]);
            if (skip != 5) down(a, bw[b]);
        }
        if (wideHead) headWide(a, wh, hn, true);   // as the runtime's greedy loop: the head takes the arg-max
        else { head(a, wh, hn); argmax(a); }
    };
    const int perToken = 1 + 5 * BLOCKS + 1;
    stepPrefetch = getenv("LAB_NO_PREFETCH") == nullptr;
    if (getenv("LAB_QUICK") != nullptr) {   // the token only, a few times (comparing builds)
        for (int i = 0; i < 4; i++) timeGraph("token (as the runtime decodes)", perToken, [&] { token(0, true); });
        return 0;
    }
    if (getenv("LAB_HOT") != nullptr)   // 12 blocks over the weights of 1..4 blocks, which then stay in L2
        for (int hot : {1, 2, 3, 4}) {
            hotBlocks = hot;
            char name[80];
            snprintf(name, sizeof name, "token, blocks share %d blocks' weights", hot);
            timeGraph(name, perToken, [&] { token(0, true); });
        }
    hotBlocks = 0;
    timeGraph("token, group-kernel LM head + arg-max", perToken + 1, [&] { token(0, false); });
    const double full = timeGraph("token (as the runtime decodes)", perToken, [&] { token(0, true); });
    // leave one kind out of the token: what that kind costs inside the mixed chain
    const char* kinds[] = {"", "norm + projections", "mLSTM step", "headnorm + out proj", "norm + gate/up", "down + residual"};
    for (int skip = 1; skip <= 5; skip++) {
        char name[80];
        snprintf(name, sizeof name, "token without %s", kinds[skip]);
        const double us = timeGraph(name, perToken - BLOCKS, [&] { token(skip, true); });
        printf("    -> %s costs %.2f us per launch in the token\n", kinds[skip], (full - us) / BLOCKS);
    }
    // each kind in a chain of its own, and the neighbouring pairs of a block
    timeGraph("norm + 6 projections x48", R, [&] { for (int b = 0; b < R; b++) group(a, bw[b]); });
    timeGraph("mLSTM step (cols) x48", R, [&] { for (int b = 0; b < R; b++) step(a, Cs[b], ns[b], ms[b], bw[b].wdown); });
    timeGraph("headnorm + out proj + res x48", R, [&] { for (int b = 0; b < R; b++) headnormAdd(a, bw[b]); });
    timeGraph("norm + gate/up x48", R, [&] { for (int b = 0; b < R; b++) gated(a, bw[b]); });
    timeGraph("down + residual x48", R, [&] { for (int b = 0; b < R; b++) down(a, bw[b]); });
    timeGraph("group, step x24", R, [&] { for (int b = 0; b < R / 2; b++) { group(a, bw[b]); step(a, Cs[b], ns[b], ms[b], bw[b].wdown); } });
    timeGraph("step, headnorm x24", R, [&] { for (int b = 0; b < R / 2; b++) { step(a, Cs[b], ns[b], ms[b], bw[b].wdown); headnormAdd(a, bw[b]); } });
    timeGraph("headnorm, gate/up x24", R, [&] { for (int b = 0; b < R / 2; b++) { headnormAdd(a, bw[b]); gated(a, bw[b]); } });
    timeGraph("gate/up, down x24", R, [&] { for (int b = 0; b < R / 2; b++) { gated(a, bw[b]); down(a, bw[b]); } });
    timeGraph("down, group x24", R, [&] { for (int b = 0; b < R / 2; b++) { down(a, bw[b]); group(a, bw[b]); } });
    timeGraph("LM head (group kernel) x4", 4, [&] { for (int b = 0; b < 4; b++) head(a, wh, hn); });
    for (int per : {2, 3, 4, 8}) {
        wideBlocksPerSm = per;
        char name[64];
        snprintf(name, sizeof name, "wide LM head x4, %d blocks/SM", per);
        timeGraph(name, 4, [&] { for (int b = 0; b < 4; b++) headWide(a, wh, hn, false); });
    }
    wideBlocksPerSm = 4;
    timeGraph("arg-max x48", R, [&] { for (int b = 0; b < R; b++) argmax(a); });
    timeGraph("embedding x48", R, [&] { for (int b = 0; b < R; b++) embed(a, table); });
    return 0;
}
