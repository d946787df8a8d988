// swiglu.c: the gate of Llama's MLP, down_proj(silu(gate_proj(x)) * up_proj(x)):
// out = silu(gate) * up with silu(x) = x sigmoid(x) (torch.nn.SiLU).
#include "core/nn/llama_layers.h"
#include "core/runtime/common.h"
#include "core/runtime/counters.h"
#include "core/linalg/vecmath.h"

#define PAR_MIN_ELEMS (1L << 15)

// 1 / (1 + e^-x), without overflow for very negative x (exp_vec saturates)
static inline float sigmoid(float x) { return 1.0f / (1.0f + exp_vec(-x)); }

// gate, up, out (n)
void swiglu_forward(float *out, const float *gate, const float *up, long n) {
#pragma omp parallel for simd if (n >= PAR_MIN_ELEMS)
    for (long i = 0; i < n; i++) out[i] = gate[i] * sigmoid(gate[i]) * up[i];
    // per element: sigmoid 4 (neg, exp, add, division), 2 muls
    flops_add(6.0 * (double)n);
}

// dgate += dout up s (1 + g (1 - s)); dup += dout g s
void swiglu_backward(float *dgate, float *dup, const float *dout, const float *gate, const float *up, long n) {
    if (!dgate && !dup) return;
#pragma omp parallel for simd if (n >= PAR_MIN_ELEMS)
    for (long i = 0; i < n; i++) {
        float g = gate[i], s = sigmoid(g);
        if (dgate) dgate[i] += dout[i] * up[i] * s * (1.0f + g * (1.0f - s));
        if (dup) dup[i] += dout[i] * g * s;
    }
    // sigmoid 4; dgate 7 (3 muls, sub, mul, add, +=); dup 3 (2 muls, +=)
    flops_add((4.0 + (dgate ? 7.0 : 0.0) + (dup ? 3.0 : 0.0)) * (double)n);
}
