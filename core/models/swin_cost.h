// swin_cost.h: closed-form FLOP counts of a Swin Transformer training step
// and inference forward, exactly as the kernels charge them (the comments
// beside each flops_add in window_attention.c, patch_merging.c, avgpool.c,
// drop_path.c, layernorm.c, gelu.c, linear.c, loss.c), the Swin sibling of
// vit_cost.h (FlopCount, LinearCostFn, dense_linear_cost come from there).
// Used by `wasibench run --dry-run`, `wasibench maxbatch` and memory.cap;
// cross-checked against the counters and the tracked allocator in
// tests/test_swin_cost.c.
#ifndef WB_SWIN_COST_H
#define WB_SWIN_COST_H

#include "core/models/swin.h"
#include "core/models/vit_cost.h"

// One training step (forward + backward, optimizer excluded) of a model with
// every parameter trainable (num_of_finetune: all), batch B, stochastic depth
// as configured (a block with p > 0 charges its scaled residuals). lin
// prices the four linears of every block (NULL: all dense); it is called with
// block = index in forward order, which = SWIN_QKV..SWIN_FC2, rows = B nW T
// (qkv, proj: padded windows included) or B H W (fc1, fc2), need_dx = 1,
// bias = 1.
// The patch merging reductions and the head are always dense.
FlopCount swin_step_flops(const SwinConfig *c, int B, LinearCostFn lin, const void *ctx);
// One inference forward (with the loss, as eval_batch) at batch B, dense linears.
double swin_inference_flops(const SwinConfig *c, int B);


// Tracked bytes (core/runtime/memory.h categories) a Swin holds while it
// trains, as vit_memory_plan (see its comment in vit_cost.h: everything is
// sized once by swin_build and the linears' init; SGD without momentum
// allocates nothing in a step, momentum/AdamW add opt_state floats per
// trainable parameter at the first update; the same leftovers are not
// predicted, in the workspace: the methods' private state structs and
// LAPACK's queried work arrays). Mirrors swin_build: the model's tables
// (blocks, linears, saved sets, relative position index, shifted-window
// mask regions), its trainable and frozen parameter sets (params.c padding
// and ParamInfo tables; the relative position bias tables, the merges'
// reductions and norms), the saved-for-backward table with the memory
// section (gelu_f16, softmax_f16; recompute: each block's input and one
// re-run set racts at the largest block's need), the drop-path scales, the
// patch merging saves, the workspace sized for the largest block; the
// linears through core/models/linear_plan.h with their 4-mode activations
// (recompute: one saved input per kind, swin.c rx).
// bind: method (NULL = dense; vanilla, lora, svdllm_lora, asi, wasi dense or
// factored, wsi), mcfg (lora_rank; fixed act_ranks k1..k4, or
// bind->layer_act_ranks), all_linear (0 mlp, 1 all four), num_finetune (-1
// all; n: the last n counted linears train, with everything after the
// first of them, as swin.c; 0: the head only). weight_ranks: per counted
// linear in swin_counted_index order (every block's, frozen ones included;
// their entries are not read): wasi/wsi's k, svdllm_lora's truncation rank
// K; NULL for the others. act_shared here: everything the model's own layers
// save (block sets, racts, drop-path scales, merges, embedding, final norm,
// pooled, probs).
MemPlan swin_memory_plan(const SwinConfig *c, int B, const ModelBinding *bind, const int *weight_ranks, int opt_state);

#endif
