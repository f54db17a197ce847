// Backward of the chunkwise mLSTM cell from the zero state (GradOps.mlstmChunkwiseBackward), float32, one block per
// (batch, head): the CPU engine's algorithm (backend/cpu/MlstmBackward.java) step for step — chunk-start states
// recomputed as the forward does, chunks walked last to first carrying dC, dn and the stabiliser's gradient dm,
// rows of a chunk one after another — with the threads of the block sharing each step's vector work. Stabilisers are
// differentiated as computed (ties split in half), gate logs kept in double, as on the CPU.
#include "common.cuh"

__device__ __forceinline__ double share_of(double self, double other) {
    return self > other ? 1.0 : (self == other ? 0.5 : 0.0);
}

__device__ __forceinline__ double log_sigmoid_d(double x) { return fmin(x, 0.0) - log1p(exp(-fabs(x))); }

// Scratch (per (batch, head) block, in global memory): cs [NC][DK][DV], ns [NC][DK], ms [NC], dC [DK][DV], dn [DK].
// Dynamic shared memory: 5·L doubles, then floats qc, kc [L][DK], vc, dNum [L][DV], ds, e [L][L], w, er, daF, wq [L],
// num, qcv [DV], tu [DK].
extern "C" __global__ void xlstm_mlstm_backward_seq_f32(
    const float* __restrict__ q, const float* __restrict__ k, const float* __restrict__ v,
    const float* __restrict__ ig, const float* __restrict__ fg, const float* __restrict__ dh,
    float* dq, float* dk, float* dv, float* di, float* df,
    float* csAll, float* nsAll, float* msAll, float* dCAll, float* dnAll,
    int S, int NH, int DK, int DV, int L, float m0, float eps) {
    extern __shared__ double smem[];
    __shared__ float red[32];
    __shared__ int runArgS;
    __shared__ double dmS, dmPrevS;
    double* bcum = smem;
    double* a = bcum + L;
    double* pm = a + L;
    double* dbc = pm + L;
    double* da = dbc + L;
    float* qc = (float*)(da + L);
    float* kc = qc + L * DK;
    float* vc = kc + L * DK;
    float* dNum = vc + L * DV;
    float* ds = dNum + L * DV;
    float* e = ds + L * L;
    float* w = e + L * L;
    float* er = w + L;
    float* daF = er + L;
    float* wq = daF + L;
    float* num = wq + L;
    float* qcv = num + DV;
    float* tu = qcv + DV;

    const int tid = threadIdx.x, nt = blockDim.x;
    const int b = blockIdx.x / NH, hd = blockIdx.x % NH;
    const int NC = (S + L - 1) / L;
    float* cs = csAll + (int64_t)blockIdx.x * NC * DK * DV;
    float* ns = nsAll + (int64_t)blockIdx.x * NC * DK;
    float* ms = msAll + (int64_t)blockIdx.x * NC;
    float* dC = dCAll + (int64_t)blockIdx.x * DK * DV;
    float* dn = dnAll + (int64_t)blockIdx.x * DK;
    const float scale = (float)(1.0 / sqrt((double)DK));
    auto qkOff = [&](int t) { return (((int64_t)b * S + t) * NH + hd) * DK; };
    auto vOff = [&](int t) { return (((int64_t)b * S + t) * NH + hd) * DV; };
    auto gOff = [&](int t) { return ((int64_t)b * S + t) * NH + hd; };

    // Loads chunk c (q, k̂ = k·scale, v, gate logs) into shared memory; returns its length.
    auto gather = [&](int c) -> int {
        const int t0 = c * L, len = min(L, S - t0);
        __syncthreads();
        for (int i = tid; i < len * DK; i += nt) {
            int u = i / DK, x = i % DK;
            qc[i] = q[qkOff(t0 + u) + x];
            kc[i] = k[qkOff(t0 + u) + x] * scale;
        }
        for (int i = tid; i < len * DV; i += nt) {
            int u = i / DV, x = i % DV;
            vc[i] = v[vOff(t0 + u) + x];
        }
        if (tid == 0) {
            double acc = 0, run = -INFINITY;
            for (int u = 0; u < len; u++) {
                acc += log_sigmoid_d((double)fg[gOff(t0 + u)]);
                bcum[u] = acc;
                a[u] = (double)ig[gOff(t0 + u)] - acc;
                run = fmax(run, a[u]);
                pm[u] = run;
            }
        }
        __syncthreads();
        return len;
    };

    // ---- states pass: cs[c], ns[c], ms[c] = the state before chunk c, as the forward computes it
    for (int i = tid; i < DK * DV; i += nt) cs[i] = 0.f;
    for (int i = tid; i < DK; i += nt) ns[i] = 0.f;
    if (tid == 0) ms[0] = m0;
    float m = m0;
    for (int c = 0; c < NC - 1; c++) {
        const int len = gather(c);
        const double g = bcum[len - 1];
        const double mNew = fmax(g + m, g + pm[len - 1]);
        const float decay = (float)exp(g + m - mNew);
        for (int u = tid; u < len; u += nt) w[u] = (float)exp(g + a[u] - mNew);
        __syncthreads();
        const float* Cp = cs + (int64_t)c * DK * DV;
        float* Cn = cs + (int64_t)(c + 1) * DK * DV;
        for (int i = tid; i < DK * DV; i += nt) {
            int x = i / DV, y = i % DV;
            float cv = Cp[i];
            if (decay != 1.f) cv *= decay;
            for (int u = 0; u < len; u++) cv = fmaf(kc[u * DK + x] * w[u], vc[u * DV + y], cv);
            Cn[i] = cv;
        }
        for (int x = tid; x < DK; x += nt) {
            float nv = ns[(int64_t)c * DK + x];
            if (decay != 1.f) nv *= decay;
            for (int u = 0; u < len; u++) nv += kc[u * DK + x] * w[u];
            ns[(int64_t)(c + 1) * DK + x] = nv;
        }
        m = (float)mNew;
        if (tid == 0) ms[c + 1] = m;
        __syncthreads();
    }

    // ---- chunks last to first
    for (int i = tid; i < DK * DV; i += nt) dC[i] = 0.f;
    for (int i = tid; i < DK; i += nt) dn[i] = 0.f;
    if (tid == 0) dmS = 0;
    for (int c = NC - 1; c >= 0; c--) {
        const int len = gather(c), t0 = c * L;
        const double mc = (double)ms[c];
        const float* Cp = cs + (int64_t)c * DK * DV;
        const float* Np = ns + (int64_t)c * DK;
        for (int u = tid; u < L; u += nt) { dbc[u] = 0; da[u] = 0; daF[u] = 0.f; wq[u] = 0.f; }
        if (dk != nullptr) for (int i = tid; i < len * DK; i += nt) dk[qkOff(t0 + i / DK) + i % DK] = 0.f;
        if (dv != nullptr) for (int i = tid; i < len * DV; i += nt) dv[vOff(t0 + i / DV) + i % DV] = 0.f;
        if (tid == 0) dmPrevS = 0;
        __syncthreads();
        const double g = bcum[len - 1];
        int aMax = 0;
        for (int u = 1; u < len; u++) if (a[u] > a[aMax]) aMax = u;
        const double mLoc = g + a[aMax];
        const double mNew = fmax(g + mc, mLoc);
        const float decay = (float)exp(g + mc - mNew);
        if (c < NC - 1) {
            // the state update C_end = decay·Cp + Σ_u w_u k̂_u v_uᵀ (n likewise), mNew = max(g + m, g + max a)
            float part = 0.f;
            for (int i = tid; i < DK * DV; i += nt) part = fmaf(dC[i], Cp[i], part);
            float dDecayF = block_sum(part, red);
            float partN = 0.f;
            for (int x = tid; x < DK; x += nt) partN += dn[x] * Np[x];
            double dDecay = (double)dDecayF + (double)block_sum(partN, red);
            double dg = 0, dmNew = dmS, dmPrev = 0;
            if (decay != 0.f) {
                double l = dDecay * decay;
                dg += l;
                dmPrev += l;
                dmNew -= l;
            }
            for (int u = tid; u < len; u += nt) w[u] = (float)exp(g + a[u] - mNew);
            __syncthreads();
            for (int u = 0; u < len; u++) {
                const float wu = w[u];
                for (int x = tid; x < DK; x += nt) {
                    float s = dn[x];
                    for (int y = 0; y < DV; y++) s = fmaf(dC[x * DV + y], vc[u * DV + y], s);
                    tu[x] = s;
                }
                __syncthreads();
                float pk = 0.f;
                for (int x = tid; x < DK; x += nt) pk = fmaf(tu[x], kc[u * DK + x], pk);
                double l = (double)block_sum(pk, red) * wu;
                if (dk != nullptr)
                    for (int x = tid; x < DK; x += nt) dk[qkOff(t0 + u) + x] = fmaf(wu, tu[x], dk[qkOff(t0 + u) + x]);
                if (dv != nullptr)
                    for (int y = tid; y < DV; y += nt) {
                        float s = dv[vOff(t0 + u) + y];
                        for (int x = 0; x < DK; x++) s = fmaf(dC[x * DV + y], kc[u * DK + x] * wu, s);
                        dv[vOff(t0 + u) + y] = s;
                    }
                dg += l;
                if (tid == 0) da[u] += l;
                dmNew -= l;
                __syncthreads();
            }
            const double sh0 = share_of(g + mc, mLoc);
            dg += dmNew;
            dmPrev += dmNew * sh0;
            if (tid == 0) {
                da[aMax] += dmNew * (1 - sh0);
                dbc[len - 1] += dg;
                dmPrevS = dmPrev;
            }
            __syncthreads();
            for (int i = tid; i < DK * DV; i += nt) dC[i] *= decay;
            for (int x = tid; x < DK; x += nt) dn[x] *= decay;
        } else {
            for (int i = tid; i < DK * DV; i += nt) dC[i] = 0.f;
            for (int x = tid; x < DK; x += nt) dn[x] = 0.f;
        }
        if (tid == 0) runArgS = 0;
        __syncthreads();

        // ---- outputs, one row after another
        const bool inter0 = mc != -INFINITY;
        for (int t = 0; t < len; t++) {
            if (tid == 0 && a[t] > a[runArgS]) runArgS = t;
            const double bt = bcum[t], inter = bt + mc, intra = bt + pm[t];
            const double stab = fmax(intra, inter), shift = bt - stab;
            for (int u = tid; u < L; u += nt) {
                float wu = 0.f, eu = 0.f;
                if (u <= t) {
                    float sc = 0.f;
                    for (int x = 0; x < DK; x++) sc = fmaf(kc[u * DK + x], qc[t * DK + x], sc);
                    wu = (float)exp(a[u] + shift);
                    eu = sc * wu;
                }
                w[u] = wu;
                er[u] = eu;
                e[t * L + u] = eu;
            }
            __syncthreads();
            float pe = 0.f;
            for (int u = tid; u <= t; u += nt) pe += er[u];
            float den = block_sum(pe, red);
            for (int y = tid; y < DV; y += nt) {
                float s = 0.f;
                for (int u = 0; u <= t; u++) s = fmaf(vc[u * DV + y], er[u], s);
                num[y] = s;
            }
            float wi = 0.f, qn = 0.f;
            if (inter0) {
                wi = (float)exp(inter - stab);
                float pq = 0.f;
                for (int x = tid; x < DK; x += nt) pq = fmaf(qc[t * DK + x], Np[x], pq);
                qn = block_sum(pq, red);
                den += wi * qn;
                for (int y = tid; y < DV; y += nt) {
                    float s = 0.f;
                    for (int x = 0; x < DK; x++) s = fmaf(Cp[x * DV + y], qc[t * DK + x], s);
                    qcv[y] = s;
                    num[y] = fmaf(s, wi, num[y]);
                }
            }
            const float expNeg = (float)exp(-stab);
            const float norm = fmaxf(fabsf(den), expNeg) + eps;
            const float inv = 1.f / norm;
            const float* dht = dh + vOff(t0 + t);
            float pd = 0.f;
            for (int y = tid; y < DV; y += nt) {
                float gy = dht[y];
                pd = fmaf(gy, num[y], pd);
                dNum[t * DV + y] = gy * inv;
            }
            const double dNorm = -(double)block_sum(pd, red) * inv * inv;   // includes a barrier: dNum visible
            const double shAbs = share_of(fabs((double)den), (double)expNeg);
            const float dDen = (float)(dNorm * shAbs * (den > 0.f ? 1.0 : den < 0.f ? -1.0 : 0.0));
            double dStab = -dNorm * (1 - shAbs) * expNeg;
            float pl = 0.f;
            for (int u = tid; u < L; u += nt) {
                float dsu = 0.f;
                if (u <= t) {
                    float de = dDen;
                    for (int y = 0; y < DV; y++) de = fmaf(vc[u * DV + y], dNum[t * DV + y], de);
                    float dl = de * er[u];
                    dsu = de * w[u];
                    daF[u] += dl;
                    pl += dl;
                }
                ds[t * L + u] = dsu;
            }
            const double sumDl = block_sum(pl, red);   // barrier: ds row visible
            double dbcT = sumDl;
            dStab -= sumDl;
            double dmPrevAdd = 0;
            float dwIf = 0.f;
            if (inter0 && wi != 0.f) {
                float pw = 0.f;
                for (int y = tid; y < DV; y += nt) pw = fmaf(dNum[t * DV + y], qcv[y], pw);
                dwIf = block_sum(pw, red);
            }
            for (int x = tid; x < DK; x += nt) {
                float s = 0.f;
                for (int u = 0; u <= t; u++) s = fmaf(kc[u * DK + x], ds[t * L + u], s);
                if (inter0 && wi != 0.f) {
                    float acc = Np[x] * dDen;
                    for (int y = 0; y < DV; y++) acc = fmaf(Cp[x * DV + y], dNum[t * DV + y], acc);
                    s = fmaf(acc, wi, s);
                    dn[x] += wi * qc[t * DK + x] * dDen;
                }
                if (dq != nullptr) dq[qkOff(t0 + t) + x] = s;
            }
            if (inter0 && wi != 0.f) {
                const double dwI = (double)dwIf + (double)dDen * qn;
                const double l = dwI * wi;
                dbcT += l;
                dmPrevAdd += l;
                dStab -= l;
                if (tid == 0) wq[t] = wi;
            }
            const double shIntra = share_of(intra, inter);
            if (tid == 0) {
                dbc[t] += dbcT + dStab;
                da[runArgS] += dStab * shIntra;
                dmPrevS += dmPrevAdd + dStab * (1 - shIntra);
            }
            __syncthreads();
        }
        // dCp += Σ_t wq_t q_t ⊗ dNum_t
        if (inter0)
            for (int i = tid; i < DK * DV; i += nt) {
                int x = i / DV, y = i % DV;
                float s = dC[i];
                for (int t = 0; t < len; t++) s = fmaf(dNum[t * DV + y], wq[t] * qc[t * DK + x], s);
                dC[i] = s;
            }
        // source rows: dk̂_u += Σ_{t≥u} ds[t][u]·q_t, dv_u += Σ_{t≥u} e[t][u]·dNum_t
        if (dk != nullptr)
            for (int i = tid; i < len * DK; i += nt) {
                int u = i / DK, x = i % DK;
                float s = dk[qkOff(t0 + u) + x];
                for (int t = u; t < len; t++) s = fmaf(qc[t * DK + x], ds[t * L + u], s);
                dk[qkOff(t0 + u) + x] = s * scale;
            }
        if (dv != nullptr)
            for (int i = tid; i < len * DV; i += nt) {
                int u = i / DV, y = i % DV;
                float s = dv[vOff(t0 + u) + y];
                for (int t = u; t < len; t++) s = fmaf(dNum[t * DV + y], e[t * L + u], s);
                dv[vOff(t0 + u) + y] = s;
            }
        __syncthreads();
        if (tid == 0) {
            for (int u = 0; u < len; u++) {
                da[u] += daF[u];
                dbc[u] -= da[u];
            }
            double suffix = 0;
            for (int j = len - 1; j >= 0; j--) {
                suffix += dbc[j];
                const float f = fg[gOff(t0 + j)];
                if (df != nullptr) df[gOff(t0 + j)] = (float)(suffix * (1.0 / (1.0 + exp((double)f))));
                if (di != nullptr) di[gOff(t0 + j)] = (float)da[j];
            }
            dmS = dmPrevS;
        }
        __syncthreads();
    }
}
