// Host mock of the bfloat16 type for the CPU emulator (kernels/emu): round-to-nearest-even, like __float2bfloat16.
#pragma once
#include <cstdint>
#include <cstring>

#ifdef EMU_BF16_EXACT
// Exact mode: "bf16" keeps the whole float (4 bytes), so a kernel's algebra can be checked to float precision
// (harnesses size shared memory with sizeof(__nv_bfloat16)).
struct __nv_bfloat16 {
    float f;
};
inline __nv_bfloat16 __float2bfloat16(float f) { return __nv_bfloat16{f}; }
inline float __bfloat162float(__nv_bfloat16 b) { return b.f; }
inline __nv_bfloat16 __float2bfloat16_rn(float f) { return __float2bfloat16(f); }
#else
struct __nv_bfloat16 {
    uint16_t bits;
};

inline __nv_bfloat16 __float2bfloat16(float f) {
    uint32_t u;
    std::memcpy(&u, &f, 4);
    __nv_bfloat16 r;
    if ((u & 0x7fffffffu) > 0x7f800000u) { r.bits = 0x7fc0; return r; }   // NaN stays NaN
    u += 0x7fffu + ((u >> 16) & 1u);
    r.bits = (uint16_t)(u >> 16);
    return r;
}

inline float __bfloat162float(__nv_bfloat16 b) {
    uint32_t u = (uint32_t)b.bits << 16;
    float f;
    std::memcpy(&f, &u, 4);
    return f;
}
inline __nv_bfloat16 __float2bfloat16_rn(float f) { return __float2bfloat16(f); }
#endif
