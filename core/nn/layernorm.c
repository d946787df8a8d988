// layernorm.c: per-row LayerNorm over the C channels, as torch.nn.LayerNorm
// (biased variance, eps inside the square root, elementwise affine).
// Forward saves mean and rstd = 1/sqrt(var + eps) per row for backward.
#include "core/nn/layers.h"
#include "core/runtime/common.h"
#include "core/runtime/counters.h"

#include <math.h>

#define PAR_MIN_ELEMS (1L << 14)
// Column block of the dw/db reduction: 128 floats (8 cache lines) of each
// row read contiguously; threads own disjoint blocks of dw and db.
#define COLBLK 128
// The row loops below are `omp simd` (reductions too, which lets them be
// reordered into vector lanes): GCC 12 at -O2 does not vectorise loops of
// unknown trip count, and never reorders a float sum on its own.

// inp (BN,C), w (C), b (C), out (BN,C), mean (BN), rstd (BN)
// mean and rstd may be NULL when nothing will be differentiated (inference).
void layernorm_forward(float *out, float *mean, float *rstd, const float *inp, const float *w, const float *b,
                       int BN, int C, float eps) {
    CHECK(BN >= 0 && C > 0, "layernorm dims BN=%d C=%d", BN, C);
#pragma omp parallel for if ((long)BN * C >= PAR_MIN_ELEMS)
    for (int i = 0; i < BN; i++) {
        const float *x = inp + (size_t)i * C;
        float m = 0.0f;
#pragma omp simd reduction(+ : m)
        for (int c = 0; c < C; c++) m += x[c];
        m /= (float)C;
        float v = 0.0f; // two passes: no cancellation when |mean| >> std
#pragma omp simd reduction(+ : v)
        for (int c = 0; c < C; c++) { float d = x[c] - m; v += d * d; }
        v /= (float)C;
        float s = 1.0f / sqrtf(v + eps);
        float *o = out + (size_t)i * C;
#pragma omp simd
        for (int c = 0; c < C; c++) o[c] = (x[c] - m) * s * w[c] + b[c];
        if (mean) mean[i] = m;
        if (rstd) rstd[i] = s;
    }
    // per element: mean 1 (add), var 3 (sub, mul, add), out 4 (sub, mul, mul, add);
    // per row: 2 divisions, + eps, sqrt, reciprocal
    flops_add(8.0 * BN * C + 5.0 * BN);
}

// dout (BN,C), inp (BN,C), w (C), mean, rstd (BN) from forward
// dinp (BN,C) += rstd (g - mean(g) - n mean(g n)) with n the normalised
//   input and g = w dout; dw (C) += sum_rows n dout; db (C) += sum_rows dout
void layernorm_backward(float *dinp, float *dw, float *db, const float *dout, const float *inp, const float *w,
                        const float *mean, const float *rstd, int BN, int C) {
    CHECK(BN >= 0 && C > 0, "layernorm dims BN=%d C=%d", BN, C);
    if (dinp) {
#pragma omp parallel for if ((long)BN * C >= PAR_MIN_ELEMS)
        for (int i = 0; i < BN; i++) {
            const float *x = inp + (size_t)i * C, *dy = dout + (size_t)i * C;
            float m = mean[i], s = rstd[i];
            float gmean = 0.0f, gnmean = 0.0f;
#pragma omp simd reduction(+ : gmean, gnmean)
            for (int c = 0; c < C; c++) {
                float n = (x[c] - m) * s, g = w[c] * dy[c];
                gmean += g;
                gnmean += g * n;
            }
            gmean /= (float)C;
            gnmean /= (float)C;
            float *dx = dinp + (size_t)i * C;
#pragma omp simd
            for (int c = 0; c < C; c++) {
                float n = (x[c] - m) * s, g = w[c] * dy[c];
                dx[c] += s * (g - gmean - n * gnmean);
            }
        }
        // per element: first pass 6 (n 2, g 1, 2 adds, 1 mul), second 8
        // (n 2, g 1, 2 subs, 2 muls, +=); per row: 2 divisions
        flops_add(14.0 * BN * C + 2.0 * BN);
    }
    if (dw || db) {
        // threads own column blocks so dw and db have a single writer each
        int nblk = (C + COLBLK - 1) / COLBLK;
#pragma omp parallel for if ((long)BN * C >= PAR_MIN_ELEMS)
        for (int blk = 0; blk < nblk; blk++) {
            int c0 = blk * COLBLK, nc = wb_min(COLBLK, C - c0);
            float aw[COLBLK] = {0}, ab[COLBLK] = {0};
            for (int i = 0; i < BN; i++) {
                const float *x = inp + (size_t)i * C + c0, *dy = dout + (size_t)i * C + c0;
                float m = mean[i], s = rstd[i];
#pragma omp simd
                for (int c = 0; c < nc; c++) {
                    aw[c] += (x[c] - m) * s * dy[c];
                    ab[c] += dy[c];
                }
            }
            for (int c = 0; c < nc; c++) {
                if (dw) dw[c0 + c] += aw[c];
                if (db) db[c0 + c] += ab[c];
            }
        }
        // per element: dw 4 (sub, mul, mul, add), db 1 (add); both always run
        // in the loop above, so charge what it did
        flops_add(5.0 * BN * C);
    }
}
