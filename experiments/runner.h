// runner.h: `wasibench run`: expand an experiment YAML into runs, skip the
// ones already complete in the results file, train the rest one by one and
// append each finished run to the HDF5 file. Ctrl-C / SIGTERM: the current
// run is written as interrupted, the file stays valid, exit code 130; the
// same command later resumes.
#ifndef WB_RUNNER_H
#define WB_RUNNER_H

#include "progress.h"
#include "budget.h"
#include "config.h"

#include <stdio.h>

typedef struct {
    const char *out;        // results file; NULL = the experiment's `output:`
    int dry_run;            // print the run list with analytic memory/FLOPs, train nothing
    int shard_i, shard_n;   // run every shard_n-th run starting at shard_i (0-based); n = 1: all
    int threads;            // <= 0: all cores
    ProgressMode progress;
    int rerun_changed;      // 1: runs stored with other settings are trained again and replaced
    int runs_per_rank;      // under mpirun: whole runs handed to the ranks as a work queue (no data parallelism)
    int ranks;              // --dry-run: also estimate the wall time on this many ranks (0 = none)
    double gflops;          // --dry-run: the rate per process for the estimate (0 = measure sgemm here)
} RunnerOptions;

// Exit codes (documented in `wasibench run --help`).
enum {
    EXIT_OK = 0,            // every selected run is complete (or diverged: a valid outcome)
    EXIT_FAILED_RUNS = 1,   // some runs failed (their error is in the file and on stderr)
    EXIT_USAGE = 2,         // bad command line or experiment file: nothing was run
    EXIT_RESULTS = 3,       // the results file could not be read or written
    EXIT_INTERRUPTED = 130  // Ctrl-C / SIGTERM: the current run was saved as interrupted
};

int runner_run(const char *yaml_path, const RunnerOptions *opt);

// What a run binds and loads, shared with `wasibench maxbatch` (maxbatch.c):
// the method with its settings (budget fitting included),
// and the weights file it starts from ("" = random init).
int runner_bind_method(const RunSpec *rs, FILE *log, ModelBinding *bind, BudgetFit *fit, WbError *err);
void runner_weights_path(const Experiment *ex, const char *out, const RunSpec *rs, char *path, size_t n);

#endif
