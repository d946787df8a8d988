// cost.h: the analytic cost of one run for `wasibench run --dry-run`: the
// paper's memory measure of the counted linears and the FLOPs of one
// training step, from closed forms (no model is built). Quantities that
// depend on data or weights (hosvd's activation ranks, wasi's weight rank
// from the SVD of W) are reported as unknown (NaN) rather than guessed.
#ifndef WB_COST_H
#define WB_COST_H

#include "config.h"

typedef struct {
    double paper_act_mb, paper_weight_mb;  // NaN when data-dependent
    double train_flops_per_step;           // forward + backward, NaN when unknown
} MethodCost;

void method_cost(const RunSpec *rs, MethodCost *c);

#endif
