// plot_data.h: what the figure exporters share (experiments/plot.c: the
// run selection, the generic figures, rendering; plot_paper.c: the paper's
// figures; table.c: the paper-column tables). Internal; the commands are
// plot.h and table.h.
#ifndef WB_PLOT_DATA_H
#define WB_PLOT_DATA_H

#include <stdio.h>

#include "core/runtime/common.h"
#include "core/runtime/counters.h"
#include "experiments/results.h"
#include "experiments/results_schema.h"

// The figures, in the order they are rendered. Each has plots/<name>.gp.
// The first FIG_GENERIC_N are `wasibench plot`'s, the rest `--paper`'s.
typedef enum {
    FIG_ACC_MEM = 0, FIG_FLOPS, FIG_TIME, FIG_MEMORY, FIG_RANKS, FIG_STABILITY, FIG_CURVES, FIG_ENERGY, FIG_MAXBATCH,
    FIG_GENERIC_N,
    FIG_P3A = FIG_GENERIC_N, FIG_P3B, FIG_P4, FIG_P5, FIG_P6, FIG_P7, FIG_P8, FIG_P9,
    FIG_N
} FigId;
extern const char *const plot_fig_name[FIG_N];

#define PATH_CAP 4096
#define LABEL_CAP 192

// Everything one run contributes to the figures.
typedef struct {
    const RunSummary *s;
    char stage[RES_NAME_MAX];            // run name before the last '/', "" when none
    RunTables tab;                       // memory, flops, time, layers, rank history (results reader)
    EpochRow *epochs; int n_epochs;
} RunData;

// Smallest and largest finite value seen (n = how many); lo_pos: smallest > 0.
typedef struct { double lo, hi, lo_pos; int n; } Range;

// Runs of one setting (all seeds): a contiguous range of the sorted index.
typedef struct {
    int start, n;                        // order[start .. start+n)
    char label[LABEL_CAP];               // "wasi eps=0.7", "lora r=8", "vanilla" (+ varying context)
    char series[LABEL_CAP];              // accuracy figure series: method (+ varying context)
    char point[64];                      // accuracy figure point label: "eps=0.7", "r=8", ""
} Group;

typedef struct {
    const char *h5path, *outdir;
    WbError *err;
    FILE *log;
    RunList list;
    RunData *runs;                       // (list.n)
    int n_runs_read;                     // of them allocated (to free)
    char stage[RES_NAME_MAX];            // the stage shown
    int *order; int n_order;             // complete runs of the stage, sorted by setting then seed
    Group *groups; int n_groups;
    int *curve_runs; int n_curves;       // runs of the stage (any status) with epochs
    char footnote[1024];
    int has_data[FIG_N];
    char why_empty[FIG_N][512];
    int paper;                           // --paper: render the paper figures instead of the generic ones
    // Ranges of what the scripts plot (finite values only), for info.gp: the
    // scripts choose log scales and skip empty panels from these, since
    // gnuplot's own `stats` fails on a column without a valid value.
    Range acc_x, acc_rss, flops, time_train, time_infer, mem_totals, epochs, energy;
    int stab_angles;                     // 1: a rank-history run has the subspace log (rank_stability.gp's angle row)
} Plot;

// Mean and sample standard deviation over the finite values added.
typedef struct { double sum, sum2; int n; } Acc;
void pl_acc_add(Acc *a, double v);
double pl_acc_mean(const Acc *a);
double pl_acc_std(const Acc *a);
void pl_range_add(Range *r, double v);
// A run's per-step value of PHASE_RECOMPUTE (memory.recompute's re-run
// forwards), 0 for files written before the phase existed (they read NaN).
double pl_recompute(const double *by_phase);
// A run's whole-process peak RSS (VmHWM) in MB, NaN when the file has none;
// and its peak of the tracked total (every category) in MB.
double pl_rss_mb(const RunData *rd);
double pl_tracked_mb(const RunData *rd);

// A data file in the output directory: a comment line, a column-names line.
typedef struct { Plot *p; FILE *f; char path[PATH_CAP]; } Out;
int pl_open(Plot *p, Out *o, const char *name, const char *comment, const char *columns);
int pl_close(Out *o);
void pl_num(FILE *f, double v);                       // " %.10g", NaN as "NaN"
void pl_str(FILE *f, const char *s, int first);       // a quoted string (leading space unless first)
void pl_gp_str(FILE *f, const char *s);               // a gnuplot string literal
void pl_gp_array(FILE *f, const char *name, int n, const char *const *items);
void pl_gp_int_array(FILE *f, const char *name, int n, const int *v);
void pl_gp_range(FILE *f, const char *name, const Range *r);   // name_n, name_lo, name_hi, name_lo_pos (NaN when none)
int pl_wrap_lines(char *s, int width);                         // break at spaces into lines <= width; the line count
void pl_append(char *dst, size_t cap, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
const RunData *pl_member(const Plot *p, const Group *g, int k);   // k-th run (seed) of a group
int pl_stage_shown(const Plot *p, const char *run_name);        // the run's stage is one of the shown ones
// The setting label of a run ("wasi eps=0.7", "lora r=8", + the varying context), as the bars have.
void pl_run_label(const Plot *p, const RunSummary *s, char *dst, size_t cap);
void pl_short_layer(char *dst, size_t cap, const char *name);    // "3.fc1"
// The run of a weight-rank group (wasi, wsi, ...) the rank figures show: its
// first seed with a layers table (and a rank history when need_history); NULL.
const RunData *pl_rank_run(const Plot *p, const Group *g, int need_history);
const SubspaceRow *pl_sub_at(const RunTables *t, int epoch, int layer);

// The paper's quantities of one group, over its seeds: memory (the paper's
// measure, MB: training = counted linears' activations + weights, inference
// = their weights), GFLOP per training step / inference batch, ms likewise,
// final validation / test accuracy in % (test: NaN for an untested run).
typedef struct { Acc train_mem, infer_mem, train_gflop, infer_gflop, train_ms, infer_ms, val_acc, test_acc, rss, tracked; } GroupStats;
void pl_group_stats(const Plot *p, const Group *g, GroupStats *st);
int pl_all_tested(const Plot *p);   // every complete run shown has a test accuracy

// Path "<dir>/<name>" into dst (PATH_CAP); an error in p->err when it does not fit.
int pl_join(Plot *p, char *dst, const char *dir, const char *name);
// plot_render.c: copy the scripts, write render.sh, run gnuplot for every figure with data.
int pl_render(Plot *p, int svg_too);
// Read a results file and select its runs as `wasibench plot` does (the
// stage(s), complete runs grouped over seeds), writing nothing: for other
// views of the same groups (experiments/table.c). pl_free after either result.
int pl_load(Plot *p, const char *h5path, WbError *err);
void pl_free(Plot *p);

// plot_paper.c: the paper figures' data files (paper.dat, paper_fig3a.dat),
// their info.gp lines (appended to f), has_data and the reasons for the
// missing ones (why_empty, also DIR/<fig>_missing.txt).
int plot_paper_write(Plot *p, FILE *info);

// plot_maxbatch.c: maxbatch.dat (the file's /maxbatch rows of the shown
// stage, one block per setting, caps ascending), its info.gp lines (appended
// to f) and has_data / why_empty of FIG_MAXBATCH: a file without the table
// (older files, no `wasibench maxbatch` yet) skips the figure.
int plot_maxbatch_write(Plot *p, FILE *info);

#endif
