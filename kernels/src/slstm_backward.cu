// Backpropagation through time of the sLSTM recurrence (slstm.cu) from the zero state. Four launches per layer
// call, none per time step (org.xlstm.jvm.backend.cuda.CudaSlstmBackward drives them):
//
//   1. xlstm_slstm_bw_transpose_f32: Rt[h][g*DH + j][k] = R[h][k][g][j], so that the backward's recurrent product
//      dh_{t-1}[k] = sum_{g,j} R[h][k][g][j] * dgate[g][j] reads Rt with consecutive threads k on consecutive
//      addresses (coalesced from global memory, free of bank conflicts in shared memory).
//   2. xlstm_slstm_bw_tape_f32: the forward again, with xlstm_slstm_recurrent_f32's arithmetic to the operation
//      (same fmaf chain over k, (x + Rh) + bias, the same cell formula), keeping per step everything the backward
//      needs in the TAPE [B, S, NH, 8, DH]: slots 0-3 the gate pre-activations i, f, z, o; 4-6 the states c, n, m
//      after the step; 7 h_{t-1} (the recurrent input of the step, zero at t = 0).
//   3. xlstm_slstm_bw_f32: one block per (batch, head), one thread per hidden unit, walking t = S-1 .. 0 carrying
//      dh (from the recurrence), dc, dn, dm in registers. Each step's gate pre-activation gradients go to dx* and
//      replace the pre-activations in tape slots 0-3; the block's Rt stays in shared memory when it fits (useShared),
//      else it is read through L2 (DH = 192: 576 KB per head).
//   4. dR += sum_{b,t} h_{t-1} (x) dgate is one cuBLAS strided-batched product over heads on the tape (host side);
//      dbias += sum_{b,t} dgate is xlstm_slstm_bw_bias_f32, a fixed-order column sum.
//
// The gradient is autograd's on the official vanilla cell: through the stabiliser m = max(i~, log sigmoid(f~) + m)
// and the clamps min(exp(.), 1), torch's max/min giving half the gradient to each side at a tie (the same graph as
// backend/cpu/SlstmBackward.java, whose float arithmetic the pointwise step follows). Everything is float32 and
// deterministic (no atomics; every sum has a fixed order).
//
// Limits (the launch plan is CudaSlstmBackward.java's; kernels/emu/slstm_backward_emu.cpp checks it on the CPU):
// - DH <= 1024: one thread per hidden unit. Above, the Java side throws UnsupportedOperationException and
//   CudaGradOps runs the host engine instead.
// - R on chip: the tape kernel keeps its head's R (4*DH*DH floats) in shared memory while 4*DH^2 + DH floats fit the
//   200 KB budget (CudaSlstmCluster.SHARED_BUDGET), i.e. DH <= 113; the backward while 4*DH^2 + 8*DH do, DH <= 112.
//   Above, each block reads its head's whole R from global memory at every step (coalesced, L2-resident: 16*DH^2
//   bytes per head, e.g. 576 KB at DH = 192, 2.25 MB for the 125M recipe's 4 heads of 192, far below the H100's
//   50 MB L2). DH = 192 does not fit one block's on-chip scheme at any head count (R of one head alone is 2.5x the
//   227 KB a block may have); only a split of R over a cluster of blocks (as slstm_cluster.cu does for the forward:
//   4 blocks of 48 columns, 146 KB each) would hold it, which these kernels do not do. Estimate from the code: one
//   step then streams 576 KB per block from L2, some 5 us at one SM's ~110 GB/s share, so ~1.3 ms per 256 steps for
//   each of the tape and the backward kernel, roughly independent of B while B*NH <= the SM count.
// - Parallelism is B*NH blocks of DH threads, sequential over S (B*NH < 2^31; the dbias grid's y is NH <= 65535).
// - Scratch: the tape, B*S*NH*8*DH floats (32 bytes per input element of xi: e.g. 201 MB for B=16, S=512, D=768),
//   and Rt, 4*NH*DH^2 floats.
// - Like the CPU engine and torch's autograd, a first step with i~ < log sigmoid(f~) - 88 gives NaN (exp overflows
//   to inf in the clamp min(exp(.), 1), whose zero gradient then multiplies it).
#include "common.cuh"

// torch's max/min backward: the whole gradient to the winner, half to each at a tie. Share of `self` against `other`
// where the op picks the larger (for min(a, 1) call it as share(1, a): a gets the gradient while a < 1).
__device__ __forceinline__ float tie_share(float self, float other) {
    return self > other ? 1.f : (self == other ? 0.5f : 0.f);
}

extern "C" __global__ void xlstm_slstm_bw_transpose_f32(const float* __restrict__ r, float* __restrict__ rt, int NH,
                                                        int DH) {
    const int64_t per = (int64_t)4 * DH * DH, n = (int64_t)NH * per;
    GRID_STRIDE(e, n) {
        const int64_t h = e / per, rem = e - h * per, gj = rem / DH, k = rem - gj * DH;
        rt[e] = r[(h * DH + k) * 4 * DH + gj];
    }
}

// Grid B*NH blocks, DH threads, dynamic shared memory (DH + (useShared ? 4*DH*DH : 0)) floats.
extern "C" __global__ void __launch_bounds__(1024) xlstm_slstm_bw_tape_f32(
    const float* __restrict__ xi, const float* __restrict__ xf, const float* __restrict__ xz,
    const float* __restrict__ xo, const float* __restrict__ r, const float* __restrict__ bias,
    float* __restrict__ tape, int S, int NH, int DH, int useShared) {
    extern __shared__ float sh[];
    float* hprev = sh;                       // DH
    float* rs = sh + DH;                     // DH * 4 * DH when useShared
    const int b = blockIdx.x / NH, hd = blockIdx.x % NH, j = threadIdx.x;
    const bool active = j < DH;
    const float* rh = r + (int64_t)hd * DH * 4 * DH;
    if (useShared)
        for (int e = threadIdx.x; e < DH * 4 * DH; e += blockDim.x) rs[e] = rh[e];
    const float* R = useShared ? rs : rh;
    float c = 0.f, nn = 0.f, mm = 0.f, bi = 0.f, bf = 0.f, bz = 0.f, bo = 0.f;
    if (active) {
        hprev[j] = 0.f;
        bi = bias[(hd * 4 + 0) * DH + j];
        bf = bias[(hd * 4 + 1) * DH + j];
        bz = bias[(hd * 4 + 2) * DH + j];
        bo = bias[(hd * 4 + 3) * DH + j];
    }
    const int64_t rowStride = (int64_t)NH * 8 * DH;                      // one (b, t) row of the tape
    float* row = tape + (int64_t)b * S * rowStride + (int64_t)hd * 8 * DH;  // (b, t = 0, hd)
    for (int t = 0; t < S; t++, row += rowStride) {
        __syncthreads();   // h_{t-1} complete (and R staged, at t = 0)
        float hv = 0.f;
        if (active) {
            const int64_t x = ((int64_t)b * S + t) * NH * DH + hd * DH + j;
            row[7 * DH + j] = hprev[j];
            float ri = 0.f, rf = 0.f, rz = 0.f, ro = 0.f;
            for (int i = 0; i < DH; i++) {
                const float hp = hprev[i];
                const float* rr = R + (int64_t)i * 4 * DH;
                ri = fmaf(rr[j], hp, ri);
                rf = fmaf(rr[DH + j], hp, rf);
                rz = fmaf(rr[2 * DH + j], hp, rz);
                ro = fmaf(rr[3 * DH + j], hp, ro);
            }
            const float iraw = xi[x] + ri + bi, fraw = xf[x] + rf + bf, zraw = xz[x] + rz + bz, oraw = xo[x] + ro + bo;
            const float logfm = mm + log_sigmoid(fraw);
            const float mnew = nn == 0.f ? iraw : fmaxf(iraw, logfm);   // the forward's first-step rule
            const float igate = fminf(expf(iraw - mnew), 1.f), fgate = fminf(expf(logfm - mnew), 1.f);
            c = fgate * c + igate * tanhf(zraw);
            nn = fgate * nn + igate;
            mm = mnew;
            hv = sigmoidf(oraw) * c / nn;
            row[j] = iraw;
            row[DH + j] = fraw;
            row[2 * DH + j] = zraw;
            row[3 * DH + j] = oraw;
            row[4 * DH + j] = c;
            row[5 * DH + j] = nn;
            row[6 * DH + j] = mm;
        }
        __syncthreads();   // everyone has read h_{t-1}
        if (active) hprev[j] = hv;
    }
}

// Grid B*NH blocks, DH threads, dynamic shared memory (8*DH + (useShared ? 4*DH*DH : 0)) floats. rt from
// xlstm_slstm_bw_transpose_f32, tape from xlstm_slstm_bw_tape_f32 (slots 0-3 are overwritten with the gradients).
// dy and dx* may alias each other's elements (each is read before it is written, by the same thread); dx* may be 0.
extern "C" __global__ void __launch_bounds__(1024) xlstm_slstm_bw_f32(
    const float* __restrict__ rt, const float* dy, float* __restrict__ tape, float* dxi, float* dxf, float* dxz,
    float* dxo, int S, int NH, int DH, int useShared) {
    extern __shared__ float sh[];
    float* dg = sh;                          // [2][4*DH]: the step's gate gradients, double-buffered
    float* rs = sh + 8 * DH;                 // [4*DH][DH] when useShared
    const int b = blockIdx.x / NH, hd = blockIdx.x % NH, j = threadIdx.x;
    const bool active = j < DH;
    const int G = 4 * DH;
    const float* rth = rt + (int64_t)hd * G * DH;
    if (useShared)
        for (int e = threadIdx.x; e < G * DH; e += blockDim.x) rs[e] = rth[e];
    const float* RT = useShared ? rs : rth;   // RT[(g*DH + jj)*DH + k] = R[k][g][jj]
    const int64_t rowStride = (int64_t)NH * 8 * DH;
    float* tp = tape + (int64_t)b * S * rowStride + (int64_t)hd * 8 * DH;   // (b, t = 0, hd)
    float dhRec = 0.f, dc = 0.f, dn = 0.f, dm = 0.f;   // gradients reaching h_t (via step t+1), c_t, n_t, m_t
    float cN = 0.f, nN = 0.f, mN = 0.f;                // c_t, n_t, m_t (states after step t)
    if (active && S > 0) {
        const float* last = tp + (int64_t)(S - 1) * rowStride;
        cN = last[4 * DH + j];
        nN = last[5 * DH + j];
        mN = last[6 * DH + j];
    }
    // The shared staging of RT is ordered before its first use by the barrier inside the first step.
    for (int t = S - 1; t >= 0; t--) {
        float* buf = dg + (t & 1) * G;
        if (active) {
            float* row = tp + (int64_t)t * rowStride;
            const float ir = row[j], fg = row[DH + j], zr = row[2 * DH + j], orr = row[3 * DH + j];
            float cP = 0.f, nP = 0.f, mP = 0.f;   // c_{t-1}, n_{t-1}, m_{t-1}: the zero state before step 0
            if (t > 0) {
                const float* prev = row - rowStride;
                cP = prev[4 * DH + j];
                nP = prev[5 * DH + j];
                mP = prev[6 * DH + j];
            }
            const int64_t x = ((int64_t)b * S + t) * NH * DH + hd * DH + j;
            const float dyv = dy[x];
            // recompute the step's gates from the kept pre-activations and states
            const float lfm = mP + log_sigmoid(fg);
            const float ia = expf(ir - mN), fa = expf(lfm - mN);
            const float iG = fminf(ia, 1.f), fG = fminf(fa, 1.f);
            const float o = sigmoidf(orr), zt = tanhf(zr);
            // h_t = o * c_t / n_t, c_t = fG*c_{t-1} + iG*tanh(z~), n_t = fG*n_{t-1} + iG
            const float dhTot = dyv + dhRec;
            const float invN = 1.f / nN;
            const float dcTot = dc + dhTot * o * invN;
            const float dnTot = dn - dhTot * o * cN * invN * invN;
            const float dfG = dcTot * cP + dnTot * nP;
            const float diG = dcTot * zt + dnTot;
            const float dzr = dcTot * iG * (1.f - zt * zt);
            const float dor = dhTot * cN * invN * o * (1.f - o);
            dc = dcTot * fG;
            dn = dnTot * fG;
            // iG = min(exp(i~ - m_t), 1), fG = min(exp(lfm - m_t), 1); a tie with 1 passes half
            const float dArgI = diG * tie_share(1.f, ia) * ia;
            const float dArgF = dfG * tie_share(1.f, fa) * fa;
            const float dmNew = dm - dArgI - dArgF;   // total gradient reaching m_t
            float dIr, dLfm;
            if (nP == 0.f) {   // first step: m_t = i~ (the forward's rule)
                dIr = dArgI + dmNew;
                dLfm = dArgF;
            } else {           // m_t = max(i~, lfm)
                const float share = tie_share(ir, lfm);
                dIr = dArgI + dmNew * share;
                dLfm = dArgF + dmNew * (1.f - share);
            }
            dm = dLfm;                                   // lfm = m_{t-1} + log sigmoid(f~)
            const float dfr = dLfm * sigmoidf(-fg);      // d log sigmoid(f~) / d f~ = sigmoid(-f~)
            buf[j] = dIr;
            buf[DH + j] = dfr;
            buf[2 * DH + j] = dzr;
            buf[3 * DH + j] = dor;
            row[j] = dIr;
            row[DH + j] = dfr;
            row[2 * DH + j] = dzr;
            row[3 * DH + j] = dor;
            if (dxi) dxi[x] = dIr;
            if (dxf) dxf[x] = dfr;
            if (dxz) dxz[x] = dzr;
            if (dxo) dxo[x] = dor;
            cN = cP;
            nN = nP;
            mN = mP;
        }
        // The step's gate gradients are complete. The next step writes the other buffer, and the one after this
        // buffer again only past the next step's barrier, which every thread reaches after its product below.
        __syncthreads();
        if (t > 0 && active) {
            // dh_{t-1}[j] = sum_{g, jj} R[j][g][jj] * dgate[g][jj]: four independent chains (one per gate)
            float a0 = 0.f, a1 = 0.f, a2 = 0.f, a3 = 0.f;
            const float* r0 = RT + j;
            for (int jj = 0; jj < DH; jj++) {
                a0 = fmaf(r0[(int64_t)jj * DH], buf[jj], a0);
                a1 = fmaf(r0[(int64_t)(DH + jj) * DH], buf[DH + jj], a1);
                a2 = fmaf(r0[(int64_t)(2 * DH + jj) * DH], buf[2 * DH + jj], a2);
                a3 = fmaf(r0[(int64_t)(3 * DH + jj) * DH], buf[3 * DH + jj], a3);
            }
            dhRec = (a0 + a1) + (a2 + a3);
        }
    }
}

// dbias[h][g][j] += sum over the tape's rows (b, t) of the gate gradient in slot g: a fixed-order column sum.
// Grid (ceil(4*DH / 32), NH), block (32, 32), dynamic shared memory 32*33 floats: thread (x, y) sums rows y, y + 32,
// ... of column blockIdx.x*32 + x, then row y = 0 adds the 32 partial sums in order. (Dynamic rather than a static
// __shared__ array only so that the CPU emulator, which has no static shared memory, runs it as it is.)
extern "C" __global__ void xlstm_slstm_bw_bias_f32(const float* __restrict__ tape, float* __restrict__ dbias,
                                                   int64_t rows, int NH, int DH) {
    extern __shared__ float sh[];
    float(*part)[33] = reinterpret_cast<float(*)[33]>(sh);   // [32][33]: the pad keeps column reads conflict-free
    const int col = blockIdx.x * 32 + threadIdx.x, hd = blockIdx.y;
    const bool valid = col < 4 * DH;
    const int64_t rowStride = (int64_t)NH * 8 * DH;
    float s = 0.f;
    if (valid)
        for (int64_t rw = threadIdx.y; rw < rows; rw += 32) s += tape[rw * rowStride + (int64_t)hd * 8 * DH + col];
    part[threadIdx.y][threadIdx.x] = s;
    __syncthreads();
    if (threadIdx.y == 0 && valid) {
        float sum = part[0][threadIdx.x];
        for (int y = 1; y < 32; y++) sum += part[y][threadIdx.x];
        dbias[(int64_t)hd * 4 * DH + col] += sum;
    }
}
