// Backward kernels (org.xlstm.jvm.backend.GradOps on the GPU, driven by CudaGradOps): derivatives of the
// elementwise ops, norm and convolution backward, the embedding scatter-add, dropout, and the deterministic column
// reductions every parameter gradient (bias, norm weights, conv weights, skip scales) goes through.
//
// Determinism: no atomics. Sums over rows are split into chunks fixed by the row count (never by the device), each
// chunk summed by one thread in row order and the chunk's threads combined in a fixed order; the chunk partials are
// then added in chunk order by a second launch.
#include "common.cuh"

// d act(x)/dx, as org.xlstm.jvm.backend.Derivatives (torch's autograd): relu' = 0 at 0, selu's left branch holds 0.
// Activation ids follow org.xlstm.jvm.config.Activation's ordinal: GELU, RELU, RELU2, SIGMOID, SWISH, SELU.
__device__ __forceinline__ float activate_grad(int act, float x) {
    switch (act) {
        case 0:   // exact GELU: Φ(x) + x·φ(x)
            return 0.5f * (1.f + erff(x * 0.70710678118654752f)) + x * expf(-0.5f * x * x) * 0.39894228040143268f;
        case 1: return x > 0.f ? 1.f : 0.f;
        case 2: return x > 0.f ? 2.f * x : 0.f;
        case 3: { float s = sigmoidf(x); return s * (1.f - s); }
        case 4: { float s = sigmoidf(x); return s * (1.f + x * (1.f - s)); }
        default: return x > 0.f ? 1.0507009873554805f : 1.0507009873554805f * 1.6732632423543772f * expf(x);
    }
}

// ------------------------------------------------------------------------------------------- elementwise

// dx = dy ⊙ act'(x); dx may alias dy (each element is read before it is written, by the same thread).
extern "C" __global__ void xlstm_activation_backward_f32(float* dx, const float* x, const float* dy, int act, int64_t n) {
    GRID_STRIDE(i, n) {
        float g = dy[i], xv = x[i];
        // relu passes dy itself (not dy·1) where x > 0, as the CPU's blend does
        dx[i] = act == 1 ? (xv > 0.f ? g : 0.f) : g * activate_grad(act, xv);
    }
}

// y = x ⊙ act(g): dx = dy ⊙ act(g), dg = dy ⊙ x ⊙ act'(g); either output may be null or alias dy.
extern "C" __global__ void xlstm_mul_activated_backward_f32(float* dx, float* dg, const float* x, const float* g,
                                                            const float* dy, int act, int64_t n) {
    GRID_STRIDE(i, n) {
        float gy = dy[i], gv = g[i], xv = x[i];
        float a = activate(act, gv), d = activate_grad(act, gv);
        if (dx != nullptr) dx[i] = gy * a;
        if (dg != nullptr) dg[i] = gy * xv * d;
    }
}

// db[r, c] (+)= w[c]·dy[r, c]; db may alias dy.
extern "C" __global__ void xlstm_scale_columns_f32(float* db, const float* w, const float* dy, int cols, int accumulate,
                                                   int64_t n) {
    GRID_STRIDE(i, n) {
        float v = dy[i] * w[i % cols];
        db[i] = accumulate ? db[i] + v : v;
    }
}

// dx = dy·(1 − tanh²(x/cap)); dx may alias dy.
extern "C" __global__ void xlstm_softcap_backward_f32(float* dx, const float* x, const float* dy, float cap, int64_t n) {
    GRID_STRIDE(i, n) {
        float t = tanhf(x[i] / cap);
        dx[i] = dy[i] * (1.f - t * t);
    }
}

// part [rows, c] (+)= columns [offset, offset + c) of dy [rows, total].
extern "C" __global__ void xlstm_split_columns_f32(float* __restrict__ part, const float* __restrict__ dy, int c,
                                                   int total, int offset, int accumulate, int64_t n) {
    GRID_STRIDE(i, n) {
        int64_t r = i / c;
        int j = (int)(i - r * c);
        float v = dy[r * total + offset + j];
        part[i] = accumulate ? part[i] + v : v;
    }
}

// ------------------------------------------------------------------------------------------- dropout

// org.xlstm.jvm.backend.DropoutMask.keep, bit for bit: SplitMix64 of (seed, index) in wrapping 64-bit arithmetic
// (Java's long multiply and >>> are uint64_t's), the top 53 bits as a double in [0, 1), kept when u >= p.
__device__ __forceinline__ bool dropout_keep(int64_t seed, int64_t index, float p) {
    uint64_t z = (uint64_t)seed + (uint64_t)(index + 1) * 0x9E3779B97F4A7C15ull;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    z ^= z >> 31;
    double u = (double)(z >> 11) * 0x1.0p-53;
    return u >= (double)p;
}

// y = keep ? x·scale : 0 with scale = (float)(1 / (1 − p)) from the host; y may alias x.
extern "C" __global__ void xlstm_dropout_f32(float* y, const float* x, int64_t seed, float p, float scale, int64_t n) {
    GRID_STRIDE(i, n) {
        float v = x[i];
        y[i] = dropout_keep(seed, i, p) ? v * scale : 0.f;
    }
}

// ------------------------------------------------------------------------------------------- column reductions

// Stage 1 of Σ_rows f(r, c) for a [R, C] matrix: 256 threads, grid (ceil(C/32), chunks). Block (bx, k) covers
// columns [32·bx, 32·bx + 32) and rows [k·rowsPerChunk, (k+1)·rowsPerChunk): lane tx of warp ty sums rows ty, ty+8,
// … of column 32·bx + tx in order (coalesced: a warp reads 32 consecutive floats of one row), then warp 0 adds the
// 8 warps' sums in warp order. partial1[k, c] = Σ f, partial2[k, c] = Σ a (when not null) with
//   mode 0: f = a                 mode 1: f = a·b
//   mode 2: f = a·((b − mean[s])·rstd[s])      mode 3: f = a·(b·rstd[s]),     s = r·statsPerRow + c / statWidth
// (modes 2 and 3: the weight gradients of layer norm and RMS norm from the row statistics their dx kernels saved).
extern "C" __global__ void xlstm_colsum_partial_f32(float* __restrict__ partial1, float* __restrict__ partial2,
                                                    const float* __restrict__ a, const float* __restrict__ b,
                                                    const float* __restrict__ mean, const float* __restrict__ rstd,
                                                    int64_t R, int C, int rowsPerChunk, int mode, int statsPerRow,
                                                    int statWidth) {
    __shared__ float s1[8][33], s2[8][33];
    const int tx = threadIdx.x & 31, ty = threadIdx.x >> 5;
    const int c = blockIdx.x * 32 + tx;
    const int64_t r0 = (int64_t)blockIdx.y * rowsPerChunk;
    const int64_t r1 = min(R, r0 + rowsPerChunk);
    float acc1 = 0.f, acc2 = 0.f;
    if (c < C) {
        const int64_t statCol = c / statWidth;
        for (int64_t r = r0 + ty; r < r1; r += 8) {
            const int64_t i = r * C + c;
            const float av = a[i];
            float v;
            switch (mode) {
                case 0: v = av; break;
                case 1: v = av * b[i]; break;
                case 2: { int64_t s = r * statsPerRow + statCol; v = av * ((b[i] - mean[s]) * rstd[s]); break; }
                default: { int64_t s = r * statsPerRow + statCol; v = av * (b[i] * rstd[s]); break; }
            }
            acc1 += v;
            acc2 += av;
        }
    }
    s1[ty][tx] = acc1;
    s2[ty][tx] = acc2;
    __syncthreads();
    if (ty == 0 && c < C) {
        float t1 = s1[0][tx], t2 = s2[0][tx];
        for (int y = 1; y < 8; y++) {
            t1 += s1[y][tx];
            t2 += s2[y][tx];
        }
        const int64_t o = (int64_t)blockIdx.y * C + c;
        partial1[o] = t1;
        if (partial2 != nullptr) partial2[o] = t2;
    }
}

// Stage 2: out[c] += Σ_k partial[k, c], k in order (parameter gradients accumulate).
extern "C" __global__ void xlstm_colsum_finish_f32(float* __restrict__ out, const float* __restrict__ partial, int chunks,
                                                   int64_t C) {
    GRID_STRIDE(c, C) {
        float s = 0.f;
        for (int k = 0; k < chunks; k++) s += partial[(int64_t)k * C + c];
        out[c] += s;
    }
}

// ------------------------------------------------------------------------------------------- norms

// Layer-norm backward of one slice of d values per block: grid (rows, heads), slice (r, h) at ((r·heads + h)·d),
// its weights at h·d (whole-row norm: heads = 1). x̂ = (x − μ)·ρ, s = w (or 1 + w when offset, 1 when w is null),
// g = dy·s: dx = ρ·(g − mean g − x̂·mean(g·x̂)), written or added. Saves μ, ρ per slice (when mean is not null)
// for the weight gradient's column reduction. dx may be null (statistics only).
extern "C" __global__ void xlstm_layernorm_backward_f32(float* dx, float* __restrict__ meanOut,
                                                        float* __restrict__ rstdOut, const float* __restrict__ x,
                                                        const float* dy, const float* __restrict__ w, int heads, int d,
                                                        float eps, int offset, int accumulate) {
    __shared__ float red[32];
    const int64_t slice = (int64_t)blockIdx.x * heads + blockIdx.y;
    const int64_t base = slice * d;
    const float* xr = x + base;
    const float* gr = dy + base;
    const float* wr = w == nullptr ? nullptr : w + (int64_t)blockIdx.y * d;
    float s = 0.f;
    for (int c = threadIdx.x; c < d; c += blockDim.x) s += xr[c];
    const float mean = block_sum(s, red) / d;
    float v = 0.f;
    for (int c = threadIdx.x; c < d; c += blockDim.x) { float t = xr[c] - mean; v += t * t; }
    const float rstd = rsqrtf(block_sum(v, red) / d + eps);
    if (threadIdx.x == 0 && meanOut != nullptr) {
        meanOut[slice] = mean;
        rstdOut[slice] = rstd;
    }
    if (dx == nullptr) return;
    float sg = 0.f, sgx = 0.f;
    for (int c = threadIdx.x; c < d; c += blockDim.x) {
        float xh = (xr[c] - mean) * rstd;
        float sc = wr == nullptr ? 1.f : (offset ? 1.f + wr[c] : wr[c]);
        float g = gr[c] * sc;
        sg += g;
        sgx += g * xh;
    }
    const float mg = block_sum(sg, red) / d;
    const float mgx = block_sum(sgx, red) / d;
    float* dr = dx + base;
    for (int c = threadIdx.x; c < d; c += blockDim.x) {
        float xh = (xr[c] - mean) * rstd;
        float sc = wr == nullptr ? 1.f : (offset ? 1.f + wr[c] : wr[c]);
        float g = gr[c] * sc;
        float val = rstd * (g - mg - xh * mgx);
        dr[c] = accumulate ? dr[c] + val : val;
    }
}

// RMS-norm backward, one row per block: ρ = 1/√(mean x² + eps), g = dy·w (w null: 1):
// dx = ρ·(g − x·ρ²·mean(g·x)), written or added. Saves ρ per row (when rstdOut is not null); dx may be null.
extern "C" __global__ void xlstm_rmsnorm_backward_f32(float* dx, float* __restrict__ rstdOut, const float* __restrict__ x,
                                                      const float* dy, const float* __restrict__ w, int d, float eps,
                                                      int accumulate) {
    __shared__ float red[32];
    const int64_t base = (int64_t)blockIdx.x * d;
    const float* xr = x + base;
    const float* gr = dy + base;
    float s = 0.f;
    for (int c = threadIdx.x; c < d; c += blockDim.x) s += xr[c] * xr[c];
    const float rho = rsqrtf(block_sum(s, red) / d + eps);
    if (threadIdx.x == 0 && rstdOut != nullptr) rstdOut[blockIdx.x] = rho;
    if (dx == nullptr) return;
    float sgx = 0.f;
    for (int c = threadIdx.x; c < d; c += blockDim.x) sgx += gr[c] * (w == nullptr ? 1.f : w[c]) * xr[c];
    const float mgx = block_sum(sgx, red) / d;
    const float k = rho * rho * mgx;
    float* dr = dx + base;
    for (int c = threadIdx.x; c < d; c += blockDim.x) {
        float g = gr[c] * (w == nullptr ? 1.f : w[c]);
        float val = rho * (g - xr[c] * k);
        dr[c] = accumulate ? dr[c] + val : val;
    }
}

// ------------------------------------------------------------------------------------------- causal conv

// dx[b, t, f] = Σ_{j < K, t + j < S} w[f, K−1−j]·dy[b, t+j, f] (zero padding, nothing carried across sequences).
extern "C" __global__ void xlstm_conv1d_backward_dx_f32(float* __restrict__ dx, const float* __restrict__ dy,
                                                        const float* __restrict__ w, int S, int F, int K, int64_t n) {
    GRID_STRIDE(i, n) {
        int f = (int)(i % F);
        int t = (int)((i / F) % S);
        float acc = 0.f;
        for (int j = 0; j < K && t + j < S; j++) acc = fmaf(w[(int64_t)f * K + (K - 1 - j)], dy[i + (int64_t)j * F], acc);
        dx[i] = acc;
    }
}

// Stage 1 of dw[f, K−1−j] = Σ_{b, t ≥ j} dy[b, t, f]·x[b, t−j, f] and db[f] = Σ_{b, t} dy[b, t, f] over the B·S rows:
// 256 threads, grid (ceil(F/32), chunks, ceil(K/8)); blockIdx.z covers taps j in [8z, 8z + 8). Same fixed
// order as xlstm_colsum_partial_f32 (lane = feature, warp = row group). partialW [chunks, F·K] (index f·K + K−1−j), partialB [chunks, F] (z = 0 only).
extern "C" __global__ void xlstm_conv1d_backward_dw_partial_f32(float* __restrict__ partialW, float* __restrict__ partialB,
                                                                const float* __restrict__ x, const float* __restrict__ dy,
                                                                int64_t R, int S, int F, int K, int rowsPerChunk) {
    __shared__ float sw[8][8][33];
    __shared__ float sb[8][33];
    const int tx = threadIdx.x & 31, ty = threadIdx.x >> 5;
    const int f = blockIdx.x * 32 + tx;
    const int j0 = blockIdx.z * 8;
    const int64_t r0 = (int64_t)blockIdx.y * rowsPerChunk;
    const int64_t r1 = min(R, r0 + rowsPerChunk);
    float acc[8];
#pragma unroll
    for (int q = 0; q < 8; q++) acc[q] = 0.f;
    float accb = 0.f;
    if (f < F) {
        for (int64_t r = r0 + ty; r < r1; r += 8) {
            const int t = (int)(r % S);
            const float g = dy[r * F + f];
            accb += g;
#pragma unroll
            for (int q = 0; q < 8; q++) {
                const int j = j0 + q;
                if (j < K && t >= j) acc[q] += g * x[(r - j) * F + f];
            }
        }
    }
#pragma unroll
    for (int q = 0; q < 8; q++) sw[q][ty][tx] = acc[q];
    sb[ty][tx] = accb;
    __syncthreads();
    if (f >= F) return;
    // lane tx of warp ty finishes tap j0 + ty of feature f: the 8 row-group sums in order
    const int j = j0 + ty;
    if (j < K) {
        float s = sw[ty][0][tx];
        for (int y = 1; y < 8; y++) s += sw[ty][y][tx];
        partialW[(int64_t)blockIdx.y * F * K + (int64_t)f * K + (K - 1 - j)] = s;
    }
    if (ty == 0 && blockIdx.z == 0 && partialB != nullptr) {
        float s = sb[0][tx];
        for (int y = 1; y < 8; y++) s += sb[y][tx];
        partialB[(int64_t)blockIdx.y * F + f] = s;
    }
}

// ------------------------------------------------------------------------------------------- embedding

// Deterministic scatter-add dTable[tokens[r]] += dy[r]: the host sorted the positions by token (stable), so one block
// per distinct token adds its rows in position order; no two blocks touch one table row. csr = [token of each of U
// groups | U + 1 offsets into positions | positions].
extern "C" __global__ void xlstm_embedding_backward_f32(float* __restrict__ table, const float* __restrict__ dy,
                                                        const int* __restrict__ csr, int U, int d) {
    const int u = blockIdx.x;
    const int64_t tok = csr[u];
    const int p0 = csr[U + u], p1 = csr[U + u + 1];
    const int* pos = csr + 2 * U + 1;
    for (int c = blockIdx.y * blockDim.x + threadIdx.x; c < d; c += blockDim.x * gridDim.y) {
        float s = table[tok * d + c];
        for (int p = p0; p < p1; p++) s += dy[(int64_t)pos[p] * d + c];
        table[tok * d + c] = s;
    }
}
