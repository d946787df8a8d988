// run_plan.h: the planned peak of a run before any model exists (the model
// family's memory plan at the run's batch and binding, plus its data), for
// memory.cap (the runner stops a run whose plan exceeds it before
// allocating) and `wasibench maxbatch` (experiments/maxbatch.h).
#ifndef WB_RUN_PLAN_H
#define WB_RUN_PLAN_H

#include "experiments/config.h"
#include "core/models/model.h"

// The planned peak of run rs at batch B by category (MEM_DATA: the batch
// buffers plus data_bytes, what the run holds of its data besides them).
// weight_ranks: wasi's k per counted linear, or NULL for an upper bound
// (k = min(I, O), the most an SVD can keep). 0, or -1 with why[] when the run
// cannot be planned (Swin, num_of_finetune, activation ranks from energy or
// from a budget, ...).
// bind: the run's binding (runner_bind_method). exact: 0 when a bound stands
// in for data-dependent sizes (wasi's k; activation ranks from epsilon or the
// DP: full ranks). bind_used (may be NULL): the binding the plan describes
// (with those bounds), to build a model that the plan predicts.
int run_memory_plan(const RunSpec *rs, const ModelBinding *bind, int B, const int *weight_ranks, double data_bytes,
                    MemPlan *plan, int *exact, ModelBinding *bind_used, char *why, size_t why_cap);
// One line "weights 1.2 MB, gradients ..., total 3.4 MB" of a plan.
void mem_plan_format(char *buf, size_t cap, const MemPlan *p);

#endif
