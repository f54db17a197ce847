// Decoding kernels that fuse a matrix-vector product (gemv.cuh) with the operations around it, so that a step of
// an xLSTM-7B block launches 6 kernels instead of 15 (Ops.rmsNormLinears, headNormGatedLinearAdd,
// rmsNormGatedLinear, linearAdd; the mLSTM step itself is two). Each computes exactly what the separate kernels
// compute, in the same float order (norms as norms.cu, products as gemv.cu, epilogues as elementwise.cu), so fused
// and unfused steps agree bit for bit. Rows r < rows <= R (R = GEMV_MAX_ROWS, or 1 in the "_r1" builds); in % 8 == 0.
// Kernels with a prologue (a norm of the input) first issue their weight loads (in <= 2048: one pass), then compute
// the prologue with the whole block into dynamic shared memory while the weights arrive: rows · in floats of
// normalised input, then the norm's per-row (rows floats) or per-segment (2 · rows · heads floats) statistics. All are
// launched dependently (CudaKernel.launchDependent): weights and biases are requested (and the norm weights asked
// into L2) before pdl_wait(), so they stream in while the previous kernel finishes; after it, the critical path is
// one round of loads of the input, reductions in shared memory, the products and the warp sums.
#include "gemv.cuh"

// The batch-1 builds of the kernels with a prologue keep 4 weight vectors per lane in flight (in <= 1024 in the one
// pass issued before the prologue; CudaOps sends wider inputs to the general build): half the registers of 8, so
// that more of the grid is resident beside the previous kernel and requests its weights early. Same sums, same bits.
#define R1_VECS 4

// ---------------------------------------------------------------------------------------------------------------
// Up to 6 products of rmsNorm(x) (the projections of an mLSTM layer), outputs j >= capFrom soft-capped:
// y = cap·tanh(y/cap) when cap > 0. Warps numbered over the outputs of all products together.
#define NORM_GROUP_PARAMS                                                                                          \
    float *y0, float *y1, float *y2, float *y3, float *y4, float *y5, const __nv_bfloat16 *w0,                     \
        const __nv_bfloat16 *w1, const __nv_bfloat16 *w2, const __nv_bfloat16 *w3, const __nv_bfloat16 *w4,       \
        const __nv_bfloat16 *w5, const float *b0, const float *b1, const float *b2, const float *b3,               \
        const float *b4, const float *b5, int o0, int o1, int o2, int o3, int o4, int o5,                          \
        const float *__restrict__ x, const float *__restrict__ nw, const float *__restrict__ nb, float eps,        \
        float cap, int capFrom, int rows, int in
#define NORM_GROUP_ARGS \
    y0, y1, y2, y3, y4, y5, w0, w1, w2, w3, w4, w5, b0, b1, b2, b3, b4, b5, o0, o1, o2, o3, o4, o5, x, nw, nb, eps, cap, capFrom, rows, in

template <int R, int V>
__device__ __forceinline__ void gemv_rmsnorm_group(NORM_GROUP_PARAMS) {
    extern __shared__ __align__(16) unsigned char smem[];
    float* xs = reinterpret_cast<float*>(smem);
    float* rs = xs + rows * in;
    int o = blockIdx.x * GEMV_WARPS + (threadIdx.x >> 5), j = 6;
    float* y = nullptr; const __nv_bfloat16* w = nullptr; const float* bias = nullptr; int out = 0;
    if (o < o0) { j = 0; y = y0; w = w0; bias = b0; out = o0; }
    else if ((o -= o0) < o1) { j = 1; y = y1; w = w1; bias = b1; out = o1; }
    else if ((o -= o1) < o2) { j = 2; y = y2; w = w2; bias = b2; out = o2; }
    else if ((o -= o2) < o3) { j = 3; y = y3; w = w3; bias = b3; out = o3; }
    else if ((o -= o3) < o4) { j = 4; y = y4; w = w4; bias = b4; out = o4; }
    else if ((o -= o4) < o5) { j = 5; y = y5; w = w5; bias = b5; out = o5; }
    const int vecs = in >> 3;
    const __nv_bfloat16* wrow = w == nullptr ? w0 : w + (int64_t)o * in;
    uint4 buf[V];
    warp_load_weights<V>(wrow, j < 6 ? vecs : 0, 0, buf);
    const float bo = j < 6 && bias != nullptr ? __ldg(bias + o) : 0.f;
    prefetch_l2_block(nw, in);
    prefetch_l2_block(nb, in);
    pdl_wait();
    pdl_trigger();
    rmsnorm_rows_block(x, nw, nb, eps, rows, in, xs, rs);   // every thread: it ends in a barrier
    if (j == 6) return;
    float acc[R] = {};
    warp_dot_loaded<R, V>(buf, vecs, 0, xs, in, rows, acc);
    warp_dots_rest<R, V>(wrow, xs, in, rows, vecs, acc);
    const bool capped = j >= capFrom && cap > 0.f;
    warp_finish<R>(acc, rows, [&](int r, float s) {
        float v = s + bo;
        y[(int64_t)r * out + o] = capped ? cap * tanhf(v / cap) : v;
    });
}

extern "C" __global__ void xlstm_gemv_rmsnorm_group(NORM_GROUP_PARAMS) {
    gemv_rmsnorm_group<GEMV_MAX_ROWS, GEMV_MAX_VECS>(NORM_GROUP_ARGS);
}

extern "C" __global__ void xlstm_gemv_rmsnorm_group_r1(NORM_GROUP_PARAMS) { gemv_rmsnorm_group<1, R1_VECS>(NORM_GROUP_ARGS); }

// ---------------------------------------------------------------------------------------------------------------
// A wide product of one normalised row (an LM head at batch 1): y[o] = rmsNorm(x)·W[o] + b[o], soft-capped when
// cap > 0, for many more rows than the grid has warps. The group kernel above gives every 8 rows a block of their
// own, so an LM head of 50,304 rows is ~12 waves of blocks that each normalise x again and start with no weights in
// flight; here a grid that fits at once normalises x once per block and its warps walk the rows o, o + warps, ...,
// each row's weights requested before the previous row is summed. Per row the same loads, order and epilogue as
// xlstm_gemv_rmsnorm_group_r1: the same bits. keys != null (greedy decoding): the block's largest argmax_key of the
// values it wrote goes into keys[0] by atomicMax, so the greedy step needs no arg-max pass over the logits.
// in % 8 == 0, in <= 1024 (one pass of WIDE_VECS vectors per lane); dynamic shared memory in + rms_stats_floats(1, in)
// floats and then GEMV_WARPS 8-byte keys.
#define WIDE_VECS 4

#define WIDE_PARAMS                                                                                                \
    float *__restrict__ y, const __nv_bfloat16 *__restrict__ w, const float *__restrict__ bias, int out,           \
        const float *__restrict__ x, const float *__restrict__ nw, const float *__restrict__ nb, float eps,         \
        float cap, int in, unsigned long long *__restrict__ keys
#define WIDE_ARGS y, w, bias, out, x, nw, nb, eps, cap, in, keys

// V vectors per lane per row (in <= 256·V), A rows per warp in flight beyond the one being summed.
template <int V, int A>
__device__ __forceinline__ void gemv_rmsnorm_wide(WIDE_PARAMS) {
    extern __shared__ __align__(16) unsigned char smem[];
    float* xs = reinterpret_cast<float*>(smem);
    float* rs = xs + in;
    auto* best = reinterpret_cast<unsigned long long*>(rs + rms_stats_floats(1, in));   // GEMV_WARPS keys, 8-byte aligned
    const int warps = gridDim.x * GEMV_WARPS, lane = threadIdx.x & 31, warp = threadIdx.x >> 5, vecs = in >> 3;
    int o = blockIdx.x * GEMV_WARPS + warp;
    uint4 buf[A + 1][V];
#pragma unroll
    for (int a = 0; a < A; a++) {
        const int r = o + a * warps;
        warp_load_weights<V>(w + (int64_t)(r < out ? r : 0) * in, r < out ? vecs : 0, 0, buf[a]);
    }
    prefetch_l2_block(nw, in);
    prefetch_l2_block(nb, in);
    pdl_wait();
    pdl_trigger();
    rmsnorm_rows_block(x, nw, nb, eps, 1, in, xs, rs);   // every thread: it ends in a barrier
    unsigned long long key = 0ull;
    for (; o < out; o += warps) {
        const int on = o + A * warps;
        warp_load_weights<V>(w + (int64_t)(on < out ? on : 0) * in, on < out ? vecs : 0, 0, buf[A]);
        float acc[1] = {0.f};
        warp_dot_loaded<1, V>(buf[0], vecs, 0, xs, in, 1, acc);
        const float s = warp_sum(acc[0]);
        if (lane == 0) {
            const float v = s + (bias == nullptr ? 0.f : __ldg(bias + o));
            const float c = cap > 0.f ? cap * tanhf(v / cap) : v;
            y[o] = c;
            const unsigned long long k = argmax_key(c, o);
            key = k > key ? k : key;
        }
#pragma unroll
        for (int a = 0; a < A; a++)
#pragma unroll
            for (int j = 0; j < V; j++) buf[a][j] = buf[a + 1][j];
    }
    if (keys == nullptr) return;
    if (lane == 0) best[warp] = key;
    __syncthreads();
    if (threadIdx.x == 0) {
        for (int i = 1; i < GEMV_WARPS; i++) key = best[i] > key ? best[i] : key;
        if (key != 0ull) atomicMax(keys, key);
    }
}

extern "C" __global__ void __launch_bounds__(GEMV_WARPS * 32) xlstm_gemv_rmsnorm_wide_r1(WIDE_PARAMS) {
    gemv_rmsnorm_wide<WIDE_VECS, 1>(WIDE_ARGS);
}

// ---------------------------------------------------------------------------------------------------------------
// y = act(rmsNorm(x)·Wgᵀ + bg) ⊙ (rmsNorm(x)·Wuᵀ + bu): a gated feed-forward's first half, one warp per hidden unit
// computing both of its products.
#define NORM_GATED_PARAMS                                                                                          \
    float *__restrict__ y, const __nv_bfloat16 *__restrict__ wg, const __nv_bfloat16 *__restrict__ wu,             \
        const float *__restrict__ bg, const float *__restrict__ bu, int out, const float *__restrict__ x,          \
        const float *__restrict__ nw, const float *__restrict__ nb, float eps, int act, int rows, int in
#define NORM_GATED_ARGS y, wg, wu, bg, bu, out, x, nw, nb, eps, act, rows, in

template <int R, int V>
__device__ __forceinline__ void gemv_rmsnorm_gated(NORM_GATED_PARAMS) {
    extern __shared__ __align__(16) unsigned char smem[];
    float* xs = reinterpret_cast<float*>(smem);
    float* rs = xs + rows * in;
    const int o = blockIdx.x * GEMV_WARPS + (threadIdx.x >> 5), vecs = o < out ? in >> 3 : 0;
    const int oc = o < out ? o : 0;
    uint4 bufg[V], bufu[V];
    warp_load_weights<V>(wg + (int64_t)oc * in, vecs, 0, bufg);
    warp_load_weights<V>(wu + (int64_t)oc * in, vecs, 0, bufu);
    const float bgo = bg == nullptr ? 0.f : __ldg(bg + oc), buo = bu == nullptr ? 0.f : __ldg(bu + oc);
    prefetch_l2_block(nw, in);
    prefetch_l2_block(nb, in);
    pdl_wait();
    if (R != 1) pdl_trigger();
    rmsnorm_rows_block(x, nw, nb, eps, rows, in, xs, rs);
    if (o >= out) return;
    float ag[R] = {}, au[R] = {};
    warp_dot_loaded<R, V>(bufg, vecs, 0, xs, in, rows, ag);
    warp_dot_loaded<R, V>(bufu, vecs, 0, xs, in, rows, au);
    warp_dots_rest<R, V>(wg + (int64_t)o * in, xs, in, rows, vecs, ag);
    warp_dots_rest<R, V>(wu + (int64_t)o * in, xs, in, rows, vecs, au);
    // batch 1 lets the next kernel (the down projection) start only now: started at the wait, its 3 MB of weights
    // came in beside this kernel's 6 MB and delayed them (decode lab, H200, feed-forward 2,048 wide: the token
    // 225.7 -> 217.6 µs)
    if (R == 1) pdl_trigger();
    const int lane = threadIdx.x & 31;
#pragma unroll
    for (int r = 0; r < R; r++) {
        if (r < rows) {
            float g = warp_sum(ag[r]), u = warp_sum(au[r]);
            if (lane == 0) {
                g += bgo;
                u += buo;
                y[(int64_t)r * out + o] = u * activate(act, g);
            }
        }
    }
}

extern "C" __global__ void xlstm_gemv_rmsnorm_gated(NORM_GATED_PARAMS) {
    gemv_rmsnorm_gated<GEMV_MAX_ROWS, GEMV_MAX_VECS>(NORM_GATED_ARGS);
}

extern "C" __global__ void xlstm_gemv_rmsnorm_gated_r1(NORM_GATED_PARAMS) { gemv_rmsnorm_gated<1, R1_VECS>(NORM_GATED_ARGS); }

// ---------------------------------------------------------------------------------------------------------------
// y = (x·Wᵀ + b) + residual (y may alias residual: each element is read and written by the same lane).
// The batch-1 build stages x in shared memory once per block (dynamic shared memory: in floats) where every warp of
// the general build reads all of x from L2 (8 warps × 8 KB per block for a 2,048-wide input), and requests its
// residual element before pdl_wait(): Ops.linearAdd's contract is that the kernel just before it does not write the
// residual (in a decode step its writer is two kernels back, and complete once this kernel runs; common.cuh).
// Same loads of weights, same summation order: the same bits. Measured in the decode lab (H200): 3.03 -> 2.33 µs.
#define ADD_PARAMS                                                                                                 \
    float *y, const __nv_bfloat16 *__restrict__ w, const float *__restrict__ bias, const float *residual,          \
        const float *__restrict__ x, int rows, int in, int out
#define ADD_ARGS y, w, bias, residual, x, rows, in, out

template <int R, int V = GEMV_MAX_VECS>
__device__ __forceinline__ void gemv_add(ADD_PARAMS) {
    const int o = blockIdx.x * GEMV_WARPS + (threadIdx.x >> 5);
    if (R == 1) {
        extern __shared__ __align__(16) unsigned char smem[];
        float* xs = reinterpret_cast<float*>(smem);
        const int oc = o < out ? o : 0, vecs = o < out ? in >> 3 : 0;
        uint4 buf[V];
        warp_load_weights<V>(w + (int64_t)oc * in, vecs, 0, buf);
        const float bo = bias == nullptr ? 0.f : __ldg(bias + oc);
        const float res0 = residual[oc];
        pdl_wait();
        stage_vectors(x, in >> 2, xs);
        __syncthreads();
        // the next kernel starts once x is staged (at the wait: ~1 µs slower per token in the decode lab, H200)
        pdl_trigger();
        if (o >= out) return;
        float acc[1] = {0.f};
        warp_dot_loaded<1, V>(buf, vecs, 0, xs, in, 1, acc);
        warp_dots_rest<1, V>(w + (int64_t)o * in, xs, in, 1, vecs, acc);
        warp_finish<1>(acc, 1, [&](int, float s) { y[o] = (s + bo) + res0; });
        return;
    }
    if (o >= out) return;
    const float bo = bias == nullptr ? 0.f : __ldg(bias + o);
    float acc[R] = {};
    warp_dots_dependent<R>(w + (int64_t)o * in, x, in, rows, in, acc);
    warp_finish<R>(acc, rows, [&](int r, float s) {
        const int64_t at = (int64_t)r * out + o;
        y[at] = (s + bo) + residual[at];
    });
}

extern "C" __global__ void xlstm_gemv_add(ADD_PARAMS) { gemv_add<GEMV_MAX_ROWS>(ADD_ARGS); }

extern "C" __global__ void xlstm_gemv_add_r1(ADD_PARAMS) { gemv_add<1>(ADD_ARGS); }

// Inputs of 2,049 .. 2,304 (the xLSTM-7B architecture's feed-forward at D = 768 is 2,112 wide): a ninth weight
// vector per lane requested before the wait, where the build above loads it after (72 registers against 64, which
// costs more than it gains at 2,048). Same order, same bits.
extern "C" __global__ void xlstm_gemv_add_r1_v9(ADD_PARAMS) { gemv_add<1, 9>(ADD_ARGS); }

// ---------------------------------------------------------------------------------------------------------------
// An mLSTM layer's output: y = (headLayerNorm(h) ⊙ act(o))·Wᵀ + b + residual, the gated rows computed into shared
// memory by the block (headnorm_gated_rows_block) while the weights arrive. y may alias residual.
#define HEADNORM_ADD_PARAMS                                                                                        \
    float *y, const __nv_bfloat16 *__restrict__ w, const float *__restrict__ bias, const float *residual,          \
        const float *__restrict__ h, const float *__restrict__ og, const float *__restrict__ nw,                   \
        const float *__restrict__ nb, float eps, int offset, int act, int heads, int rows, int in, int out
#define HEADNORM_ADD_ARGS y, w, bias, residual, h, og, nw, nb, eps, offset, act, heads, rows, in, out

template <int R, int V>
__device__ __forceinline__ void gemv_headnorm_gated_add(HEADNORM_ADD_PARAMS) {
    extern __shared__ __align__(16) unsigned char smem[];
    float* xs = reinterpret_cast<float*>(smem);
    float* st = xs + rows * in;
    const int o = blockIdx.x * GEMV_WARPS + (threadIdx.x >> 5), vecs = o < out ? in >> 3 : 0;
    const int oc = o < out ? o : 0;
    uint4 buf[V];
    warp_load_weights<V>(w + (int64_t)oc * in, vecs, 0, buf);
    const float bo = bias == nullptr ? 0.f : __ldg(bias + oc);
    HeadnormFirst first = headnorm_first(nw, nb, offset, in);   // constants: before the wait
    prefetch_l2_block(nw, in);
    prefetch_l2_block(nb, in);
    // batch 1: the residual and the first gate values requested before the wait (Ops.headNormGatedLinearAdd: the
    // kernel just before this one writes neither, and every kernel before that one is complete once this one runs)
    const float res0 = R == 1 ? residual[oc] : 0.f;
    if (R == 1) first.g = headnorm_first_gate(og, in);
    // batch 1 lets the next kernel start before this one waits (the one exception to common.cuh's rule): in a
    // decode step that is the feed-forward's gate/up kernel, which reads only weights before its wait, and whose
    // 6 MB then stream in during the mLSTM step's tail (decode lab, H200: the token 213.0 -> 210.1 µs). Contract on
    // Ops.headNormGatedLinearAdd.
    if (R == 1) pdl_trigger();
    pdl_wait();
    if (R != 1) pdl_trigger();
    if (R != 1) first.g = headnorm_first_gate(og, in);
    headnorm_gated_rows_block(h, og, first, nw, nb, eps, offset, act, heads, rows, in, xs, st);
    if (o >= out) return;
    float acc[R] = {};
    warp_dot_loaded<R, V>(buf, vecs, 0, xs, in, rows, acc);
    warp_dots_rest<R, V>(w + (int64_t)o * in, xs, in, rows, vecs, acc);
    warp_finish<R>(acc, rows, [&](int r, float s) {
        const int64_t at = (int64_t)r * out + o;
        y[at] = (s + bo) + (R == 1 ? res0 : residual[at]);
    });
}

extern "C" __global__ void xlstm_gemv_headnorm_gated_add(HEADNORM_ADD_PARAMS) {
    gemv_headnorm_gated_add<GEMV_MAX_ROWS, GEMV_MAX_VECS>(HEADNORM_ADD_ARGS);
}

extern "C" __global__ void xlstm_gemv_headnorm_gated_add_r1(HEADNORM_ADD_PARAMS) {
    gemv_headnorm_gated_add<1, R1_VECS>(HEADNORM_ADD_ARGS);
}

// ---------------------------------------------------------------------------------------------------------------
// y = headLayerNorm(h) ⊙ act(o), per (row, head) segment of dh values, one warp each (xlstm_headnorm_f32 then
// xlstm_mul_activated_f32 in one kernel). segments = rows · heads; y distinct from h.
extern "C" __global__ void xlstm_headnorm_gated(float* y, const float* h, const float* __restrict__ w,
                                                const float* __restrict__ bias, const float* __restrict__ og, int act,
                                                int heads, int dh, float eps, int offset, int64_t segments) {
    pdl_wait();
    pdl_trigger();
    const int64_t seg = (int64_t)blockIdx.x * GEMV_WARPS + (threadIdx.x >> 5);
    if (seg >= segments) return;
    headnorm_gated_segment(h + seg * dh, og + seg * dh, y + seg * dh, (int)(seg % heads), dh, w, bias, eps, offset, act);
}
