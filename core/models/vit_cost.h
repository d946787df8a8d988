// vit_cost.h: closed-form FLOP counts of a ViT training step and inference
// forward, exactly as the kernels charge them (see the comments beside each
// flops_add), and the tracked memory of training by category (the
// saved-for-backward size table). Used by `wasibench run --dry-run` and
// `make bench`, cross-checked against the counters and the tracked
// allocator in tests/test_vit_cost.c. For FLOPs the linears bound to a
// method are priced by a callback, so each method keeps its own formula.
#ifndef WB_VIT_COST_H
#define WB_VIT_COST_H

#include "core/runtime/memory.h"
#include "core/models/linear_plan.h"
#include "core/models/vit.h"

typedef struct { double forward, backward, recompute; } FlopCount;   // recompute: memory.recompute's re-runs

// FLOPs of one linear layer for `rows` token rows: forward, and backward
// with (need_dx) or without the input gradient; bias 0 for a layer without
// one (LinearLayer.no_bias). Dense: 2 rows I O + rows O forward, 4 rows I O
// + rows O backward (2 rows I O less without dx; each rows O term is the
// bias and goes with bias 0). The ViT's and Swin's linears all have a bias.
typedef FlopCount (*LinearCostFn)(const void *ctx, int block, int which, long rows, int I, int O, int need_dx, int bias);
FlopCount dense_linear_cost(long rows, int I, int O, int need_dx, int bias);

// One training step (forward + backward, optimizer excluded: its count
// depends on the optimizer and on whether clipping fires) of a model with
// every parameter trainable (num_of_finetune: all), batch B. lin prices the
// linears (NULL: all dense).
FlopCount vit_step_flops(const ViTConfig *c, int B, LinearCostFn lin, const void *ctx);
// One inference forward at batch B with dense linears.
double vit_inference_flops(const ViTConfig *c, int B);

// --- memory: the saved-for-backward size table and everything else ------------
// Tracked bytes (core/runtime/memory.h categories) a ViT holds while it trains:
// everything is sized once by vit_build and the linears' init (from B and
// the config), and a training step allocates nothing (SGD without momentum;
// with momentum/AdamW the optimizer state appears at the first update), so
// the peak of a step is this table plus the caller's batch. Mirrors the
// allocations of vit.c (model tensors, saved activations, workspace),
// params.c (64-byte padding per tensor, the ParamInfo tables), and per
// method: vanilla/dense (core/nn/linear_dense.c), lora (baselines/lora.c), asi
// (baselines/act_dense.c) and wasi dense/factored (baselines/wasi.c) with FIXED
// activation ranks, plus the one shared HOSVD workspace (core/compress/act_store.c,
// hosvd_work_sizes: each buffer at its largest need over the layers) and the
// wasi layers' shared scratch (baselines/wasi.c, the same rule). Not predicted (each well under 0.1% at vit_b_32): the
// methods' private state structs (< 1 KB per layer) and LAPACK's work arrays
// (queried from the library at init, ~32 k floats per orth/QR workspace).
// hosvd and activation ranks from energy are data-dependent: not supported.
// MemPlan: core/models/linear_plan.h (act_shared here: LayerNorm inputs and statistics, q/k/v and
// attention probabilities, GELU input (fc1 output), class token, final LayerNorm, softmax).

// bind: method (NULL = dense; "vanilla", "lora", "asi", "wasi"), mcfg
// (lora_rank; act_ranks for asi/wasi, or bind->layer_act_ranks per counted
// linear; factored), all_linear; num_finetune must be -1 (all). weight_ranks
// (n_counted, forward order): wasi's k per counted linear (it comes from the
// SVD of W, not from the config); NULL for other methods. opt_state: floats of
// optimizer state per trainable parameter once stepped (optim_state_buffers).
MemPlan vit_memory_plan(const ViTConfig *c, int B, const ViTBinding *bind, const int *weight_ranks, int opt_state);

#endif
