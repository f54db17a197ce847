// Layout changes: dimension permutations (parameters stored in another layout than the kernels read).
#include "common.cuh"

// y = x.permute(order): y's dimension d is x's dimension order[d]. rank <= 6; ys[d] = y's sizes, xs[d] = x's
// stride (in elements) of the dimension that becomes y's dimension d. Passed as separate ints (kernel args are
// scalars), unused trailing dims have size 1.
extern "C" __global__ void xlstm_permute_f32(float* __restrict__ y, const float* __restrict__ x, int rank,
                                             int y0, int y1, int y2, int y3, int y4, int y5,
                                             int64_t s0, int64_t s1, int64_t s2, int64_t s3, int64_t s4, int64_t s5,
                                             int64_t n) {
    const int ys[6] = {y0, y1, y2, y3, y4, y5};
    const int64_t ss[6] = {s0, s1, s2, s3, s4, s5};
    GRID_STRIDE(i, n) {
        int64_t rest = i, src = 0;
        for (int d = rank - 1; d >= 0; d--) {
            int64_t idx = rest % ys[d];
            rest /= ys[d];
            src += idx * ss[d];
        }
        y[i] = x[src];
    }
}
