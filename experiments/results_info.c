// results_info.c: `wasibench info`, the table of the runs in a results file
// (see results.h), read through results_list.
#include "experiments/results.h"
#include "experiments/results_schema.h"
#include "baselines/registry.h"
#include "core/compress/tucker.h"
#include "core/runtime/common.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

static void fmt_num(char *b, size_t cap, double v, const char *fmt) {
    if (isnan(v)) snprintf(b, cap, "-");
    else snprintf(b, cap, fmt, v);
}

static void fmt_time(char *b, size_t cap, double s) {
    if (isnan(s)) snprintf(b, cap, "-");
    // Reliability fix (found by tests/fuzz/fuzz_results.c): a wall_seconds of
    // 4.6e14 (or Inf) in a damaged file overflowed the int casts below
    // (undefined behaviour); anything past ~30 years prints in seconds.
    else if (!(s < 1e9)) snprintf(b, cap, "%.3gs", s);
    else if (s < 60) snprintf(b, cap, "%.1fs", s);
    else if (s < 3600) snprintf(b, cap, "%dm%02ds", (int)(s / 60), (int)fmod(s, 60));
    else snprintf(b, cap, "%dh%02dm", (int)(s / 3600), (int)fmod(s / 60, 60));
}

// The /maxbatch rows (wasibench maxbatch), when the file has any.
static int print_maxbatch(const char *path, FILE *out, WbError *err) {
    MaxBatchRow *r;
    int n;
    if (results_read_maxbatch(path, &r, &n, err) < 0) return -1;
    if (n > 0) fprintf(out, "\nlargest batch under a memory cap (wasibench maxbatch; plan = tracked peak planned, step = one real step):\n");
    for (int i = 0; i < n; i++) {
        fprintf(out, "  %-40s %-8s cap %8.1f MB  max batch %6d", r[i].run, r[i].method, r[i].cap_bytes / 1048576.0, (int)r[i].max_batch);
        if (!isfinite(r[i].plan_bytes)) { fprintf(out, "  (cannot be planned)\n"); continue; }
        fprintf(out, "  plan %9.1f MB%s", r[i].plan_bytes / 1048576.0, r[i].plan_exact ? "" : " (bound)");
        if (isfinite(r[i].error_pct)) fprintf(out, "  step %9.1f MB (%+.2f%%)", r[i].measured_bytes / 1048576.0, r[i].error_pct);
        fprintf(out, "\n");
    }
    mem_free(r);
    return 0;
}

// The subspace log of a run that has one (the 'subspace' table): at the
// last logged epoch, the largest principal angle to the starting top-K right
// singular subspace over the layers (and which), their mean, and how many
// layers' epsilon rank differs from epoch 0.
static void print_subspace(const char *run, const RunTables *t, FILE *out, int *header) {
    if (t->n_subspace <= 0) return;
    const SubspaceRow *s = t->subspace, *last = &s[t->n_subspace - 1];
    int e = last->epoch, nl = 0, changed = 0, worst = -1;
    double sum = 0;
    for (int j = 0; j < t->n_subspace; j++) {
        const SubspaceRow *r = &s[j];
        if (r->epoch != e) continue;
        nl++;
        sum += r->max_angle;
        if (worst < 0 || r->max_angle > s[worst].max_angle) worst = j;
        for (int k = 0; k < t->n_subspace; k++)   // the same layer at epoch 0
            if (s[k].epoch == 0 && s[k].layer == r->layer) changed += s[k].eps_rank != r->eps_rank;
    }
    if (!(*header)++) fprintf(out, "\nsubspace stability (largest principal angle to the starting top-K right singular subspace, deg; rank at epsilon):\n");
    const double deg = 90.0 / acos(0.0);
    fprintf(out, "  %-40s epoch %3d: max %6.2f (%s)  mean %6.2f over %d layers; epsilon rank changed in %d of them\n", run, e,
            s[worst].max_angle * deg, t->layers[s[worst].layer].name, sum / nl * deg, nl, changed);
}

// The activation spectrum of a run that has one (the 'spectrum' table): per
// mode, the rank the exact HOSVD keeps at epsilon 0.9 and the mode's size,
// each averaged over the layers.
static void print_spectrum(const char *run, const RunTables *t, FILE *out, int *header) {
    if (t->n_spectrum <= 0) return;
    double rank[HOSVD_MAX_MODES] = {0}, dim[HOSVD_MAX_MODES] = {0};
    int nl[HOSVD_MAX_MODES] = {0}, nd = 0, layers = 0;
    for (int j = 0; j < t->n_spectrum; j += t->spectrum[j].dim) {   // the first row of each (layer, mode)
        const SpectrumRow *r = &t->spectrum[j];
        if (r->dim < 1 || r->mode < 0 || r->mode >= HOSVD_MAX_MODES || r->index != 1 || j + r->dim > t->n_spectrum) return;   // not this schema
        rank[r->mode] += act_spectrum_rank(r, 0.9f);
        dim[r->mode] += r->dim;
        nl[r->mode]++;
        nd = wb_max(nd, r->mode + 1);
        layers = wb_max(layers, r->layer + 1);
    }
    if (!(*header)++) fprintf(out, "\nactivation spectrum (counted layers' inputs, first training batch, starting weights): rank at epsilon 0.9 / mode size, mean over the layers:\n");
    fprintf(out, "  %-40s", run);
    for (int n = 0; n < nd; n++) fprintf(out, "  mode %d: %.1f / %.0f", n + 1, nl[n] ? rank[n] / nl[n] : (double)NAN, nl[n] ? dim[n] / nl[n] : (double)NAN);
    fprintf(out, "  (%d layers)\n", layers);
}

// Each run's tables once, for the per-layer logs' sections (in that order).
static int print_layer_logs(const char *path, const RunList *l, FILE *out, WbError *err) {
    typedef void (*Section)(const char *, const RunTables *, FILE *, int *);
    static const Section sections[] = {print_subspace, print_spectrum};
    enum { NSEC = sizeof sections / sizeof sections[0] };
    for (int s = 0; s < NSEC; s++) {
        int header = 0;
        for (int i = 0; i < l->n; i++) {
            RunTables t;
            if (results_read_tables(path, l->runs[i].name, &t, err) < 0) {
                if (l->runs[i].status == RUN_COMPLETE) return -1;
                continue;   // a failed run may have stopped before its tables
            }
            sections[s](l->runs[i].name, &t, out, &header);
            results_tables_free(&t);
        }
    }
    return 0;
}

int results_print_info(const char *path, FILE *out, WbError *err) {
    RunList l;
    if (results_list(path, &l, err)) return -1;
    if (l.n == 0) {
        fprintf(out, "%s: no runs yet\n", path);
        return print_maxbatch(path, out, err);
    }
    int w = 3;
    int counts[RUN_NSTATUS] = {0};
    for (int i = 0; i < l.n; i++) {
        w = wb_max(w, (int)strlen(l.runs[i].name));
        counts[l.runs[i].status]++;
    }
    fprintf(out, "%s: %d runs (%d complete, %d diverged, %d interrupted, %d failed", path, l.n,
            counts[RUN_COMPLETE], counts[RUN_DIVERGED], counts[RUN_INTERRUPTED], counts[RUN_FAILED]);
    if (counts[RUN_OVER_CAP]) fprintf(out, ", %d over memory.cap", counts[RUN_OVER_CAP]);
    fprintf(out, ")\n");
    fprintf(out, "%-*s  %-11s %-7s %5s %4s %7s %7s %8s %9s %9s %9s %10s %8s %7s\n", w, "run", "status", "method", "eps",
            "rank", "budget", "val_acc", "test_acc", "paper_MB", "peak_MB", "rss_MB", "GFLOP/step", "s/step", "time");
    const double MB = 1024.0 * 1024.0;
    for (int i = 0; i < l.n; i++) {
        const RunSummary *s = &l.runs[i];
        int uses_eps = method_shows_epsilon(s->method);
        char eps[16], rank[16], budget[16], acc[16], tacc[16], paper[16], peak[16], rss[16], gf[16], sps[16], tt[16];
        fmt_num(eps, sizeof eps, uses_eps ? s->epsilon : (double)NAN, "%.2f");
        fmt_num(rank, sizeof rank, s->lora_rank > 0 ? (double)s->lora_rank : (double)NAN, "%.0f");
        fmt_num(budget, sizeof budget, s->budget_mb > 0 ? s->budget_mb : (double)NAN, s->over_budget ? "%.3g!" : "%.3g");
        fmt_num(acc, sizeof acc, 100.0 * s->final_val_acc, "%.2f%%");
        fmt_num(tacc, sizeof tacc, s->test_items > 0 ? 100.0 * s->final_test_acc : (double)NAN, "%.2f%%");   // dataset.eval_split
        fmt_num(paper, sizeof paper, s->paper_total_mb, "%.2f");
        fmt_num(peak, sizeof peak, (double)s->peak_tracked_bytes / MB, "%.1f");
        fmt_num(rss, sizeof rss, s->peak_rss_bytes ? (double)s->peak_rss_bytes / MB : (double)NAN, "%.1f");
        fmt_num(gf, sizeof gf, s->train_flops_per_step / 1e9, "%.3f");
        fmt_num(sps, sizeof sps, s->train_seconds_per_step, "%.4f");
        fmt_time(tt, sizeof tt, s->wall_seconds);
        fprintf(out, "%-*s  %-11s %-7s %5s %4s %7s %7s %8s %9s %9s %9s %10s %8s %7s", w, s->name, run_status_name(s->status),
                s->method, eps, rank, budget, acc, tacc, paper, peak, rss, gf, sps, tt);
        if (s->over_budget) fprintf(out, "  (over budget: %.3f MB used of %.3f MB asked)", s->budget_used_mb, s->budget_mb);
        if (s->skipped_items > 0) fprintf(out, "  (%d corrupt or missing images skipped)", (int)s->skipped_items);
        if (s->energy_source[0])
            fprintf(out, "  (energy: %.3g J/step training, %.3g J/inference batch; %s)", s->train_joules_per_step,
                    s->inference_joules_per_batch, s->energy_source);
        if (s->error[0]) fprintf(out, "  (%s)", s->error);
        fprintf(out, "\n");
    }
    for (int i = 0; i < l.n; i++)
        if (l.runs[i].over_budget) {
            fprintf(out, "budget!: the method could not fit the budget asked for; its cheapest setting ran\n");
            break;
        }
    int rc = print_layer_logs(path, &l, out, err);
    results_list_free(&l);
    return rc < 0 ? -1 : print_maxbatch(path, out, err);
}

