// maxbatch.h: the memory cap (config `memory.cap`, `wasibench maxbatch --cap`):
// sizes like "2GiB", the planned peak of a run before any model exists
// (vit_memory_plan, core/vit_cost.h, plus the run's data), and the largest
// batch per run whose plan fits a cap (binary search over B on the planner,
// confirmed by one real training step).
#ifndef WB_MAXBATCH_H
#define WB_MAXBATCH_H

#include "experiments/config.h"
#include "experiments/results.h"
#include "core/models/vit_cost.h"

// "2GiB", "512MB", "1.5G", "1e9", "1048576" -> bytes (K/M/G/T = powers of 1000
// with B or alone? no: KB/MB/GB/TB are powers of 1000, KiB/MiB/GiB/TiB and the
// bare K/M/G/T powers of 1024). 0, or -1 when s is not a size > 0.
int mem_parse_size(const char *s, double *bytes);
// "1GiB,2GiB,4GiB" -> caps[0..n), n <= max (one size is a list of one): n, or
// -1 with why[] naming the bad element (empty, not a size, a repeat) and what
// a size looks like.
int mem_parse_size_list(const char *s, double *caps, int max, char *why, size_t why_cap);
// "2.00 GiB" style, for messages.
void mem_format_size(char *buf, size_t cap, double bytes);

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

// `wasibench maxbatch`: per cap of caps[0..n_caps) (each > 0; n_caps 0: each
// run's memory.cap) and run of the experiment, the largest batch whose planned
// peak fits, confirmed by one real training step unless confirm is 0; prints a
// table per cap and writes the rows (one per run and cap) to the results file
// (out, or the experiment's output). Returns an exit code (runner.h).
int maxbatch_run(const char *yaml, const char *out, const double *caps, int n_caps, int confirm);

#endif
