// rmsnorm.c: Hugging Face LlamaRMSNorm, computed in float32 as HF does:
// x * rsqrt(mean(x^2) + eps) * w (no mean subtraction, no bias). Forward
// saves rstd = 1/sqrt(mean(x^2) + eps) per row for backward.
#include "core/nn/llama_layers.h"
#include "core/runtime/common.h"
#include "core/runtime/counters.h"

#include <math.h>

#define PAR_MIN_ELEMS (1L << 14)
#define COLBLK 128   // dw reduction: threads own disjoint column blocks (as layernorm.c)

// inp (BT,C), w (C), out (BT,C), rstd (BT) or NULL
void rmsnorm_forward(float *out, float *rstd, const float *inp, const float *w, int BT, int C, float eps) {
    CHECK(BT >= 0 && C > 0, "rmsnorm dims BT=%d C=%d", BT, C);
#pragma omp parallel for if ((long)BT * C >= PAR_MIN_ELEMS)
    for (int i = 0; i < BT; i++) {
        const float *x = inp + (size_t)i * C;
        float ss = 0.0f;
#pragma omp simd reduction(+ : ss)
        for (int c = 0; c < C; c++) ss += x[c] * x[c];
        float s = 1.0f / sqrtf(ss / (float)C + eps);
        float *o = out + (size_t)i * C;
#pragma omp simd
        for (int c = 0; c < C; c++) o[c] = w[c] * (x[c] * s);
        if (rstd) rstd[i] = s;
    }
    // per element: square, add, 2 muls; per row: division, + eps, sqrt, reciprocal
    flops_add(4.0 * BT * C + 4.0 * BT);
}

// dout (BT,C), inp (BT,C), w (C), rstd (BT) from forward. With g = w dout:
// dinp += r g - inp r^3 mean(inp g); dw += sum_rows inp r dout
void rmsnorm_backward(float *dinp, float *dw, const float *dout, const float *inp, const float *w,
                      const float *rstd, int BT, int C) {
    CHECK(BT >= 0 && C > 0, "rmsnorm dims BT=%d C=%d", BT, C);
    if (dinp) {
#pragma omp parallel for if ((long)BT * C >= PAR_MIN_ELEMS)
        for (int i = 0; i < BT; i++) {
            const float *x = inp + (size_t)i * C, *dy = dout + (size_t)i * C;
            float s = rstd[i], dot = 0.0f;
#pragma omp simd reduction(+ : dot)
            for (int c = 0; c < C; c++) dot += x[c] * w[c] * dy[c];
            float k = s * s * s * dot / (float)C;
            float *dx = dinp + (size_t)i * C;
#pragma omp simd
            for (int c = 0; c < C; c++) dx[c] += s * w[c] * dy[c] - x[c] * k;
        }
        // per element: dot 3 (2 muls, add), dx 5 (2 muls, mul, sub, +=); per row: 4 (s^3 dot / C)
        flops_add(8.0 * BT * C + 4.0 * BT);
    }
    if (dw) {
        int nblk = (C + COLBLK - 1) / COLBLK;
#pragma omp parallel for if ((long)BT * C >= PAR_MIN_ELEMS)
        for (int blk = 0; blk < nblk; blk++) {
            int c0 = blk * COLBLK, nc = wb_min(COLBLK, C - c0);
            float aw[COLBLK] = {0};
            for (int i = 0; i < BT; i++) {
                const float *x = inp + (size_t)i * C + c0, *dy = dout + (size_t)i * C + c0;
                float s = rstd[i];
#pragma omp simd
                for (int c = 0; c < nc; c++) aw[c] += x[c] * s * dy[c];
            }
            for (int c = 0; c < nc; c++) dw[c0 + c] += aw[c];
        }
        flops_add(3.0 * BT * C); // per element: 2 muls, add
    }
}
