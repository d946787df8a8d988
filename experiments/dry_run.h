// dry_run.h: what `wasibench run --dry-run` prints (one line per run: the
// paper measure and FLOPs per step from the cost model, the stored status;
// then the sweep's wall-time estimate), and the resume rule the sweep and the
// dry run share.
#ifndef WB_DRY_RUN_H
#define WB_DRY_RUN_H

#include "experiments/config.h"
#include "experiments/results.h"
#include "experiments/runner.h"

// What the results file says of a run asked for: to do (absent, failed or
// interrupted), done (complete or diverged, both are results, with the same
// settings) or changed (a result made with other settings).
typedef enum { RESUME_TODO, RESUME_DONE, RESUME_CHANGED } RunResume;
RunResume run_resume_state(const RunSpec *rs, const RunSummary *prev);
// Say on stderr which setting of the first changed run differs, and the way out
// (--rerun-changed) unless rerun is set.
void run_report_changed(const char *out, const RunSpec *rs, int n_changed, int rerun);
// The dry run's table for the selected runs sel[0..nsel) against the stored ones.
void dry_run_print(const Experiment *ex, const int *sel, int nsel, const RunList *done, const char *out,
                   const RunnerOptions *opt);

#endif
