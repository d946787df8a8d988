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
    double dense_flops_per_step;           // the same step with every linear dense and trained (vanilla)
    double eval_flops_per_item;            // one inference forward per validation item, dense linears
} MethodCost;

void method_cost(const RunSpec *rs, MethodCost *c);

// Wall-time estimate of a whole run (--dry-run), from counted-FLOP closed
// forms and a rate: steps = epochs x ceil(train items / batch) (capped by
// max_steps), train items = the format's official training records x
// (1 - val_fraction) x (kept classes / classes), or limit_train; plus one
// inference forward per validation item every eval_every epochs. A method
// whose step FLOPs depend on data or weights (wasi and hosvd at epsilon) is
// charged the dense step, an upper bound: *bounded is set to 1 then.
double run_seconds_estimate(const RunSpec *rs, const MethodCost *c, double flops_per_second, int *bounded);

// Wall time of a run list on P ranks of the --runs-per-rank work queue:
// runs of one stage go to whichever rank is free first (in list order, as
// the shared counter hands them out), stages one after another.
double queue_seconds_estimate(const Experiment *ex, const int *runs, const double *seconds, int n, int P);

// The rate of one well-shaped sgemm (1024^3, best of 3 after a warm-up) on
// this process's threads, FLOP/s: what --dry-run's estimate divides by.
double cost_measured_flops_per_second(void);

#endif
