// tokens.c: the token sequence of a ViT: prepend the class token to the
// patch embeddings and add the position embedding (torchvision's
// VisionTransformer._process_input + Encoder's pos_embedding), and take the
// class token back out before the head.
#include "core/nn/layers.h"
#include "core/runtime/common.h"
#include "core/runtime/counters.h"

#include <string.h>

#define PAR_MIN_ELEMS (1L << 16)

// patches (B,nP,C), cls (C), pos (N,C) with N = nP+1, out (B,N,C)
void tokens_forward(float *out, const float *patches, const float *cls, const float *pos, int B, int nP, int C) {
    int N = nP + 1;
    long rows = (long)B * N;
#pragma omp parallel for if (rows * C >= PAR_MIN_ELEMS)
    for (long r = 0; r < rows; r++) {
        int b = (int)(r / N), n = (int)(r % N);
        const float *src = n == 0 ? cls : patches + ((size_t)b * nP + (size_t)(n - 1)) * C;
        const float *pe = pos + (size_t)n * C;
        float *o = out + (size_t)r * C;
        for (int c = 0; c < C; c++) o[c] = src[c] + pe[c];
    }
    flops_add((double)rows * C); // 1 add per output element
}

// dout (B,N,C); dpatches (B,nP,C) += dout[:, 1:]; dcls (C) += sum_b dout[b, 0];
// dpos (N,C) += sum_b dout[b]
void tokens_backward(float *dpatches, float *dcls, float *dpos, const float *dout, int B, int nP, int C) {
    int N = nP + 1;
    if (dpatches) {
        long rows = (long)B * nP;
#pragma omp parallel for if (rows * C >= PAR_MIN_ELEMS)
        for (long r = 0; r < rows; r++) {
            int b = (int)(r / nP), p = (int)(r % nP);
            const float *g = dout + ((size_t)b * N + (size_t)p + 1) * C;
            float *d = dpatches + (size_t)r * C;
            for (int c = 0; c < C; c++) d[c] += g[c];
        }
        flops_add((double)rows * C); // 1 add per element
    }
    if (dcls) {
        for (int b = 0; b < B; b++) {
            const float *g = dout + (size_t)b * N * C;
            for (int c = 0; c < C; c++) dcls[c] += g[c];
        }
        flops_add((double)B * C); // 1 add per element
    }
    if (dpos) {
        // threads own rows n of dpos; each sums over the batch
#pragma omp parallel for if ((long)B * N * C >= PAR_MIN_ELEMS)
        for (int n = 0; n < N; n++) {
            float *d = dpos + (size_t)n * C;
            for (int b = 0; b < B; b++) {
                const float *g = dout + ((size_t)b * N + n) * C;
                for (int c = 0; c < C; c++) d[c] += g[c];
            }
        }
        flops_add((double)B * N * C); // 1 add per element
    }
}

// inp (B,N,C), out (B,C) = inp[:, 0, :]; copies only, no FLOPs
void take_class_token_forward(float *out, const float *inp, int B, int N, int C) {
    for (int b = 0; b < B; b++) memcpy(out + (size_t)b * C, inp + (size_t)b * N * C, (size_t)C * sizeof(float));
}

// dout (B,C); dinp (B,N,C) row 0 of each image += dout (rows 1.. get nothing)
void take_class_token_backward(float *dinp, const float *dout, int B, int N, int C) {
    if (!dinp) return;
    for (int b = 0; b < B; b++) {
        float *d = dinp + (size_t)b * N * C;
        const float *g = dout + (size_t)b * C;
        for (int c = 0; c < C; c++) d[c] += g[c];
    }
    flops_add((double)B * C); // 1 add per element
}
