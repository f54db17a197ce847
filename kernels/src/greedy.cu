// Greedy decoding kept on the GPU (CudaOps.greedySteps): a CUDA graph of one decode step ends with the arg-max of
// its logits and begins with the embedding of the previous step's arg-max, so N tokens are N graph launches queued
// back to back, with no host round trip per token.
//
// The arg-max of a row travels as one 64-bit key: the logit's bits mapped to an unsigned order (larger float, larger
// key; NaN above +inf, as torch.argmax takes NaN for the maximum) in the high half and ~index in the low half, so
// that atomicMax over keys picks the largest logit and, among equal ones, the lowest index (torch.argmax's tie rule).
// The host seeds a row's key with its first token (any non-zero high half). argmax_key is in common.cuh: the wide
// LM-head kernel (decode.cu) takes the arg-max as it writes the logits, and then a step needs no pass of its own.
#include "common.cuh"

// keys[r] = max(keys[r], the row's largest key) over logits [rows, V]: grid (blocks per row, rows), each block a
// contiguous slice of its row, one atomicMax per block. keys must have been cleared (xlstm_embedding_greedy_f32 does).
extern "C" __global__ void xlstm_argmax_key_f32(const float* __restrict__ logits, unsigned long long* __restrict__ keys,
                                                int V) {
    __shared__ unsigned long long red[32];
    pdl_wait();   // launched dependently: the logits come from the previous kernel
    pdl_trigger();
    const int row = blockIdx.y;
    const int per = (V + gridDim.x - 1) / gridDim.x;
    const int from = blockIdx.x * per, to = min(V, from + per);
    const float* x = logits + (int64_t)row * V;
    unsigned long long best = 0ull;
    for (int c = from + threadIdx.x; c < to; c += blockDim.x) {
        const unsigned long long k = argmax_key(x[c], c);
        best = k > best ? k : best;
    }
    for (int o = 16; o > 0; o >>= 1) {
        const unsigned long long other = __shfl_xor_sync(0xffffffffu, best, o);
        best = other > best ? other : best;
    }
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, nw = blockDim.x >> 5;
    if (lane == 0) red[warp] = best;
    __syncthreads();
    if (threadIdx.x == 0) {
        for (int w = 1; w < nw; w++) best = red[w] > best ? red[w] : best;
        atomicMax(keys + row, best);
    }
}

// y[r] = table[token r] for the token in keys[r] (one block per row); thread 0 then appends the token to the row's
// ring fed[r·capacity + pos[r] % capacity], advances pos[r] and clears keys[r] for the step's arg-max (every thread
// of the block has read the key before: the barrier). Tokens outside [0, vocab) read row 0 (cannot come from an
// arg-max of vocab logits; the host checks the tokens it seeds).
extern "C" __global__ void xlstm_embedding_greedy_f32(float* __restrict__ y, const float* __restrict__ table,
                                                      unsigned long long* __restrict__ keys, int* __restrict__ fed,
                                                      int* __restrict__ pos, int capacity, int d, int vocab) {
    pdl_wait();
    pdl_trigger();
    const int row = blockIdx.x;
    int token = argmax_key_index(keys[row]);
    if (token < 0 || token >= vocab) token = 0;
    const float* src = table + (int64_t)token * d;
    float* dst = y + (int64_t)row * d;
    for (int c = threadIdx.x; c < d; c += blockDim.x) dst[c] = src[c];
    __syncthreads();
    if (threadIdx.x == 0) {
        const int p = pos[row];
        fed[(int64_t)row * capacity + p % capacity] = token;
        pos[row] = p + 1;
        keys[row] = 0ull;
    }
}
