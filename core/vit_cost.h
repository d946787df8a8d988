// vit_cost.h: closed-form FLOP counts of a ViT training step and inference
// forward, exactly as the kernels charge them (see the comments beside each
// flops_add). Used by `wasibench run --dry-run` and cross-checked against
// the counters in tests/test_vit_cost.c. The linears bound to a method are
// priced by a callback, so each method keeps its own formula.
#ifndef WB_VIT_COST_H
#define WB_VIT_COST_H

#include "vit.h"

typedef struct { double forward, backward; } FlopCount;

// FLOPs of one linear layer for `rows` token rows: forward, and backward
// with (need_dx) or without the input gradient. Dense: 2 rows I O + rows O
// forward, 4 rows I O + rows O backward (2 rows I O less without dx).
typedef FlopCount (*LinearCostFn)(const void *ctx, int block, int which, long rows, int I, int O, int need_dx);
FlopCount dense_linear_cost(long rows, int I, int O, int need_dx);

// One training step (forward + backward, optimizer excluded: its count
// depends on the optimizer and on whether clipping fires) of a model with
// every parameter trainable (num_of_finetune: all), batch B. lin prices the
// linears (NULL: all dense).
FlopCount vit_step_flops(const ViTConfig *c, int B, LinearCostFn lin, const void *ctx);
// One inference forward at batch B with dense linears.
double vit_inference_flops(const ViTConfig *c, int B);

#endif
