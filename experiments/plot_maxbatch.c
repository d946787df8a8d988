// plot_maxbatch.c: the data of `wasibench plot`'s maxbatch figure
// (plots/maxbatch.gp): the file-level /maxbatch rows that `wasibench maxbatch
// --cap 1GiB,2GiB,...` wrote (results/README.md), those of the shown stage,
// one block per setting (the label the bars have; seeds of one setting are
// one series, the smallest batch over them), caps ascending. A file without
// the table, or without a row of the shown stage, skips the figure.
#include "experiments/plot_data.h"
#include "baselines/registry.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/runtime/memory.h"

enum { MB_MAX_SERIES = 64, MB_MAX_CAPS = 32 };

typedef struct {
    char label[LABEL_CAP];
    const MaxBatchRow *first;                  // method and epsilon for the order
    const MaxBatchRow *at[MB_MAX_CAPS];        // the row shown per cap (smallest batch over seeds), NULL: none
    int n_runs[MB_MAX_CAPS];
} MbSeries;

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static int cmp_series(const void *a, const void *b) {
    const MbSeries *x = a, *y = b;
    int c = method_index(x->first->method) - method_index(y->first->method);
    if (c) return c;
    if ((c = strcmp(x->first->method, y->first->method))) return c;
    double ex = isnan(x->first->epsilon) ? -1 : x->first->epsilon, ey = isnan(y->first->epsilon) ? -1 : y->first->epsilon;
    return ex < ey ? -1 : ex > ey ? 1 : strcmp(x->label, y->label);
}

// The label of a row: its run's, when the file has the run; else method (+ eps).
static void row_label(const Plot *p, const MaxBatchRow *r, char *dst, size_t cap) {
    for (int i = 0; i < p->list.n; i++)
        if (!strcmp(p->list.runs[i].name, r->run)) { pl_run_label(p, &p->list.runs[i], dst, cap); return; }
    snprintf(dst, cap, "%s", r->method);
    if (isfinite(r->epsilon)) pl_append(dst, cap, " eps=%g", r->epsilon);
}

static int cap_index(const double *caps, int n, double c) {
    for (int i = 0; i < n; i++)
        if (fabs(caps[i] - c) <= 0.5) return i;
    return -1;
}

// The rows of the shown stage with a batch that fits into series x caps.
static int collect(Plot *p, const MaxBatchRow *rows, int n, MbSeries *ser, double *caps, int *n_caps, int *other_stage, char *none, size_t none_cap) {
    int n_ser = 0;
    char label[LABEL_CAP];
    for (int i = 0; i < n; i++) {
        const MaxBatchRow *r = &rows[i];
        if (!pl_stage_shown(p, r->run)) { (*other_stage)++; continue; }
        if (cap_index(caps, *n_caps, r->cap_bytes) < 0 && *n_caps < MB_MAX_CAPS) caps[(*n_caps)++] = r->cap_bytes;
    }
    qsort(caps, (size_t)*n_caps, sizeof caps[0], cmp_double);
    for (int i = 0; i < n; i++) {
        const MaxBatchRow *r = &rows[i];
        int c = cap_index(caps, *n_caps, r->cap_bytes);
        if (!pl_stage_shown(p, r->run) || c < 0) continue;
        row_label(p, r, label, sizeof label);
        if (r->max_batch < 1) {   // cannot plan, or not even batch 1 fits: named in the footnote
            if (!strstr(none, label)) pl_append(none, none_cap, "%s%s", none[0] ? ", " : "", label);
            continue;
        }
        int s = 0;
        while (s < n_ser && strcmp(ser[s].label, label)) s++;
        if (s == n_ser) {
            if (n_ser == MB_MAX_SERIES) continue;
            memset(&ser[n_ser], 0, sizeof ser[0]);
            snprintf(ser[n_ser].label, sizeof ser[0].label, "%s", label);
            ser[n_ser++].first = r;
        }
        if (!ser[s].at[c] || r->max_batch < ser[s].at[c]->max_batch) ser[s].at[c] = r;
        ser[s].n_runs[c]++;
    }
    qsort(ser, (size_t)n_ser, sizeof ser[0], cmp_series);
    return n_ser;
}

// The figure's footnote: what the plan is, how the step confirmed it, the
// bounds. Returns how many bars have an upper-bound plan (hatched).
static int footnote(char *fn, size_t cap, const MbSeries *ser, int n_ser, int n_caps, int other_stage, const char *none) {
    Range err = {0, 0, 0, 0};
    int unconfirmed = 0, seeds = 0, n_bound = 0;
    char bound[512] = "";
    for (int s = 0; s < n_ser; s++)
        for (int c = 0; c < n_caps; c++) {
            const MaxBatchRow *r = ser[s].at[c];
            if (!r) continue;
            pl_range_add(&err, r->error_pct);
            unconfirmed += !isfinite(r->measured_bytes);
            seeds |= ser[s].n_runs[c] > 1;
            n_bound += !r->plan_exact;
            if (!r->plan_exact && !strstr(bound, ser[s].label)) pl_append(bound, sizeof bound, "%s%s", bound[0] ? ", " : "", ser[s].label);
        }
    fn[0] = 0;
    pl_append(fn, cap, "Largest batch whose plan fits the cap (wasibench maxbatch). Plan = tracked peak predicted by the planner "
                       "(memory by category from the model's plan, plus the batch)");
    if (err.n) pl_append(fn, cap, ", confirmed by one training step (its tracked peak vs the plan: %+.2f%% .. %+.2f%%)", err.lo, err.hi);
    pl_append(fn, cap, ".");
    if (unconfirmed) pl_append(fn, cap, " %d bar%s not confirmed (--no-confirm).", unconfirmed, unconfirmed > 1 ? "s" : "");
    if (bound[0]) pl_append(fn, cap, "\nHatched: the plan is an upper bound (plan_exact = 0: ranks not known before the run, taken at full rank), "
                                     "so the batch is a lower bound: %s.", bound);
    if (seeds) pl_append(fn, cap, "\nSeeds of one setting: the smallest batch over them.");
    if (none[0]) pl_append(fn, cap, "\nNo bar (cannot plan, or not even batch 1 fits): %s.", none);
    if (other_stage) pl_append(fn, cap, "\nNot shown: %d row%s of other stages.", other_stage, other_stage > 1 ? "s" : "");
    return n_bound;
}

int plot_maxbatch_write(Plot *p, FILE *info) {
    MaxBatchRow *rows = NULL;
    int n = 0, other_stage = 0, n_caps = 0, rc = -1;
    if (results_read_maxbatch(p->h5path, &rows, &n, p->err)) return -1;
    MbSeries *ser = mem_alloc(MB_MAX_SERIES * sizeof(MbSeries), MEM_WORKSPACE);
    double caps[MB_MAX_CAPS];
    char none[512] = "", fn[1536], cap_label[MB_MAX_CAPS][32];
    const char *names[MB_MAX_SERIES > MB_MAX_CAPS ? MB_MAX_SERIES : MB_MAX_CAPS];
    int n_ser = collect(p, rows, n, ser, caps, &n_caps, &other_stage, none, sizeof none);
    Range batch = {0, 0, 0, 0};
    Out o;
    if (pl_open(p, &o, "maxbatch.dat",
                "Figure 8: largest batch per setting whose planned peak fits each memory cap (/maxbatch, wasibench maxbatch); one block per series "
                "(mb_series in info.gp), caps ascending (cap_index: 0-based among mb_cap_label); MB = 2^20 bytes, NaN = not confirmed",
                "series method epsilon cap_index cap_gib max_batch plan_exact plan_mb measured_mb error_pct n_runs run"))
        goto done;
    for (int s = 0, blocks = 0; s < n_ser; s++) {
        if (blocks++) fputs("\n\n", o.f);
        for (int c = 0; c < n_caps; c++) {
            const MaxBatchRow *r = ser[s].at[c];
            if (!r) continue;
            pl_str(o.f, ser[s].label, 1);
            pl_str(o.f, r->method, 0);
            pl_num(o.f, r->epsilon);
            fprintf(o.f, " %d", c);
            pl_num(o.f, r->cap_bytes / 1073741824.0);
            fprintf(o.f, " %d %d", (int)r->max_batch, (int)r->plan_exact);
            pl_num(o.f, r->plan_bytes / 1048576.0);
            pl_num(o.f, r->measured_bytes / 1048576.0);
            pl_num(o.f, r->error_pct);
            fprintf(o.f, " %d", ser[s].n_runs[c]);
            pl_str(o.f, r->run, 0);
            fputc('\n', o.f);
            pl_range_add(&batch, (double)r->max_batch);
        }
    }
    if (pl_close(&o)) goto done;
    p->has_data[FIG_MAXBATCH] = n_ser > 0;
    if (!n) snprintf(p->why_empty[FIG_MAXBATCH], sizeof p->why_empty[0], "no /maxbatch rows (wasibench maxbatch EXPERIMENT.yaml --cap 1GiB,2GiB writes them)");
    else if (!n_ser) snprintf(p->why_empty[FIG_MAXBATCH], sizeof p->why_empty[0], "no /maxbatch row of stage '%s' with a batch that fits (%d rows in the file)", p->stage, n);
    int n_bound = footnote(fn, sizeof fn, ser, n_ser, n_caps, other_stage, none);
    int lines = pl_wrap_lines(fn, 150);
    fputs("mb_footnote = ", info);
    pl_gp_str(info, fn);
    fprintf(info, "\nmb_footnote_lines = %d\nmb_n_series = %d\nmb_n_caps = %d\nmb_n_bound = %d\n", lines, n_ser, n_caps, n_bound);
    for (int s = 0; s < n_ser; s++) names[s] = ser[s].label;
    pl_gp_array(info, "mb_series", n_ser, names);
    for (int c = 0; c < n_caps; c++) {
        snprintf(cap_label[c], sizeof cap_label[c], "%.3g GiB", caps[c] / 1073741824.0);
        names[c] = cap_label[c];
    }
    pl_gp_array(info, "mb_cap_label", n_caps, names);
    pl_gp_range(info, "mb_batch", &batch);
    rc = 0;
done:
    mem_free(ser);
    mem_free(rows);
    return rc;
}
