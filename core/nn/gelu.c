// gelu.c: exact GELU, x Phi(x) = 0.5 x (1 + erf(x / sqrt 2)), as
// torch.nn.GELU() with its default approximate='none' (not the tanh form
// llm.c uses). Phi is computed as 0.5 erfc(|x| / sqrt 2) mirrored, so the
// negative tail keeps its relative accuracy (1 + erf(x) cancels there), and
// through vecmath.h so the loops vectorise.
#include "core/nn/layers.h"
#include "core/runtime/common.h"
#include "core/runtime/counters.h"
#include "core/linalg/half.h"
#include "core/linalg/vecmath.h"

#define PAR_MIN_ELEMS (1L << 15)
#define INV_SQRT2 0.70710678118654752440f
#define INV_SQRT_2PI 0.39894228040143267794f

// standard normal CDF
static inline float normal_cdf(float x) {
    float h = 0.5f * erfc_vec((x < 0.0f ? -x : x) * INV_SQRT2);
    return x < 0.0f ? h : 1.0f - h;
}

// inp (n), out (n)
void gelu_forward(float *out, const float *inp, long n) {
#pragma omp parallel for simd if (n >= PAR_MIN_ELEMS)
    for (long i = 0; i < n; i++) out[i] = inp[i] * normal_cdf(inp[i]);
    // per element: |x|/sqrt2, erfc, *0.5, mirror (1 - h), *x : 5 (erfc counted as 1)
    flops_add(5.0 * (double)n);
}

// dinp (n) += gelu'(inp) dout, gelu'(x) = Phi(x) + x phi(x)
void gelu_backward(float *dinp, const float *inp, const float *dout, long n) {
    if (!dinp) return;
#pragma omp parallel for simd if (n >= PAR_MIN_ELEMS)
    for (long i = 0; i < n; i++) {
        float x = inp[i];
        float pdf = INV_SQRT_2PI * exp_vec(-0.5f * x * x);
        dinp[i] += (normal_cdf(x) + x * pdf) * dout[i];
    }
    // per element: cdf 4, pdf 4 (x*x, *-0.5, exp, mul), x*pdf, +cdf, *dout, += : 12
    flops_add(12.0 * (double)n);
}

// d (n) := gelu'(inp) d: gelu_backward into a zeroed dinp that is dout's own
// buffer (the caller's dout is dead afterwards), saving that buffer
void gelu_backward_inplace(float *d, const float *inp, long n) {
#pragma omp parallel for simd if (n >= PAR_MIN_ELEMS)
    for (long i = 0; i < n; i++) {
        float x = inp[i];
        float pdf = INV_SQRT_2PI * exp_vec(-0.5f * x * x);
        d[i] *= normal_cdf(x) + x * pdf;
    }
    // gelu_backward's 12 without its += : 11
    flops_add(11.0 * (double)n);
}

// The memory section's gelu_f16: forward also keeps gelu'(inp) as float16
// (dgrad, n: 2 bytes per element instead of the 4 of the fc1 output), and
// backward reads it back. Approximate: each saved derivative carries a
// relative rounding error <= 2^-11 (binary16 round to nearest), so dinp
// does too; gelu' lies in [-0.17, 1.13], far inside float16's range.
void gelu_forward_f16grad(float *out, uint16_t *dgrad, const float *inp, long n) {
#pragma omp parallel for simd if (n >= PAR_MIN_ELEMS)
    for (long i = 0; i < n; i++) {
        float x = inp[i], cdf = normal_cdf(x);
        out[i] = x * cdf;
        dgrad[i] = f32_to_f16(cdf + x * INV_SQRT_2PI * exp_vec(-0.5f * x * x));
    }
    // the forward's 5, plus the derivative as in gelu_backward without its *dout and += (cdf reused): 6
    flops_add(11.0 * (double)n);
}

// dinp (n) += f32(dgrad) dout
void gelu_backward_f16grad(float *dinp, const uint16_t *dgrad, const float *dout, long n) {
    if (!dinp) return;
#pragma omp parallel for simd if (n >= PAR_MIN_ELEMS)
    for (long i = 0; i < n; i++) dinp[i] += f16_to_f32(dgrad[i]) * dout[i];
    flops_add(2.0 * (double)n);
}

// d (n) := f32(dgrad) d (in place, as gelu_backward_inplace)
void gelu_backward_f16grad_inplace(float *d, const uint16_t *dgrad, long n) {
#pragma omp parallel for simd if (n >= PAR_MIN_ELEMS)
    for (long i = 0; i < n; i++) d[i] *= f16_to_f32(dgrad[i]);
    flops_add(1.0 * (double)n);
}
