// maxbatch.c: the memory cap and `wasibench maxbatch` (see maxbatch.h).
#include "experiments/maxbatch.h"
#include "experiments/budget.h"
#include "baselines/registry.h"
#include "baselines/wasi.h"
#include "experiments/runner.h"
#include "core/runtime/memory.h"
#include "core/runtime/rng.h"
#include "core/train/train.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAXBATCH_MAX_LINEARS 4096

// The batch buffers of a step at B (what the runner's x, y and batch indices take).
static double batch_bytes(const RunSpec *rs, int B) {
    return 4.0 * B * (double)model_config_item_floats(&rs->model) + 2.0 * sizeof(int) * B;
}

// The plan of rs at B; -1 when it cannot plan (why set).
static int plan_at(const RunSpec *rs, const ModelBinding *bind, int B, const int *ranks, MemPlan *p, int *exact, ModelBinding *used,
                   char *why, size_t cap) {
    return run_memory_plan(rs, bind, B, ranks, batch_bytes(rs, B), p, exact, used, why, cap);
}

// Build the model rs would train (bind, at B) with its starting weights.
static int build_model(Model *m, const RunSpec *rs, const ModelBinding *bind, int B, const char *wpath, WbError *err) {
    model_build(m, &rs->model, bind, B);
    if (wpath[0] && access(wpath, R_OK) == 0) {
        if (model_load(m, wpath, rs->new_head, rs->init_seed, err) < 0) { model_free(m); return -1; }
    } else {
        model_init_random(m, rs->init_seed);
    }
    return 0;
}

// The tracked peak (over what was live before) of one training step on a
// random batch at B, the model built and loaded (what the plan predicts), and
// in *build_peak the peak while building and loading it.
static double measure_step(const RunSpec *rs, const ModelBinding *bind, int B, const char *wpath, double *build_peak, WbError *err) {
    int S, Cin, K;
    model_config_io(&rs->model, &S, &Cin, &K);
    size_t base = mem_stats().total_current;
    mem_reset_peaks();
    Model m;
    float *x = mem_alloc_floats((size_t)B * (size_t)model_config_item_floats(&rs->model), MEM_DATA);
    int *y = mem_alloc(sizeof(int) * (size_t)B * 2, MEM_DATA);   // labels + the runner's batch indices
    if (build_model(&m, rs, bind, B, wpath, err) < 0) { mem_free(x); mem_free(y); return NAN; }
    Rng g;
    rng_seed(&g, rs->seed);
    model_config_random_input(&rs->model, x, B, &g);
    for (int i = 0; i < B; i++) y[i] = (int)rng_below(&g, (uint32_t)K);
    *build_peak = (double)(mem_stats().total_peak - base);   // init transients (e.g. an SVD's work): not in the plan
    mem_reset_peaks();
    train_step(&m, x, y, B, &rs->opt, rs->sched.lr, rs->grad_clip);
    double peak = (double)(mem_stats().total_peak - base);
    model_free(&m);
    mem_free(x);
    mem_free(y);
    return peak;
}

// wasi's k per counted linear (indexed as model_linear_counted_index, frozen
// ones included: the plan does not read those), from the run's starting weights.
static int weight_ranks_of(const RunSpec *rs, const ModelBinding *bind, const char *wpath, int *ranks, int max, WbError *err) {
    Model m;
    if (build_model(&m, rs, bind, 1, wpath, err) < 0) return -1;
    int n = 0;
    for (int i = 0; i < model_num_linears(&m); i++) {
        int ci = model_linear_counted_index(&m, i);
        if (ci < 0) continue;
        CHECK(ci < max, "more than %d counted linears", max);
        LinearLayer *L = model_linear(&m, i);
        ranks[ci] = L->trainable ? wasi_weight_rank(L) : 1;
        if (ci + 1 > n) n = ci + 1;
    }
    model_free(&m);
    return n;
}

// One row: search B on the plan, then confirm at the B found.
static void maxbatch_one(const Experiment *ex, const char *out, const RunSpec *rs, double cap, int confirm, MaxBatchRow *row) {
    memset(row, 0, sizeof *row);
    snprintf(row->run, sizeof row->run, "%s", rs->name);
    snprintf(row->method, sizeof row->method, "%s", rs->method);
    row->epsilon = (method_by_name(rs->method)->flags & (METHOD_WEIGHT_LOWRANK | METHOD_ACT_ENERGY)) ? rs->mcfg.epsilon : NAN;
    row->cap_bytes = cap;
    row->plan_bytes = row->measured_bytes = row->error_pct = row->build_peak_bytes = NAN;
    WbError err = {0};
    ModelBinding bind, used;
    BudgetFit fit;
    MemPlan p;
    char why[256] = "", wpath[CFG_PATH_MAX];
    int exact = 1, ranks[MAXBATCH_MAX_LINEARS], *rk = NULL;
    if (runner_bind_method(rs, NULL, &bind, &fit, &err) < 0 || plan_at(rs, &bind, 1, NULL, &p, &exact, &used, why, sizeof why) < 0) {
        printf("%-40s %-8s cannot plan: %s\n", rs->name, rs->method, err.msg[0] ? err.msg : why);
        return;
    }
    runner_weights_path(ex, out, rs, wpath, sizeof wpath);
    if (bind.method->flags & METHOD_WEIGHT_LOWRANK) {   // k does not depend on B: read it off a B = 1 model
        if (!wpath[0] || access(wpath, R_OK) == 0) {
            if (weight_ranks_of(rs, &used, wpath, ranks, MAXBATCH_MAX_LINEARS, &err) < 0) { printf("%-40s %s\n", rs->name, err.msg); return; }
            rk = ranks;
        }
    }
    // the largest B with plan <= cap: double until over, then bisect (the plan grows with B)
    long lo = 0, hi = 1;
    while (hi <= (1L << 20)) {
        plan_at(rs, &bind, (int)hi, rk, &p, &exact, &used, why, sizeof why);
        if (p.total > cap) break;
        lo = hi;
        hi *= 2;
    }
    while (hi - lo > 1) {
        long mid = (lo + hi) / 2;
        plan_at(rs, &bind, (int)mid, rk, &p, &exact, &used, why, sizeof why);
        if (p.total <= cap) lo = mid; else hi = mid;
    }
    row->max_batch = (int32_t)lo;
    if (lo < 1) { printf("%-40s %-8s not even batch 1 fits\n", rs->name, rs->method); return; }
    plan_at(rs, &bind, (int)lo, rk, &p, &exact, &used, why, sizeof why);
    row->plan_bytes = p.total;
    row->plan_exact = exact;
    if (confirm) {
        row->measured_bytes = measure_step(rs, &used, (int)lo, wpath, &row->build_peak_bytes, &err);
        row->error_pct = 100.0 * (row->measured_bytes - row->plan_bytes) / row->plan_bytes;
    }
    char ps[32], ms[32] = "";
    mem_format_size(ps, sizeof ps, row->plan_bytes);
    if (confirm && isfinite(row->measured_bytes)) mem_format_size(ms, sizeof ms, row->measured_bytes);
    printf("%-40s %-8s %8d  plan %12s%s", rs->name, rs->method, row->max_batch, ps, exact ? "" : " (bound)");
    if (isfinite(row->error_pct)) printf("  step %12s  error %+.2f%%", ms, row->error_pct);
    if (row->build_peak_bytes > row->measured_bytes) {   // say so: a run's peak is the larger of the two
        mem_format_size(ms, sizeof ms, row->build_peak_bytes);
        printf("  (building the model peaked higher: %s)", ms);
    }
    printf("\n");
}

int maxbatch_run(const char *yaml, const char *out, const double *caps, int n_caps, int confirm) {
    Experiment ex;
    WbError err = {0};
    if (cfg_load(&ex, yaml, &err) < 0) { fprintf(stderr, "wasibench maxbatch: %s\n", err.msg); return EXIT_USAGE; }
    const char *path = out ? out : ex.output;
    int passes = n_caps > 0 ? n_caps : 1;
    MaxBatchRow *rows = mem_alloc(sizeof(MaxBatchRow) * ((size_t)ex.n * (size_t)passes + 1), MEM_WORKSPACE);
    int n = 0, rc = EXIT_OK;
    for (int c = 0; c < passes; c++) {
        char cs[32] = "memory.cap of each run";
        if (n_caps > 0) mem_format_size(cs, sizeof cs, caps[c]);
        printf("%s%-40s %-8s %8s  (cap %s; plan = the model's memory plan + batch)\n", c ? "\n" : "", "run", "method", "max B", cs);
        for (int i = 0; i < ex.n; i++) {
            double cap = n_caps > 0 ? caps[c] : ex.runs[i].mem_cap;
            if (cap <= 0) { printf("%-40s no cap (give --cap or memory.cap)\n", ex.runs[i].name); continue; }
            maxbatch_one(&ex, path, &ex.runs[i], cap, confirm, &rows[n++]);
        }
    }
    if (n > 0 && results_write_maxbatch(path, rows, n, &err) < 0) {
        fprintf(stderr, "wasibench maxbatch: %s\n", err.msg);
        rc = EXIT_RESULTS;
    } else if (n > 0) {
        printf("%d rows written to %s (/maxbatch)\n", n, path);
    }
    mem_free(rows);
    cfg_free(&ex);
    return rc;
}
