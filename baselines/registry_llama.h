// registry_llama.h: the closed-form paper measure of a Llama decoder
// (baselines/registry.h has the ViT's and the per-linear formula), so the
// dry run can quote the paper's numbers for TinyLlama at batch 8, length
// 128, without allocating its 4.4 GB of weights.
#ifndef WB_REGISTRY_LLAMA_H
#define WB_REGISTRY_LLAMA_H

#include "baselines/registry.h"
#include "core/models/llama.h"

// Closed-form llama_paper_memory() for a model built as llama_build(cfg,
// bind, B) with bind->method = method_by_name(method): sums
// method_paper_elems over the counted linears of the trainable layers (the
// last bind->num_finetune decoder layers; all with -1), per layer in
// forward order q, k, v, o, gate, up, down (layers: mlp counts gate, up,
// down; all_linear all seven; attention q, k, v, o), each on its
// activation (B, T, I). ranks (n_counted, forward order) or NULL.
LlamaPaperMemory llama_methods_paper_memory(const LlamaConfig *cfg, int B, const LlamaBinding *bind, const char *method,
                                            const LayerRanks *ranks);

#endif
