// residual.c: the residual connection out = a + b and its backward, which
// hands the same gradient to both branches.
#include "core/nn/layers.h"
#include "core/runtime/common.h"
#include "core/runtime/counters.h"

// A memory-bound add: threads only pay off on large tensors.
#define PAR_MIN_ELEMS (1L << 16)

// a, b, out (n)
void residual_forward(float *out, const float *a, const float *b, long n) {
#pragma omp parallel for simd if (n >= PAR_MIN_ELEMS)
    for (long i = 0; i < n; i++) out[i] = a[i] + b[i];
    flops_add((double)n); // 1 add per element
}

// dout (n); da, db (n) += dout
void residual_backward(float *da, float *db, const float *dout, long n) {
    if (da) {
#pragma omp parallel for simd if (n >= PAR_MIN_ELEMS)
        for (long i = 0; i < n; i++) da[i] += dout[i];
        flops_add((double)n); // 1 add per element
    }
    if (db) {
#pragma omp parallel for simd if (n >= PAR_MIN_ELEMS)
        for (long i = 0; i < n; i++) db[i] += dout[i];
        flops_add((double)n); // 1 add per element
    }
}
