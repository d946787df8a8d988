// vecmath.h: float exp and erfc written so the compiler vectorises the
// element-wise loops that call them (GELU, softmax). glibc's expf and erff
// are opaque scalar calls and libmvec's vector versions need -ffast-math,
// which this project does not use; with erff, GELU took as long as the fc1
// GEMM beside it (10 ns/element, against 1 ns here with AVX2).
// Accuracy, checked against double precision in tests/test_layers.c:
//   exp_vec   relative error < 1e-7 on [-87, 88]; 0 below -88 (no
//             denormals), exp(88) above 88, NaN stays NaN.
//   erfc_vec  z >= 0, relative error < 2e-6 for z < 4 and < 1e-5 until it
//             underflows (z ~ 9.2); the error comes from rounding z*z.
// The polynomials are evaluated with fused multiply-adds where the target
// has them (-march=native on x86-64 with FMA: one instruction, one rounding;
// -std=c11 never contracts a*b+c on its own): half the operations of separate
// * and +. Without FMA (the valgrind build) fmaf would be a slow library
// call, so madd_vec falls back to a*b+c there.
// Only static inline functions: include where needed.
#ifndef WB_VECMATH_H
#define WB_VECMATH_H

#include <math.h>
#include <stdint.h>
#include <string.h>

static inline float madd_vec(float a, float b, float c) {
#if defined(__FMA__) || defined(__aarch64__)
    return fmaf(a, b, c);
#else
    return a * b + c;
#endif
}

// Cephes expf: n = round(x / ln 2), r = x - n ln 2 (ln 2 split in two for
// exactness), exp(x) = 2^n p(r). Rounding uses the 1.5*2^23 shifter, whose
// low mantissa bits then hold n: no float->int conversion (UB on NaN).
static inline float exp_vec(float x) {
    x = x < -88.0f ? -88.0f : (x > 88.0f ? 88.0f : x);
    float t = x * 1.44269504088896341f + 12582912.0f;
    float n = t - 12582912.0f;
    float r = x - n * 0.693359375f + n * 2.12194440e-4f;
    float p = 1.9875691500e-4f;
    p = madd_vec(p, r, 1.3981999507e-3f);
    p = madd_vec(p, r, 8.3334519073e-3f);
    p = madd_vec(p, r, 4.1665795894e-2f);
    p = madd_vec(p, r, 1.6666665459e-1f);
    p = madd_vec(p, r, 5.0000001201e-1f);
    p = madd_vec(p * r, r, r) + 1.0f;
    uint32_t tb;
    memcpy(&tb, &t, sizeof tb);
    uint32_t e = (tb - 0x4B400000u + 127u) << 23; // biased exponent n + 127 (0 at n = -127: flush to 0)
    float s;
    memcpy(&s, &e, sizeof s);
    return p * s;
}

// erfc(z) for z >= 0: the Chebyshev fit of Numerical Recipes (erfcc,
// fractional error < 1.2e-7 in exact arithmetic). It has relative accuracy
// in the tail, where 1 - erf(z) would cancel.
static inline float erfc_vec(float z) {
    float t = 1.0f / (1.0f + 0.5f * z);
    float p = 0.17087277f;
    p = madd_vec(p, t, -0.82215223f);
    p = madd_vec(p, t, 1.48851587f);
    p = madd_vec(p, t, -1.13520398f);
    p = madd_vec(p, t, 0.27886807f);
    p = madd_vec(p, t, -0.18628806f);
    p = madd_vec(p, t, 0.09678418f);
    p = madd_vec(p, t, 0.37409196f);
    p = madd_vec(p, t, 1.00002368f);
    p = madd_vec(p, t, -1.26551223f);
    return t * exp_vec(madd_vec(-z, z, p));
}

#endif
