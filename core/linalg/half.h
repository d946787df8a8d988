// half.h: IEEE binary16 (float16) <-> float32, exactly: f16 -> f32 is exact
// for every pattern; f32 -> f16 rounds to nearest, ties to even, with
// subnormals, overflow to inf and NaN kept NaN (as numpy.float16 and
// torch.half do). Used to read F16 checkpoints (core/io/safetensors.c) and
// to keep saved activations in two bytes (the memory section's gelu_f16 and
// softmax_f16: core/nn/gelu.c, core/models/vit.c, core/models/swin.c).
#ifndef WB_HALF_H
#define WB_HALF_H

#include <stdint.h>
#include <string.h>

static inline float f16_to_f32(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16, e = (h >> 10) & 0x1fu, m = h & 0x3ffu, bits;
    if (e == 0x1f) bits = sign | 0x7f800000u | (m << 13);          // inf, NaN (payload kept, not quieted)
    else if (e) bits = sign | ((e + 112u) << 23) | (m << 13);       // rebias 15 -> 127
    else if (!m) bits = sign;                                        // +-0
    else {                                                           // subnormal m * 2^-24: normalise
        uint32_t k = 0;
        while (!(m & 0x400u)) { m <<= 1; k++; }
        bits = sign | ((113u - k) << 23) | ((m & 0x3ffu) << 13);
    }
    float x;
    memcpy(&x, &bits, 4);
    return x;
}

static inline uint16_t f32_to_f16(float x) {
    uint32_t b;
    memcpy(&b, &x, 4);
    uint16_t sign = (uint16_t)((b >> 16) & 0x8000u);
    uint32_t a = b & 0x7fffffffu;
    if (a >= 0x7f800000u) return (uint16_t)(sign | 0x7c00u | (a > 0x7f800000u ? 0x200u | ((a >> 13) & 0x3ffu) : 0));
    if (a >= 0x477ff000u) return (uint16_t)(sign | 0x7c00u);        // rounds to >= 65520: inf
    if (a < 0x38800000u) {                                           // below 2^-14: subnormal (or 0)
        if (a < 0x33000000u) return sign;                            // below half the smallest subnormal: 0
        uint32_t m = (a & 0x7fffffu) | 0x800000u;
        int shift = 126 - (int)(a >> 23);                            // 14 + 1 - (exp - 127) - ... : m >> shift = the 10-bit mantissa
        uint32_t q = m >> shift, rest = m & ((1u << shift) - 1), half = 1u << (shift - 1);
        if (rest > half || (rest == half && (q & 1u))) q++;
        return (uint16_t)(sign | q);
    }
    uint32_t q = ((a - 0x38000000u) >> 13), rest = a & 0x1fffu;      // rebias 127 -> 15
    if (rest > 0x1000u || (rest == 0x1000u && (q & 1u))) q++;        // a carry into the exponent is right
    return (uint16_t)(sign | q);
}

// dst (n) = f16(src), and back; OpenMP over large n (each element on its own:
// the result does not depend on the thread count).
void half_pack(uint16_t *dst, const float *src, long n);
void half_unpack(float *dst, const uint16_t *src, long n);

#endif
