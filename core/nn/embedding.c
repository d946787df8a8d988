// embedding.c: the token embedding (torch.nn.Embedding, Hugging Face
// model.embed_tokens): a gather of rows of wte by token id; backward
// scatter-adds into dwte in row order, so repeated ids sum deterministically.
#include "core/nn/llama_layers.h"
#include "core/runtime/common.h"
#include "core/runtime/counters.h"

#include <string.h>

// ids (BT) in [0,V), wte (V,C), out (BT,C)
void embedding_forward(float *out, const int *ids, const float *wte, int BT, int V, int C) {
    for (int r = 0; r < BT; r++) {
        CHECK(ids[r] >= 0 && ids[r] < V, "token id %d at position %d is outside the vocabulary [0, %d)", ids[r], r, V);
        memcpy(out + (size_t)r * C, wte + (size_t)ids[r] * C, sizeof(float) * (size_t)C);
    }
}

// dout (BT,C), dwte (V,C) += ; serial: two positions may hold the same id
void embedding_backward(float *dwte, const float *dout, const int *ids, int BT, int C) {
    if (!dwte) return;
    for (int r = 0; r < BT; r++) {
        float *d = dwte + (size_t)ids[r] * C;
        const float *g = dout + (size_t)r * C;
        for (int c = 0; c < C; c++) d[c] += g[c];
    }
    flops_add((double)BT * C); // 1 add per element
}
