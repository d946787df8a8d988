// registry_swin.h: the closed-form paper measure of a Swin Transformer
// (baselines/registry.h has the ViT's and the per-linear formula), so a
// report can quote the paper's numbers for swin_t at batch 128 without
// allocating it.
#ifndef WB_REGISTRY_SWIN_H
#define WB_REGISTRY_SWIN_H

#include "baselines/registry.h"
#include "core/models/swin.h"

// Closed-form swin_paper_memory() for a model built as swin_build(cfg, bind, B)
// with bind->method = method_by_name(method): sums method_paper_elems over
// the counted trainable linears in forward order (per block qkv, proj, fc1,
// fc2; layers: mlp counts fc1 and fc2), each with its 4-mode activation
// dims: qkv, proj (B, nW, T, C) with padded windows; fc1 (B, H, W, C);
// fc2 (B, H, W, 4C). ranks (n_counted, forward order) or NULL (every layer
// uses mcfg's act_ranks; wasi needs ranks for k).
SwinPaperMemory swin_methods_paper_memory(const SwinConfig *cfg, int B, const SwinBinding *bind, const char *method,
                                          const LayerRanks *ranks);

#endif
