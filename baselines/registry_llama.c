// registry_llama.c: the closed-form paper measure of a Llama decoder (see registry_llama.h).
#include "baselines/registry_llama.h"
#include "core/runtime/common.h"

#include <string.h>

LlamaPaperMemory llama_methods_paper_memory(const LlamaConfig *cfg, int B, const LlamaBinding *bind, const char *method,
                                            const LayerRanks *ranks) {
    const int C = cfg->dim, M = cfg->hidden, L = cfg->layers, T = cfg->seq_len;
    const int KV = cfg->kv_heads * (cfg->dim / cfg->heads);   // k and v rows: NKV heads of hd
    const int n_train = bind->num_finetune < 0 ? L : bind->num_finetune;
    CHECK(n_train >= 0 && n_train <= L, "num_finetune %d: the model has %d decoder layers", n_train, L);
    Llama probe;   // the counted rule is the model's own (llama_is_counted reads only the binding)
    memset(&probe, 0, sizeof probe);
    probe.bind = *bind;
    LlamaPaperMemory pm = {0, 0, 0};
    for (int l = L - n_train; l < L; l++)
        for (int w = 0; w < LLAMA_NLIN; w++) {
            if (!llama_is_counted(&probe, l, w)) continue;
            const int I = w == LLAMA_DOWN ? M : C;
            const int O = (w == LLAMA_K || w == LLAMA_V) ? KV : (w == LLAMA_GATE || w == LLAMA_UP) ? M : C;
            int dims[3] = {B, T, I};
            paper_memory_add(&pm, method, O, dims, 3, &bind->mcfg, ranks);
        }
    return pm;
}
