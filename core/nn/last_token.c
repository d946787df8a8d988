// last_token.c: the pooling of LlamaForSequenceClassification: each
// sequence is represented by its last non-padding token, row len[b] - 1.
#include "core/nn/llama_layers.h"
#include "core/runtime/common.h"
#include "core/runtime/counters.h"

#include <string.h>

// inp (B,T,C), len (B) in [1,T], out (B,C)
void last_token_forward(float *out, const float *inp, const int *len, int B, int T, int C) {
    for (int b = 0; b < B; b++) {
        CHECK(len[b] >= 1 && len[b] <= T, "sequence %d has length %d outside [1, %d]", b, len[b], T);
        memcpy(out + (size_t)b * C, inp + ((size_t)b * T + (size_t)(len[b] - 1)) * C, sizeof(float) * (size_t)C);
    }
}

// dout (B,C); dinp (B,T,C) row len[b]-1 of sequence b += dout[b]
void last_token_backward(float *dinp, const float *dout, const int *len, int B, int T, int C) {
    if (!dinp) return;
    for (int b = 0; b < B; b++) {
        float *d = dinp + ((size_t)b * T + (size_t)(len[b] - 1)) * C;
        const float *g = dout + (size_t)b * C;
        for (int c = 0; c < C; c++) d[c] += g[c];
    }
    flops_add((double)B * C); // 1 add per element
}
