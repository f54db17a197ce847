// Host mock of nvcuda::wmma (16x16x16 only) for the CPU emulator. Every lane holds the whole tile (so element-wise
// ops on x[] that treat all elements alike behave as on the device); stores are done by one lane alone (the one the
// scheduler runs last, see emu::store_lane), so a missing __syncwarp() before other lanes read the tile shows up. Checks the documented constraints: 256-bit aligned
// pointers, ldm a multiple of 8 (16-bit elements) or 4 (float), and (in shared memory) the tile inside the block's
// dynamic allocation.
#pragma once
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <type_traits>
#include "cuda_bf16.h"

namespace emu {
void check_tile(const void* p, unsigned ldm, unsigned elemBytes, bool colMajor, const char* what);
unsigned lane();
unsigned store_lane();
}

namespace nvcuda {
namespace wmma {
struct matrix_a {};
struct matrix_b {};
struct accumulator {};
struct row_major {};
struct col_major {};
enum layout_t { mem_row_major, mem_col_major };

template <class Use, int M, int N, int K, class T, class Layout = void>
struct fragment {
    static_assert(M == 16 && N == 16 && K == 16, "emulator: 16x16x16 only");
    enum { num_elements = 256 };
    float x[256];   // element (r, c) at x[r * 16 + c]
};

template <class Use, class T, class Layout>
inline void load_matrix_sync(fragment<Use, 16, 16, 16, T, Layout>& f, const __nv_bfloat16* p, unsigned ldm) {
    constexpr bool col = std::is_same<Layout, col_major>::value;
    emu::check_tile(p, ldm, 2, col, "load_matrix_sync(bf16)");
    for (int r = 0; r < 16; r++)
        for (int c = 0; c < 16; c++) f.x[r * 16 + c] = __bfloat162float(col ? p[c * ldm + r] : p[r * ldm + c]);
}

inline void load_matrix_sync(fragment<accumulator, 16, 16, 16, float>& f, const float* p, unsigned ldm, layout_t l) {
    emu::check_tile(p, ldm, 4, l == mem_col_major, "load_matrix_sync(float)");
    for (int r = 0; r < 16; r++)
        for (int c = 0; c < 16; c++) f.x[r * 16 + c] = l == mem_col_major ? p[c * ldm + r] : p[r * ldm + c];
}

inline void store_matrix_sync(float* p, const fragment<accumulator, 16, 16, 16, float>& f, unsigned ldm, layout_t l) {
    emu::check_tile(p, ldm, 4, l == mem_col_major, "store_matrix_sync(float)");
    if (emu::lane() != emu::store_lane()) return;
    for (int r = 0; r < 16; r++)
        for (int c = 0; c < 16; c++) (l == mem_col_major ? p[c * ldm + r] : p[r * ldm + c]) = f.x[r * 16 + c];
}

template <class Use, class T, class Layout>
inline void fill_fragment(fragment<Use, 16, 16, 16, T, Layout>& f, float v) {
    for (int e = 0; e < 256; e++) f.x[e] = v;
}

template <class LA, class LB>
inline void mma_sync(fragment<accumulator, 16, 16, 16, float>& d,
                     const fragment<matrix_a, 16, 16, 16, __nv_bfloat16, LA>& a,
                     const fragment<matrix_b, 16, 16, 16, __nv_bfloat16, LB>& b,
                     const fragment<accumulator, 16, 16, 16, float>& c) {
    float t[256];
    for (int r = 0; r < 16; r++)
        for (int n = 0; n < 16; n++) {
            float s = c.x[r * 16 + n];
            for (int kk = 0; kk < 16; kk++) s += a.x[r * 16 + kk] * b.x[kk * 16 + n];
            t[r * 16 + n] = s;
        }
    for (int e = 0; e < 256; e++) d.x[e] = t[e];
}
}  // namespace wmma
}  // namespace nvcuda
