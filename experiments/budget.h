// budget.h: the equal-memory comparison. With `budget_mb: B` every method
// picks its own settings so that its training memory in the paper's
// measure (saved activations + weights of the trained counted linears,
// float32 MB) fits B, and logs what it chose. How is the method's own
// (its LinearMethod's fit_budget and budget_act_elems, see `wasibench help
// methods`); today:
//   lora   the largest rank r whose closed-form measure fits (r >= 1)
//   asi    activation ranks by the DP with budget B - (dense weights)
//   wasi   the largest epsilon (<= its `epsilon`, on a 0.01 grid) whose
//          weights sum_l k_l(eps)(O+I) plus the minimum activation memory
//          fit; then activation ranks by the DP with what is left
// When nothing fits, the cheapest setting is used and a warning says so.
#ifndef WB_BUDGET_H
#define WB_BUDGET_H

#include "config.h"
#include "core/nn/linear_method.h"

// The run's budget for the method's hooks: its closed-form paper measure of
// the run's model at any MethodConfig, the largest rank of its linears.
// log NULL: quiet. f refers to rs; keep rs alive while f is used.
void budget_fit_init(BudgetFit *f, const RunSpec *rs, FILE *log);

#endif
