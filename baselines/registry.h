// registry.h: the training methods by name (vanilla, lora, hosvd, asi, wasi)
// and the paper's memory measure in closed form, so a config can name a
// method and a report can quote the paper's numbers for any model size
// without allocating it (vit_b_32 at batch 128 would need GBs).
#ifndef WB_REGISTRY_H
#define WB_REGISTRY_H

#include "core/linear_method.h"
#include "core/vit.h"

// NULL for an unknown name.
const LinearMethod *method_by_name(const char *name);
const char *method_names(void);   // "vanilla, lora, hosvd, asi, wasi", for error messages

// Ranks of one counted linear that the closed form cannot know by itself:
// the weight rank k (wasi: from the SVD of W) and the activation ranks
// (hosvd: data-dependent). Entries are clipped to the mode sizes.
typedef struct {
    int weight_rank;
    int act_ranks[4];
} LayerRanks;

// Paper measure of ONE linear (elements, float32): what account() reports as
// paper_act_elems / paper_weight_elems after a training forward on an
// activation of dims (nd modes, last = I):
//   vanilla          act rows*I                    weight O*I
//   lora (r)         act rows*(I + r)              weight O*I + r(O+I)
//   hosvd, asi       act prod k_n + sum d_n k_n    weight O*I
//   wasi (k)         act prod k_n + sum d_n k_n    weight k(O+I)
// r from mcfg->lora_rank; k and k_n from lr (lr NULL: k_n from mcfg->act_ranks).
void method_paper_elems(const char *method, int O, const int *dims, int nd, const MethodConfig *mcfg,
                        const LayerRanks *lr, double *act_elems, double *weight_elems);

// Closed-form vit_paper_memory() for a model built as vit_build(cfg, bind, B)
// with bind->method = method_by_name(method): sums method_paper_elems over
// the counted trainable linears (layers: mlp or all_linear, num_finetune),
// each with activation dims (B, N, I). ranks (n_counted, forward order) or
// NULL (then every layer uses mcfg's act_ranks; wasi needs ranks for k).
ViTPaperMemory methods_paper_memory(const ViTConfig *cfg, int B, const ViTBinding *bind, const char *method,
                                    const LayerRanks *ranks);

#endif
