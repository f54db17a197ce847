// Causal depthwise conv1d over time with a carried window of the K-1 previous inputs (step form and prefill).
#include "common.cuh"

// y[b,t,f] = bias[f] + sum_{j<K} w[f, K-1-j] * x[b, t-j, f]; x at t<0 comes from window[b, K-1+(t-j), f]
// (window holds the K-1 inputs before the sequence, oldest first) or zeros when window is null.
extern "C" __global__ void xlstm_conv1d_causal_f32(float* __restrict__ y, const float* __restrict__ x,
                                                   const float* __restrict__ w, const float* __restrict__ bias,
                                                   const float* __restrict__ window, int S, int F, int K, int64_t n) {
    GRID_STRIDE(i, n) {
        int f = (int)(i % F);
        int64_t bt = i / F;
        int t = (int)(bt % S);
        int64_t b = bt / S;
        float acc = bias == nullptr ? 0.f : bias[f];
        for (int j = 0; j < K; j++) {
            int ts = t - j;
            float xv;
            if (ts >= 0) xv = x[(b * S + ts) * F + f];
            else if (window != nullptr) xv = window[(b * (K - 1) + (K - 1 + ts)) * F + f];
            else xv = 0.f;
            acc = fmaf(w[f * K + (K - 1 - j)], xv, acc);
        }
        y[i] = acc;
    }
}

// After the conv: window <- last K-1 inputs of [old window ; x] (run as a separate launch so reads see the old one).
// newWindow must not alias window.
extern "C" __global__ void xlstm_conv1d_window_f32(float* __restrict__ newWindow, const float* __restrict__ window,
                                                   const float* __restrict__ x, int S, int F, int K, int64_t n) {
    GRID_STRIDE(i, n) {   // n = B * (K-1) * F
        int f = (int)(i % F);
        int64_t bp = i / F;
        int p = (int)(bp % (K - 1));
        int64_t b = bp / (K - 1);
        int src = S - (K - 1) + p;   // position in the concatenated [window ; x] relative to x's start
        newWindow[i] = src >= 0 ? x[(b * S + src) * F + f]
                                : (window == nullptr ? 0.f : window[(b * (K - 1) + (K - 1 + src)) * F + f]);
    }
}
