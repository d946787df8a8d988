// budget.h: the equal-memory comparison. With `budget_mb: B` every method
// picks its own settings so that its training memory in the paper's
// measure (saved activations + weights of the trained counted linears,
// float32 MB) fits B, and logs what it chose:
//   lora   the largest rank r whose closed-form measure fits (r >= 1)
//   asi    activation ranks by the DP with budget B - (dense weights)
//   wasi   the largest epsilon (<= its `epsilon`, on a 0.01 grid) whose
//          weights sum_l k_l(eps)(O+I) plus the minimum activation memory
//          fit; then activation ranks by the DP with what is left
// When nothing fits, the cheapest setting is used, a warning says so and
// *over is set to 1 (the run is stored with over_budget; strict_budget: true
// fails it instead).
#ifndef WB_BUDGET_H
#define WB_BUDGET_H

#include "config.h"
#include "core/rank_calib.h"

// lora: the rank to use under rs->budget_mb (call before model_build).
int budget_lora_rank(const RunSpec *rs, FILE *log, int *over);

// asi/wasi after rank_calib_measure_model (the model built with the probe
// and the run's weights; any model: rc holds its counted layers): the
// activation budget in elements for rank_calib_select, and for wasi the
// epsilon into *epsilon.
int64_t budget_activation_elems(const RunSpec *rs, const RankCalib *rc, float *epsilon, FILE *log, int *over);

#endif
