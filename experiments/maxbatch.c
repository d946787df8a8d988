// maxbatch.c: the memory cap and `wasibench maxbatch` (see maxbatch.h).
#include "experiments/maxbatch.h"
#include "experiments/budget.h"
#include "baselines/registry.h"
#include "baselines/wasi.h"
#include "experiments/runner.h"
#include "core/runtime/memory.h"
#include "core/runtime/rng.h"
#include "core/train/train.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAXBATCH_MAX_LINEARS 4096

int mem_parse_size(const char *s, double *bytes) {
    if (!s) return -1;
    while (isspace((unsigned char)*s)) s++;
    if (!*s || *s == '-' || *s == '+') return -1;
    char *end;
    double v = strtod(s, &end);
    if (end == s || !isfinite(v) || v <= 0) return -1;
    while (isspace((unsigned char)*end)) end++;
    static const struct { const char *suf; double mul; } units[] = {
        {"", 1}, {"B", 1},
        {"K", 1024.0}, {"KiB", 1024.0}, {"KB", 1e3},
        {"M", 1048576.0}, {"MiB", 1048576.0}, {"MB", 1e6},
        {"G", 1073741824.0}, {"GiB", 1073741824.0}, {"GB", 1e9},
        {"T", 1099511627776.0}, {"TiB", 1099511627776.0}, {"TB", 1e12},
    };
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++)
        if (!strcmp(end, units[i].suf)) {
            double b = v * units[i].mul;
            if (b < 1 || b > 1e18) return -1;   // under a byte or beyond any machine: a typo
            *bytes = b;
            return 0;
        }
    return -1;
}

// why[]: "'<s>': expected ..." for one size (what a single --cap always said),
// "'<s>': element i '<e>': expected ..." in a list.
int mem_parse_size_list(const char *s, double *caps, int max, char *why, size_t why_cap) {
    static const char *expected = "expected a size > 0 such as 2GiB, 512MB, 1.5G";
    if (!s || !strchr(s, ',')) {
        if (max >= 1 && mem_parse_size(s, &caps[0]) == 0) return 1;
        snprintf(why, why_cap, "'%s': %s", s ? s : "", expected);
        return -1;
    }
    int n = 0;
    for (const char *q = s;; q++) {
        size_t len = strcspn(q, ",");
        char one[64];
        snprintf(one, sizeof one, "%.*s", (int)len, q);
        if (n == max) {
            snprintf(why, why_cap, "'%s': more than %d sizes", s, max);
            return -1;
        }
        if (len >= sizeof one || mem_parse_size(one, &caps[n]) < 0) {
            snprintf(why, why_cap, "'%s': element %d '%.*s': %s (a list: sizes separated by commas, e.g. 1GiB,2GiB,4GiB)", s, n + 1,
                     (int)len, q, expected);
            return -1;
        }
        for (int j = 0; j < n; j++)
            if (caps[j] == caps[n]) {
                snprintf(why, why_cap, "'%s': element %d '%s' is the same cap as element %d", s, n + 1, one, j + 1);
                return -1;
            }
        n++;
        q += len;
        if (!*q) return n;
    }
}

void mem_format_size(char *buf, size_t cap, double b) {
    if (b >= 1073741824.0) snprintf(buf, cap, "%.2f GiB", b / 1073741824.0);
    else snprintf(buf, cap, "%.1f MiB", b / 1048576.0);
}

void mem_plan_format(char *buf, size_t cap, const MemPlan *p) {
    size_t o = 0;
    buf[0] = 0;
    for (int k = 0; k < MEM_NCAT && o < cap; k++)
        o += (size_t)snprintf(buf + o, cap - o, "%s %.1f MiB, ", mem_category_name((MemCategory)k), p->bytes[k] / 1048576.0);
    if (o < cap) snprintf(buf + o, cap - o, "total %.1f MiB", p->total / 1048576.0);
}

static int why_fail(char *why, size_t cap, const char *fmt, const char *a) {
    snprintf(why, cap, fmt, a);
    return -1;
}

int run_memory_plan(const RunSpec *rs, const ModelBinding *bind_in, int B, const int *weight_ranks, double data_bytes,
                    MemPlan *plan, int *exact, ModelBinding *bind_used, char *why, size_t why_cap) {
    const LinearMethod *m = bind_in->method;
    const ModelFamily *fam = model_family(rs->model.kind);
    if (!fam->memory_plan) return why_fail(why, why_cap, "no memory plan for %s models", fam->name);
    if (rs->num_finetune >= 0 && fam->memory_plan_limits)
        return why_fail(why, why_cap, "no memory plan with num_of_finetune set (%s only)", fam->memory_plan_limits);
    if (m->flags & METHOD_ACT_ENERGY) return why_fail(why, why_cap, "no memory plan for %s: its activation ranks come from the data", m->name);
    if (m->flags & METHOD_DATA_CALIB) return why_fail(why, why_cap, "no memory plan for %s: its truncation rank comes from calibration data", m->name);
    if (bind_in->mcfg.weight_update_svd) return why_fail(why, why_cap, "no memory plan for %s with weight_update svd", m->name);
    ModelBinding bind = *bind_in;
    *exact = 1;
    if ((m->flags & METHOD_ACT_TUCKER) && rs->act_mode != ACT_RANKS_FIXED) {
        // ranks chosen at run time (epsilon, DP): bound by the full ranks (a Tucker at
        // full rank holds more than any truncation of it); act_store clamps to the sizes
        for (int n = 0; n < model_config_act_modes(&rs->model); n++) bind.mcfg.act_ranks[n] = 1 << 20;
        *exact = 0;
    }
    static int ub[MAXBATCH_MAX_LINEARS];
    static LinearShape shapes[MAXBATCH_MAX_LINEARS];
    if ((m->flags & METHOD_WEIGHT_LOWRANK) && !weight_ranks) {   // wasi's k from the SVD: at most min(I, O)
        ModelBinding all = bind;   // weight_ranks are indexed over every counted linear, frozen ones too
        all.num_finetune = -1;
        int n = fam->counted_shapes(&rs->model, B, &all, shapes, MAXBATCH_MAX_LINEARS);
        for (int i = 0; i < n; i++) ub[i] = wb_min(shapes[i].O, shapes[i].dims[shapes[i].nd - 1]);
        weight_ranks = ub;
        *exact = 0;
    }
    *plan = fam->memory_plan(&rs->model, B, &bind, weight_ranks, optim_state_buffers(&rs->opt));
    if (bind_used) *bind_used = bind;
    plan->bytes[MEM_DATA] = data_bytes;
    plan->total += data_bytes;
    return 0;
}

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
