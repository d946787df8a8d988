// maxbatch.h: the memory cap (config `memory.cap`, `wasibench maxbatch --cap`):
// sizes like "2GiB", the planned peak of a run before any model exists
// (the model family's memory plan, plus the run's data), and the largest
// batch per run whose plan fits a cap (binary search over B on the planner,
// confirmed by one real training step).
#ifndef WB_MAXBATCH_H
#define WB_MAXBATCH_H

#include "experiments/config.h"
#include "experiments/results.h"
#include "core/models/vit_cost.h"
#include "core/runtime/mem_size.h"
#include "experiments/run_plan.h"

// `wasibench maxbatch`: per cap of caps[0..n_caps) (each > 0; n_caps 0: each
// run's memory.cap) and run of the experiment, the largest batch whose planned
// peak fits, confirmed by one real training step unless confirm is 0; prints a
// table per cap and writes the rows (one per run and cap) to the results file
// (out, or the experiment's output). Returns an exit code (runner.h).
int maxbatch_run(const char *yaml, const char *out, const double *caps, int n_caps, int confirm);

#endif
