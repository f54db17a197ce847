// Matrix-vector products for decoding, shared by gemv.cu (plain products) and decode.cu (products fused with the
// operations around them): y[r, o] = Σ_i x[r, i]·W[o, i] for a few rows r (<= GEMV_MAX_ROWS) with bfloat16 weights
// W [out, in] and float32 x. One warp reads one weight row with 16-byte loads, all of a lane's loads issued before
// any is used (a decode step is a pass over the weights: latency, not arithmetic, is the cost), and keeps the R dot
// products in registers. Kernels come in two builds: R = GEMV_MAX_ROWS, and R = 1 (batch-1 decoding: 15 fewer
// accumulators per thread, so more warps per multiprocessor keep loads in flight); `rows` <= R at run time.
#pragma once
#include "norms.cuh"

#define GEMV_MAX_ROWS 16
#define GEMV_WARPS 8
#define GEMV_MAX_VECS 8   // 16-byte weight vectors in flight per lane: one pass covers in <= 32 · 8 · 8 = 2048

/**
 * The 16-byte vectors base + lane + 32·j (j < V) of a weight row of `vecs` vectors (zero past it). A lane meets its
 * vectors lane, lane + 32, lane + 64, ... in that order whatever V is (passes of 32·V vectors), so builds with
 * fewer vectors in flight (fewer registers) sum in the same order: the same bits.
 */
template <int V = GEMV_MAX_VECS>
__device__ __forceinline__ void warp_load_weights(const __nv_bfloat16* __restrict__ w, int vecs, int base,
                                                  uint4 (&buf)[V]) {
    const int lane = threadIdx.x & 31;
    const uint4* wr = reinterpret_cast<const uint4*>(w);
#pragma unroll
    for (int j = 0; j < V; j++) {
        const int v = base + lane + 32 * j;
        buf[j] = v < vecs ? __ldg(wr + v) : make_uint4(0u, 0u, 0u, 0u);
    }
}

/**
 * acc[r] += the products of the loaded vectors with x's rows r < rows (each 8-value group summed in one expression,
 * groups in the lanes' order: the same bits in every kernel). x float32, rows 16-byte aligned, global or shared.
 */
template <int R, int V = GEMV_MAX_VECS>
__device__ __forceinline__ void warp_dot_loaded(const uint4 (&buf)[V], int vecs, int base, const float* x, int ldx,
                                                int rows, float* acc) {
    const int lane = threadIdx.x & 31;
#pragma unroll
    for (int j = 0; j < V; j++) {
        const int v = base + lane + 32 * j;
        if (v >= vecs) break;
        const __nv_bfloat16* wb = reinterpret_cast<const __nv_bfloat16*>(&buf[j]);
        float wf[8];
#pragma unroll
        for (int k = 0; k < 8; k++) wf[k] = __bfloat162float(wb[k]);
        const int i0 = v << 3;
#pragma unroll
        for (int r = 0; r < R; r++) {
            if (r < rows) {
                const float4* xr = reinterpret_cast<const float4*>(x + (int64_t)r * ldx + i0);
                float4 a = xr[0], b = xr[1];
                acc[r] += a.x * wf[0] + a.y * wf[1] + a.z * wf[2] + a.w * wf[3]
                        + b.x * wf[4] + b.y * wf[5] + b.z * wf[6] + b.w * wf[7];
            }
        }
    }
}

/** acc[r] += Σ_i x[r·ldx + i]·w[i] over in (a multiple of 8) for r < rows, by one warp, in passes of 2048. */
template <int R>
__device__ __forceinline__ void warp_dots(const __nv_bfloat16* __restrict__ w, const float* x, int ldx, int rows,
                                          int in, float* acc) {
    const int vecs = in >> 3;
    for (int base = 0; base < vecs; base += 32 * GEMV_MAX_VECS) {
        uint4 buf[GEMV_MAX_VECS];
        warp_load_weights(w, vecs, base, buf);
        warp_dot_loaded<R>(buf, vecs, base, x, ldx, rows, acc);
    }
}

/**
 * As warp_dots for a kernel launched dependently (CudaKernel.launchDependent): the first pass's weights are
 * requested, then pdl_wait() (x is the previous kernel's output), then the products. Every caller of a launch that
 * reaches this must not have read or written the previous kernel's data before.
 */
template <int R>
__device__ __forceinline__ void warp_dots_dependent(const __nv_bfloat16* __restrict__ w, const float* x, int ldx,
                                                    int rows, int in, float* acc) {
    const int vecs = in >> 3;
    uint4 buf[GEMV_MAX_VECS];
    warp_load_weights(w, vecs, 0, buf);
    pdl_wait();
    pdl_trigger();
    warp_dot_loaded<R>(buf, vecs, 0, x, ldx, rows, acc);
    for (int base = 32 * GEMV_MAX_VECS; base < vecs; base += 32 * GEMV_MAX_VECS) {
        warp_load_weights(w, vecs, base, buf);
        warp_dot_loaded<R>(buf, vecs, base, x, ldx, rows, acc);
    }
}

/** acc[r] += the products of the weight vectors past the first pass of V (loaded and used pass by pass). */
template <int R, int V>
__device__ __forceinline__ void warp_dots_rest(const __nv_bfloat16* __restrict__ w, const float* x, int ldx, int rows,
                                               int vecs, float* acc) {
    for (int base = 32 * V; base < vecs; base += 32 * V) {
        uint4 buf[V];
        warp_load_weights<V>(w, vecs, base, buf);
        warp_dot_loaded<R, V>(buf, vecs, base, x, ldx, rows, acc);
    }
}

/** y[r·out + o] = warp sum of acc[r] (+ bias[o]) by lane 0, through `finish(r, value)`. */
template <int R, class Finish>
__device__ __forceinline__ void warp_finish(const float* acc, int rows, Finish finish) {
    const int lane = threadIdx.x & 31;
#pragma unroll
    for (int r = 0; r < R; r++) {
        if (r < rows) {
            float s = warp_sum(acc[r]);
            if (lane == 0) finish(r, s);
        }
    }
}

/**
 * Copies n4 16-byte vectors from src (global) to dst (shared) with the whole block, each thread issuing up to four
 * loads before it stores any (one round trip for a decode step's few rows).
 */
__device__ __forceinline__ void stage_vectors(const float* __restrict__ src, int n4, float* dst) {
    const float4* s = reinterpret_cast<const float4*>(src);
    float4* d = reinterpret_cast<float4*>(dst);
    const int nt = blockDim.x;
    for (int v0 = threadIdx.x; v0 < n4; v0 += 4 * nt) {
        float4 t[4];
#pragma unroll
        for (int u = 0; u < 4; u++)
            if (v0 + u * nt < n4) t[u] = s[v0 + u * nt];
#pragma unroll
        for (int u = 0; u < 4; u++)
            if (v0 + u * nt < n4) d[v0 + u * nt] = t[u];
    }
}

/** p[4v .. 4v+3] as a vector (scalar loads: p need not be 16-byte aligned), or four times dflt when p is null. */
__device__ __forceinline__ float4 load4_or(const float* __restrict__ p, int v, float dflt) {
    if (p == nullptr) return make_float4(dflt, dflt, dflt, dflt);
    return make_float4(p[4 * v], p[4 * v + 1], p[4 * v + 2], p[4 * v + 3]);
}

/** Floats of rmsnorm_rows_block's statistics rs for `rows` of `in` (even: what follows stays 8-byte aligned). */
__host__ __device__ inline int rms_stats_floats(int rows, int in) {
    const int n = rows > (in + 127) / 128 ? rows : (in + 127) / 128;
    return (n + 1) & ~1;
}

/**
 * The rows of x [rows, in] normalised as xlstm_rmsnorm_f32 normalises them, bit for bit, into shared xs [rows, in],
 * by the whole block. One row of at most one 16-byte vector per thread (in <= 4 · blockDim): every thread loads its
 * vector, each warp sums the squares of its 128 elements from registers (norms.cuh's order) into shared memory, one
 * barrier, every thread adds the warps' sums in order and scales its vector into xs. Else every thread copies
 * vectors of x (all rows in one round of loads), one warp per row reduces it from shared memory in the same order,
 * and every thread scales its vectors. rs: shared, rms_stats_floats(rows, in) floats (per row, or the one-row path's
 * per-128-element sums). Call after pdl_wait() with every thread of the block (blockDim a
 * multiple of 32); ends in a barrier. x 16-byte aligned, in % 4 == 0.
 */
__device__ __forceinline__ void rmsnorm_rows_block(const float* __restrict__ x, const float* __restrict__ nw,
                                                   const float* __restrict__ nb, float eps, int rows, int in,
                                                   float* xs, float* rs) {
    const int tid = threadIdx.x, nt = blockDim.x, in4 = in >> 2;
    if (rows == 1 && in4 <= nt) {
        // one vector per thread (more would cost registers, and with them the blocks that start beside the
        // previous kernel: measured slower)
        const bool mine = tid < in4;
        const float4 t = mine ? reinterpret_cast<const float4*>(x)[tid] : make_float4(0.f, 0.f, 0.f, 0.f);
        const float4 w = load4_or(nw, mine ? tid : 0, 1.f), b = load4_or(nb, mine ? tid : 0, 0.f);   // arrive meanwhile
        if ((tid & ~31) < in4) {   // warps holding vectors: the whole warp sums (lanes past in4 add 0)
            const float s = warp_sum(sq4(t.x, t.y, t.z, t.w));
            if ((tid & 31) == 0) rs[tid >> 5] = s;
        }
        __syncthreads();
        float ss = 0.f;
        for (int g = 0; g < (in4 + 31) >> 5; g++) ss += rs[g];
        const float r = rms_rinv(ss, in, eps);
        if (mine)
            reinterpret_cast<float4*>(xs)[tid] = make_float4(rms_apply(t.x, r, w.x, b.x), rms_apply(t.y, r, w.y, b.y),
                                                             rms_apply(t.z, r, w.z, b.z), rms_apply(t.w, r, w.w, b.w));
        __syncthreads();
        return;
    }
    stage_vectors(x, rows * in4, xs);
    // this thread's first vector of norm weights, requested now: it arrives while the rows are reduced
    const float4 w0 = load4_or(nw, tid < in4 ? tid : 0, 1.f), b0 = load4_or(nb, tid < in4 ? tid : 0, 0.f);
    __syncthreads();
    for (int r = tid >> 5; r < rows; r += nt >> 5) {
        const float s = rms_rinv_warp(xs + r * in, in, eps);
        if ((tid & 31) == 0) rs[r] = s;
    }
    __syncthreads();
    for (int v = tid; v < in4; v += nt) {
        const float4 w = v == tid ? w0 : load4_or(nw, v, 1.f), b = v == tid ? b0 : load4_or(nb, v, 0.f);
        for (int r = 0; r < rows; r++) {
            float4* p = reinterpret_cast<float4*>(xs + r * in) + v;
            float4 e = *p;
            const float s = rs[r];
            e.x = rms_apply(e.x, s, w.x, b.x);
            e.y = rms_apply(e.y, s, w.y, b.y);
            e.z = rms_apply(e.z, s, w.z, b.z);
            e.w = rms_apply(e.w, s, w.w, b.w);
            *p = e;
        }
    }
    __syncthreads();
}

/**
 * What headnorm_gated_rows_block needs of thread t's first vector (channels 4t .. 4t+3) besides h: its norm scales and
 * biases (constants, so a dependently launched kernel may request them before pdl_wait()) and row 0's gate values.
 */
struct HeadnormFirst {
    float4 sc, bi, g;
};

/** The constants of this thread's first vector (the gate values are set by the caller). in % 4 == 0. */
__device__ __forceinline__ HeadnormFirst headnorm_first(const float* __restrict__ nw, const float* __restrict__ nb,
                                                        int offset, int in) {
    const int v0 = (int)threadIdx.x < (in >> 2) ? (int)threadIdx.x : 0;
    HeadnormFirst f;
    f.sc = make_float4(layernorm_scale(nw, 4 * v0, offset), layernorm_scale(nw, 4 * v0 + 1, offset),
                       layernorm_scale(nw, 4 * v0 + 2, offset), layernorm_scale(nw, 4 * v0 + 3, offset));
    f.bi = load4_or(nb, v0, 0.f);
    f.g = make_float4(0.f, 0.f, 0.f, 0.f);
    return f;
}

/** Row 0's gate values of this thread's first vector. */
__device__ __forceinline__ float4 headnorm_first_gate(const float* __restrict__ og, int in) {
    const int v0 = (int)threadIdx.x < (in >> 2) ? (int)threadIdx.x : 0;
    return make_float4(og[4 * v0], og[4 * v0 + 1], og[4 * v0 + 2], og[4 * v0 + 3]);
}

__device__ __forceinline__ float lane4(float4 v, int q) { return q == 0 ? v.x : q == 1 ? v.y : q == 2 ? v.z : v.w; }

/**
 * The rows of h [rows, in] head-layer-normalised (heads segments of in / heads) and multiplied by act(og), as
 * xlstm_headnorm_f32 then xlstm_mul_activated_f32 compute them (bit for bit), into shared xs [rows, in], by the
 * whole block: h staged in one round of loads, one warp per (row, head) segment reducing it from shared memory
 * (layernorm_stats_warp) into st[2·segment] (mean) and st[2·segment + 1] (rstd), then every thread scales and gates
 * its vectors, its first one from `first` (requested by the caller, before pdl_wait() where it may). Call after
 * pdl_wait() with every thread of the block; ends in a barrier. h 16-byte aligned, in % 4 == 0.
 */
__device__ __forceinline__ void headnorm_gated_rows_block(const float* __restrict__ h, const float* __restrict__ og,
                                                          const HeadnormFirst& first, const float* __restrict__ nw,
                                                          const float* __restrict__ nb, float eps, int offset, int act,
                                                          int heads, int rows, int in, float* xs, float* st) {
    const int tid = threadIdx.x, nt = blockDim.x, in4 = in >> 2, dh = in / heads, segs = rows * heads;
    stage_vectors(h, rows * in4, xs);
    __syncthreads();
    for (int seg = tid >> 5; seg < segs; seg += nt >> 5) {
        float mean, rstd;
        layernorm_stats_warp(xs + seg * dh, dh, eps, mean, rstd);
        if ((tid & 31) == 0) {
            st[2 * seg] = mean;
            st[2 * seg + 1] = rstd;
        }
    }
    __syncthreads();
    for (int v = tid; v < in4; v += nt) {
        float sc[4], bi[4];
        int hd[4];
#pragma unroll
        for (int q = 0; q < 4; q++) {
            const int c = 4 * v + q;
            sc[q] = v == tid ? lane4(first.sc, q) : layernorm_scale(nw, c, offset);
            bi[q] = v == tid ? lane4(first.bi, q) : nb == nullptr ? 0.f : nb[c];
            hd[q] = c / dh;
        }
        for (int r = 0; r < rows; r++) {
            const float* orow = og + (int64_t)r * in;
            float* xr = xs + r * in;
#pragma unroll
            for (int q = 0; q < 4; q++) {
                const int c = 4 * v + q, seg = r * heads + hd[q];
                const float gv = r == 0 && v == tid ? lane4(first.g, q) : orow[c];
                const float y = layernorm_apply(xr[c], st[2 * seg], st[2 * seg + 1], sc[q], bi[q]);
                xr[c] = y * activate(act, gv);
            }
        }
    }
    __syncthreads();
}

/**
 * One (row, head) segment of h normalised as xlstm_headnorm_f32 does, then times act(gate) as
 * xlstm_mul_activated_f32 does, by one warp (each lane scales the elements it wrote); y may be shared memory.
 */
__device__ __forceinline__ void headnorm_gated_segment(const float* xr, const float* orow, float* yr, int head, int dh,
                                                       const float* __restrict__ w, const float* __restrict__ bias,
                                                       float eps, int offset, int act) {
    headnorm_segment(xr, yr, head, dh, w, bias, eps, offset);
    for (int c = threadIdx.x & 31; c < dh; c += 32) yr[c] = yr[c] * activate(act, orow[c]);
}
