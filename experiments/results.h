// results.h: the HDF5 results file of an experiment (schema in
// results/README.md). One file per experiment, one group per run at
// /runs/<name>. The runner fills a RunResult and calls results_write_run
// once per finished run; `wasibench info` and resume read summaries back
// with results_list; shards are joined with results_merge.
//
// Crash safety: every write goes to <path>.tmp (a copy of the file plus the
// new run), is fsynced and renamed over <path>. A kill at any moment leaves
// <path> either as it was or with the new run complete. One writer per file:
// a sweep holds results_lock for its whole length.
//
// Errors: functions return -1 (or NULL) and fill WbError with the file, the
// HDF5 call that failed (source file:line) and a hint. HDF5's own error
// stack printing is switched off by every entry point.
#ifndef WB_RESULTS_H
#define WB_RESULTS_H

#include <stdint.h>
#include <stdio.h>

#include "core/runtime/common.h"
#include "core/runtime/counters.h"
#include "core/runtime/memory.h"
#include "core/compress/subspace_track.h"
#include "core/compress/act_spectrum.h"

#define RES_SCHEMA_VERSION 1
#define RES_NAME_MAX 256      // run name incl. '/' separators (stage/run)
#define RES_LAYER_NAME_MAX 128

// over_cap: the planned peak exceeded memory.cap, stopped before the model was
// allocated (a result like diverged: resume skips it unless its settings change)
typedef enum { RUN_COMPLETE = 0, RUN_DIVERGED, RUN_INTERRUPTED, RUN_FAILED, RUN_OVER_CAP, RUN_NSTATUS } RunStatus;
const char *run_status_name(RunStatus s);          // "complete", "diverged", "interrupted", "failed", "over_cap"
int run_status_parse(const char *s, RunStatus *out); // 0, or -1 when s is none of them

// One row per evaluated epoch. Accuracies are fractions in [0, 1].
typedef struct {
    int32_t epoch;            // 1-based
    double train_loss, train_acc, val_loss, val_acc;
    double lr;                // learning rate at the end of the epoch
    double seconds;           // wall time of the epoch (training + evaluation)
} EpochRow;

// One row per optimizer step.
typedef struct {
    int64_t step;             // 1-based global step
    int32_t epoch;
    double loss, lr;
} StepRow;

// One row per counted linear layer (in model order).
typedef struct {
    char name[RES_LAYER_NAME_MAX]; // torchvision prefix, e.g. "encoder.layers.encoder_layer_0.mlp.0"
    int32_t in_features, out_features; // I, O
    int32_t weight_rank;      // k (0 = dense)
    int32_t act_ranks[4];     // k1..k4 (0 = not compressed / unused mode)
    double paper_act_mb;      // paper measure: activation memory saved for backward, MB (2^20 bytes, float32)
    double paper_weight_mb;   // paper measure: weight memory kept, MB
} LayerRow;

// Inference latency over every evaluated validation batch of the run.
typedef struct {
    int64_t batches;          // number of timed batches
    int32_t batch_size;
    double mean_s, min_s, max_s;
} InferenceStats;

// Everything results_list returns per run: the scalar attributes of its group.
// Strings are NUL-terminated; values not applicable are NaN (floats) or 0.
typedef struct {
    char name[RES_NAME_MAX];  // "finetune/wasi-eps0.7-seed233" -> group /runs/finetune/wasi-eps0.7-seed233
    RunStatus status;
    char error[WB_ERRLEN];    // failed/diverged: why, e.g. "NaN loss at epoch 2 step 37"; else ""
    // settings
    char method[16];          // vanilla | lora | hosvd | asi | wasi
    double epsilon;           // NaN when the method has none
    int32_t lora_rank;        // 0 when not lora
    double budget_mb;         // 0 = no budget; else the budget asked for (MB, the paper measure)
    double budget_used_mb;    // with a budget: the paper measure the run used (paper_total_mb); NaN without
    int32_t over_budget;      // 1: the method could not fit budget_mb (its cheapest setting ran instead)
    int32_t skipped_items;    // images dropped as corrupt or missing (dataset.skip_corrupt), train + val; -1: not recorded (older file)
    char energy_source[512];  // the meter that measured the run's energy (core/runtime/energy.h), "" = none (no energy table)
    double train_joules_per_step;      // host energy of the training phases per step; NaN without a meter
    double inference_joules_per_batch; // per validation batch; NaN without a meter
    // dataset.eval_split test | both: the trained model on the format's official test set
    // (optional attributes: NaN / 0 when not evaluated, and in older files)
    double final_test_loss, final_test_acc;
    int32_t test_items;
    uint64_t seed;
    char layers[16];          // "mlp" | "all_linear"
    int32_t num_of_finetune;  // -1 = all
    char model[64];           // preset name, e.g. "vit_tiny"
    char dataset[64];         // e.g. "fashion-mnist"
    char storage[16];         // wasi: "dense" | "factored"; else ""
    char variant[64];         // the method's other choices away from their defaults, "key=value"
                              // separated by spaces (e.g. "weight_update=svd"); "" = defaults
    // identity (confighash.h): config_hash is derived by results_write_run
    // from config_yaml; experiment_hash (the whole expanded experiment) is
    // set by the runner, "" when unknown. Files without them: config_hash is
    // computed from the stored config_yaml, experiment_hash is "".
    char config_hash[20];
    char experiment_hash[20];
    // provenance
    char code_version[64];    // git describe --always --dirty
    char compiler[128];       // e.g. "gcc 12.2.0"
    char cflags[512];
    char blas[128];
    int32_t threads;
    char host[128];
    char start_time[32], end_time[32]; // ISO 8601 UTC, "2025-11-25T12:06:00Z"
    double wall_seconds;
    // outcome (accuracies are fractions in [0, 1])
    double final_train_loss, final_train_acc, final_val_loss, final_val_acc;
    double paper_act_mb, paper_weight_mb; // paper measure over the counted linears, MB (2^20 bytes)
    uint64_t peak_rss_bytes;  // process VmHWM
    uint64_t trainable_params;
    // derived by results_write_run from the tables of RunResult (input ignored)
    double paper_total_mb;         // = paper_act_mb + paper_weight_mb
    uint64_t peak_tracked_bytes;   // = mem.total_peak
    int32_t epochs_done;           // = n_epochs
    int64_t steps_done;            // = train_steps
    double train_flops_per_step;   // (forward + backward + decomposition + update FLOPs) / train_steps
    double train_seconds_per_step; // same phases, seconds
} RunSummary;

// What the runner hands over for one run. Pointers are borrowed (not freed).
typedef struct {
    RunSummary s;             // identity, settings, provenance, outcome
    const char *config_yaml;  // the run's full resolved config (required, may be "")
    const EpochRow *epochs; int n_epochs;
    const StepRow *steps; long n_steps;
    const LayerRow *layers; int n_layers;
    // Optional rank history for rank stability: (n_rank_epochs, n_layers, 5)
    // ints per row {weight_rank, k1, k2, k3, k4}, layers in `layers` order;
    // rank_epochs (n_rank_epochs) are the epoch numbers. NULL/0 = none.
    const int32_t *rank_epochs; const int32_t *layer_ranks; int n_rank_epochs;
    // Optional subspace-stability log (core/compress/subspace_track.h): rows
    // ordered by epoch then layer, layer = row of `layers`. NULL/0 = none.
    const SubspaceRow *subspace; int n_subspace;
    // Optional activation spectrum (core/compress/act_spectrum.h; training.log_spectrum):
    // rows by layer, mode, index; layer = row of `layers`. NULL/0 = none.
    const SpectrumRow *spectrum; int n_spectrum;
    int replace_complete;     // 1: a complete run of this name may be replaced (run --rerun-changed)
    MemStats mem;             // mem_stats() at the end of the run (peaks since the run's mem_reset_peaks)
    Counters counters;        // counters_get() at the end (since the run's counters_reset)
    long train_steps;         // optimizer steps: divisor of the training phases' per-step numbers
    InferenceStats inference; // inference phase per-step numbers are per timed batch
} RunResult;

// Zero everything, set the floating outcome/settings fields and the
// inference latencies to NaN (a run that fails early writes "not measured",
// not 0) and config_yaml to "".
void results_init(RunResult *r);

// Append run r->s.name to the file at path (created if missing; its
// directory must exist). Refuses (error) when a *complete* run of that name
// is already there (unless r->replace_complete); a run of that name with another status (an earlier failed
// or interrupted attempt) is replaced. The file at path is only ever replaced
// whole by rename; on any error it is left as it was. Returns 0 or -1.
int results_write_run(const char *path, const RunResult *r, WbError *err);

typedef struct {
    int n;
    RunSummary *runs;         // (n) in write order, stage by stage; mem_alloc'd (MEM_WORKSPACE, ~3 KB a run)
} RunList;

// Summaries of every run in the file. A missing file is an empty list (0);
// an unreadable, corrupt or foreign file is -1 with the reason.
int results_list(const char *path, RunList *out, WbError *err);
void results_list_free(RunList *l);
const RunSummary *results_find(const RunList *l, const char *name); // NULL when absent

// The stored resolved config of one run (mem_alloc'd text, free with mem_free).
int results_read_config(const char *path, const char *run, char **yaml, WbError *err);

// The epoch table of one run: *rows (mem_alloc'd, free with mem_free; NULL
// when empty) and *n. Missing file or run is an error.
int results_read_epochs(const char *path, const char *run, EpochRow **rows, int *n, WbError *err);

// Join shard files into out (written atomically; out may be one of the
// inputs, any other content of out is replaced). A run in several inputs:
// the first complete copy is kept, else the first copy; each extra complete
// copy counts one warning, printed to log (if not NULL). Refuses (-1, out
// untouched) when a run's copies differ in config_hash, or when an input
// shares no experiment_hash with the first input (shards of another
// experiment). Returns the number of warnings, or -1.
int results_merge(const char *out, const char *const *inputs, int n_inputs, FILE *log, WbError *err);

// An aligned table of every run (status, method, settings, accuracy, memory,
// FLOPs, time) to out. A missing file prints a "no runs" line. 0 or -1.
int results_print_info(const char *path, FILE *out, WbError *err);

// One writer per results file. results_lock takes an exclusive advisory lock
// (flock) on the sidecar <path>.lock, created in the results folder, and
// writes the holder's pid into it; the runner holds it for a whole sweep,
// before anything trains. Creating the sidecar is also the check that the
// folder accepts new files (every write creates <path>.tmp there), so an
// unwritable folder fails here, not after the first run trained. (The lock
// is on the sidecar, not on <path>: every write replaces <path> by rename.)
// Returns -1 when the folder refuses the file, or when another process holds
// the lock (the message names <path> and that process's pid when it is
// known); the folder must exist. results_unlock removes the sidecar and
// releases the lock (a no-op on RESULTS_LOCK_NONE); a killed holder leaves
// the sidecar behind unlocked, and the next results_lock takes it over.
typedef struct {
    int fd;                   // -1 when not held
    char path[4096];          // <path>.lock
} ResultsLock;
#define RESULTS_LOCK_NONE {-1, {0}}
int results_lock(const char *path, ResultsLock *lk, WbError *err);
void results_unlock(ResultsLock *lk);

// "YYYY-MM-DDThh:mm:ssZ" of the current time (UTC) into buf.
void results_now_iso8601(char buf[32]);

// The /maxbatch table (wasibench maxbatch, results/README.md): per run and
// cap, the largest batch whose planned peak fits, confirmed by one step.
typedef struct {
    char run[RES_NAME_MAX];
    char method[16];
    double epsilon;             // NaN when the method has none
    double cap_bytes;
    int32_t max_batch;          // 0: not even B = 1 fits (or cannot plan)
    int32_t plan_exact;         // 1: the plan is exact; 0: an upper bound (wasi's k or activation ranks not known before the run)
    double plan_bytes;          // planned peak at max_batch (data included)
    double measured_bytes;      // tracked peak of one real training step at max_batch (model, batch, step); NaN when not confirmed
    double error_pct;           // 100 (measured - plan) / plan; NaN when not confirmed
    double build_peak_bytes;    // tracked peak while building and loading that model (init transients, not planned); NaN when not confirmed
} MaxBatchRow;

// Merge rows into path's /maxbatch (a row with the same run and cap is
// replaced); the file must exist (run it first, or it is created empty).
int results_write_maxbatch(const char *path, const MaxBatchRow *rows, int n, WbError *err);
// The rows of /maxbatch (mem_alloc'd workspace, NULL and 0 when the file has
// none, as older files): 0, or -1 with err.
int results_read_maxbatch(const char *path, MaxBatchRow **rows, int *n, WbError *err);

#endif
