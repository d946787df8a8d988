// swin_cost.h: closed-form FLOP counts of a Swin Transformer training step
// and inference forward, exactly as the kernels charge them (the comments
// beside each flops_add in window_attention.c, patch_merging.c, avgpool.c,
// drop_path.c, layernorm.c, gelu.c, linear.c, loss.c), the Swin sibling of
// vit_cost.h (FlopCount, LinearCostFn, dense_linear_cost come from there).
// Used by `wasibench run --dry-run`; cross-checked against the counters in
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

#endif
