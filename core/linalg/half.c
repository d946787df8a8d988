// half.c: bulk float16 packing (half.h).
#include "core/linalg/half.h"

#define PAR_MIN_ELEMS (1L << 15)

void half_pack(uint16_t *dst, const float *src, long n) {
#pragma omp parallel for simd if (n >= PAR_MIN_ELEMS)
    for (long i = 0; i < n; i++) dst[i] = f32_to_f16(src[i]);
}

void half_unpack(float *dst, const uint16_t *src, long n) {
#pragma omp parallel for simd if (n >= PAR_MIN_ELEMS)
    for (long i = 0; i < n; i++) dst[i] = f16_to_f32(src[i]);
}
