// avgpool.c: the global average pool at the end of the Swin Transformer
// (AdaptiveAvgPool2d(1) + flatten over a (B,H,W,C) map seen as (B,N,C)).
#include "core/nn/swin_layers.h"
#include "core/runtime/common.h"
#include "core/runtime/counters.h"

#define PAR_MIN_ELEMS (1L << 15)

// inp (B,N,C) -> out (B,C) = sum over N / N
void avgpool_forward(float *out, const float *inp, int B, int N, int C) {
    CHECK(B >= 0 && N > 0 && C > 0, "avgpool dims B=%d N=%d C=%d", B, N, C);
#pragma omp parallel for if ((long)B * N * C >= PAR_MIN_ELEMS)
    for (int b = 0; b < B; b++) {
        float *o = out + (size_t)b * C;
        for (int c = 0; c < C; c++) o[c] = 0.0f;
        for (int n = 0; n < N; n++) {
            const float *x = inp + ((size_t)b * N + n) * C;
            for (int c = 0; c < C; c++) o[c] += x[c];
        }
        for (int c = 0; c < C; c++) o[c] /= (float)N;
    }
    flops_add((double)B * N * C + (double)B * C);   // 1 add per input element, 1 division per output
}

// dinp (B,N,C) += dout (B,C) / N
void avgpool_backward(float *dinp, const float *dout, int B, int N, int C) {
    CHECK(B >= 0 && N > 0 && C > 0, "avgpool dims B=%d N=%d C=%d", B, N, C);
    if (!dinp) return;
#pragma omp parallel for if ((long)B * N * C >= PAR_MIN_ELEMS)
    for (long r = 0; r < (long)B * N; r++) {
        const float *g = dout + (size_t)(r / N) * C;
        float *d = dinp + (size_t)r * C;
        for (int c = 0; c < C; c++) d[c] += g[c] / (float)N;
    }
    flops_add(2.0 * B * N * C);   // per element: division, add
}
