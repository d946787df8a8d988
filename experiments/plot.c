// plot.c: `wasibench plot` (see plot.h). Owns the export from a results file
// to the figures' data files: read every run's tables (results_tables.c),
// pick the stage, group runs of one setting over seeds (mean, standard
// deviation), write the .dat files and info.gp; plot_render.c then copies the
// gnuplot scripts and runs gnuplot once per figure and format.
// The column lists of every .dat file are documented in plots/README.md.
#include "experiments/plot.h"
#include "experiments/results_schema.h"
#include "experiments/fs.h"
#include "baselines/registry.h"


#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stddef.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/runtime/counters.h"
#include "core/runtime/memory.h"
#include "experiments/results.h"
#include "experiments/plot_data.h"

const char *const plot_fig_name[FIG_N] = {"accuracy_memory", "flops", "time", "memory", "ranks_layers", "rank_stability", "curves", "energy", "maxbatch",
                                         "paper_fig3a", "paper_fig3b", "paper_fig4", "paper_fig5", "paper_fig6", "paper_fig7", "paper_fig8", "paper_fig9"};
static const char *fig_data[FIG_GENERIC_N] = {"accuracy_memory.dat", "flops.dat", "time.dat", "memory.dat", "ranks_layers.dat",
                                              "rank_epochs.dat", "curves.dat", "energy.dat", "maxbatch.dat"};


// ---------------------------------------------------------------------------
// small helpers

static int same_num(double a, double b) { return (isnan(a) && isnan(b)) || a == b; }

static int uses_eps(const RunSummary *s) { return method_shows_epsilon(s->method); }

// Series in the order of the method list (unknown names last).
static int method_order(const char *m) { return method_index(m); }

static void stage_of(const char *name, char *stage, size_t cap) {
    const char *slash = strrchr(name, '/');
    if (!slash) snprintf(stage, cap, "%s", "");
    else snprintf(stage, cap, "%.*s", (int)(slash - name), name);
}

void pl_acc_add(Acc *a, double v) { if (isfinite(v)) { a->sum += v; a->sum2 += v * v; a->n++; } }
double pl_acc_mean(const Acc *a) { return a->n ? a->sum / a->n : (double)NAN; }
void pl_range_add(Range *r, double v) {
    if (!isfinite(v)) return;
    if (!r->n || v < r->lo) r->lo = v;
    if (!r->n || v > r->hi) r->hi = v;
    if (v > 0 && (!(r->lo_pos > 0) || v < r->lo_pos)) r->lo_pos = v;
    r->n++;
}

double pl_acc_std(const Acc *a) {
    if (a->n < 2) return a->n ? 0.0 : (double)NAN;
    double m = a->sum / a->n, var = (a->sum2 - a->n * m * m) / (a->n - 1);
    return var > 0 ? sqrt(var) : 0.0;
}

// Path "<dir>/<name>" into dst; error when it does not fit.
int pl_join(Plot *p, char *dst, const char *dir, const char *name) {
    if ((size_t)snprintf(dst, PATH_CAP, "%s/%s", dir, name) >= PATH_CAP) return wb_error(p->err, "%s/%s: path too long", dir, name);
    return 0;
}

static int mkdir_p(Plot *p, const char *dir) {
    if (fs_mkdir_p(dir) == 0) return 0;
    if (errno == ENOTDIR) return wb_error(p->err, "%s: exists and is not a directory", dir);
    return wb_error(p->err, "%s: cannot create the output directory: %s", dir, strerror(errno));
}

static int read_all(Plot *p) {
    if (results_list(p->h5path, &p->list, p->err)) return -1;
    if (p->list.n == 0) {
        if (access(p->h5path, F_OK) != 0) return wb_error(p->err, "%s: cannot read: %s", p->h5path, strerror(errno));
        return wb_error(p->err, "%s: no runs in this file, nothing to plot", p->h5path);
    }
    p->runs = mem_alloc((size_t)p->list.n * sizeof(RunData), MEM_WORKSPACE);
    memset(p->runs, 0, (size_t)p->list.n * sizeof(RunData));
    p->n_runs_read = p->list.n;
    for (int i = 0; i < p->list.n; i++) {
        RunData *rd = &p->runs[i];
        rd->s = &p->list.runs[i];
        stage_of(rd->s->name, rd->stage, sizeof rd->stage);
        if (results_read_epochs(p->h5path, rd->s->name, &rd->epochs, &rd->n_epochs, p->err)) return -1;
    }
    for (int i = 0; i < p->list.n; i++)
        if (results_read_tables(p->h5path, p->list.runs[i].name, &p->runs[i].tab, p->err)) return -1;
    return 0;
}

static void free_all(Plot *p) {
    if (p->runs)
        for (int i = 0; i < p->n_runs_read; i++) {
            results_tables_free(&p->runs[i].tab);
            mem_free(p->runs[i].epochs);
        }
    mem_free(p->runs);
    mem_free(p->order);
    mem_free(p->groups);
    mem_free(p->curve_runs);
    results_list_free(&p->list);
}

// ---------------------------------------------------------------------------
// stage, grouping over seeds, labels

// The stage part of two run names is equal (several stages can be shown).
static int same_stage(const RunSummary *a, const RunSummary *b) {
    const char *sa = strrchr(a->name, '/'), *sb = strrchr(b->name, '/');
    size_t la = sa ? (size_t)(sa - a->name) : 0, lb = sb ? (size_t)(sb - b->name) : 0;
    return la == lb && !strncmp(a->name, b->name, la);
}

// Settings that make two runs the same group (everything but the seed).
static int same_settings(const RunSummary *a, const RunSummary *b) {
    return same_stage(a, b) && !strcmp(a->method, b->method) && same_num(a->epsilon, b->epsilon) && a->lora_rank == b->lora_rank &&
           same_num(a->budget_mb, b->budget_mb) && !strcmp(a->model, b->model) && !strcmp(a->dataset, b->dataset) &&
           !strcmp(a->layers, b->layers) && a->num_of_finetune == b->num_of_finetune && !strcmp(a->storage, b->storage) &&
           !strcmp(a->variant, b->variant);
}

static int cmp_num(double a, double b) {
    if (isnan(a) || isnan(b)) return isnan(a) - isnan(b);   // NaN after numbers
    return a < b ? -1 : a > b;
}

// Order of the bars and series: method, context, budget, rank, epsilon, seed.
static int cmp_runs(const RunSummary *a, const RunSummary *b) {
    int c;
    if ((c = method_order(a->method) - method_order(b->method))) return c;
    if ((c = strcmp(a->method, b->method))) return c;
    if ((c = strcmp(a->model, b->model)) || (c = strcmp(a->dataset, b->dataset)) || (c = strcmp(a->layers, b->layers))) return c;
    if (!same_stage(a, b)) return strcmp(a->name, b->name);   // several stages shown: one's settings together
    if ((c = a->num_of_finetune - b->num_of_finetune) || (c = strcmp(a->storage, b->storage)) || (c = strcmp(a->variant, b->variant))) return c;
    if ((c = cmp_num(a->budget_mb, b->budget_mb)) || (c = a->lora_rank - b->lora_rank) || (c = cmp_num(a->epsilon, b->epsilon))) return c;
    return a->seed < b->seed ? -1 : a->seed > b->seed;
}

// Which context settings differ between runs of the stage (they go into labels).
typedef struct { int model, dataset, layers, nft, storage, budget, stage; } Varying;

static Varying varying(const Plot *p) {
    Varying v = {0, 0, 0, 0, 0, 0, 0};
    const RunSummary *a = NULL, *w = NULL;
    for (int i = 0; i < p->n_order; i++) {
        const RunSummary *s = p->runs[p->order[i]].s;
        if (!a) a = s;
        v.model |= strcmp(a->model, s->model) != 0;
        v.dataset |= strcmp(a->dataset, s->dataset) != 0;
        v.stage |= !same_stage(a, s);
        v.layers |= strcmp(a->layers, s->layers) != 0;
        v.nft |= a->num_of_finetune != s->num_of_finetune;
        v.budget |= !same_num(a->budget_mb, s->budget_mb);
        if (s->storage[0]) {
            if (!w) w = s;
            v.storage |= strcmp(w->storage, s->storage) != 0;
        }
    }
    return v;
}

void pl_append(char *dst, size_t cap, const char *fmt, ...) {
    size_t n = strlen(dst);
    if (n + 1 >= cap) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(dst + n, cap - n, fmt, ap);
    va_end(ap);
}

static void context_suffix(char *dst, size_t cap, const RunSummary *s, const Varying *v) {
    if (s->variant[0]) pl_append(dst, cap, " %s", s->variant);
    if (v->storage && s->storage[0]) pl_append(dst, cap, " %s", s->storage);
    if (v->budget && s->budget_mb > 0) pl_append(dst, cap, " budget=%gMB", s->budget_mb);
    if (s->over_budget) pl_append(dst, cap, " OVER BUDGET (%.3gMB used of %gMB)", s->budget_used_mb, s->budget_mb);
    if (v->layers) pl_append(dst, cap, " %s", s->layers);
    if (v->nft) {
        if (s->num_of_finetune < 0) pl_append(dst, cap, " nft=all");
        else pl_append(dst, cap, " nft=%d", (int)s->num_of_finetune);
    }
    if (v->model) pl_append(dst, cap, " %s", s->model);
    if (v->dataset) pl_append(dst, cap, " %s", s->dataset);
    const char *slash = strrchr(s->name, '/');
    if (v->stage && slash) pl_append(dst, cap, " [%.*s]", (int)(slash - s->name), s->name);
}

static void make_labels(Group *g, const RunSummary *s, const Varying *v) {
    g->label[0] = g->series[0] = g->point[0] = 0;
    pl_append(g->series, sizeof g->series, "%s", s->method);
    context_suffix(g->series, sizeof g->series, s, v);
    pl_append(g->label, sizeof g->label, "%s", s->method);
    const LinearMethod *m = method_by_name(s->method);
    if (method_key_of(m, offsetof(MethodConfig, lora_rank))) {
        pl_append(g->label, sizeof g->label, " r=%d", (int)s->lora_rank);
        snprintf(g->point, sizeof g->point, "r=%d", (int)s->lora_rank);
    } else if (uses_eps(s) && !isnan(s->epsilon)) {
        pl_append(g->label, sizeof g->label, " eps=%g", s->epsilon);
        snprintf(g->point, sizeof g->point, "eps=%g", s->epsilon);
    }
    context_suffix(g->label, sizeof g->label, s, v);
}

// Whether stage is one of the comma-separated names of list.
static int stage_in(const char *list, const char *stage) {
    size_t n = strlen(stage);
    for (const char *q = list; q;) {
        const char *comma = strchr(q, ',');
        size_t len = comma ? (size_t)(comma - q) : strlen(q);
        if (len == n && !strncmp(q, stage, n)) return 1;
        q = comma ? comma + 1 : NULL;
    }
    return 0;
}

int pl_stage_shown(const Plot *p, const char *run_name) {
    char stage[RES_NAME_MAX];
    stage_of(run_name, stage, sizeof stage);
    return stage_in(p->stage, stage);
}

// Pick the stage(s), sort their complete runs, cut them into groups, write the footnote.
static int select_runs(Plot *p) {
    const char *want = getenv("WASIBENCH_PLOT_STAGE");
    int n = p->list.n;
    p->stage[0] = 0;
    int found = 0;
    if (want && want[0]) {   // every name of the list must be a stage of the file
        found = 1;
        for (const char *q = want; q && found;) {
            const char *comma = strchr(q, ',');
            char one[RES_NAME_MAX];
            snprintf(one, sizeof one, "%.*s", (int)(comma ? (size_t)(comma - q) : strlen(q)), q);
            int here = 0;
            for (int i = 0; i < n && !here; i++) here = !strcmp(p->runs[i].stage, one);
            found = here;
            q = comma ? comma + 1 : NULL;
        }
        snprintf(p->stage, sizeof p->stage, "%s", want);
    }
    if (want && want[0] && !found) {
        char stages[512] = "", quoted[RES_NAME_MAX + 4];
        for (int i = 0; i < n; i++) {
            snprintf(quoted, sizeof quoted, "'%s'", p->runs[i].stage);
            if (!strstr(stages, quoted)) pl_append(stages, sizeof stages, "%s%s", stages[0] ? ", " : "", quoted);
        }
        return wb_error(p->err, "%s: WASIBENCH_PLOT_STAGE=%s: no such stage (the file has %s)", p->h5path, want, stages);
    }
    if (!found) snprintf(p->stage, sizeof p->stage, "%s", p->runs[n - 1].stage);  // last stage written

    p->order = mem_alloc((size_t)n * sizeof(int), MEM_WORKSPACE);
    p->curve_runs = mem_alloc((size_t)n * sizeof(int), MEM_WORKSPACE);
    int skipped = 0, other_stage = 0;
    char skipped_names[512] = "", other_stages[256] = "";
    for (int i = 0; i < n; i++) {
        const RunData *rd = &p->runs[i];
        if (!stage_in(p->stage, rd->stage)) {
            other_stage++;
            char quoted[RES_NAME_MAX + 4];
            snprintf(quoted, sizeof quoted, "'%s'", rd->stage);
            if (!strstr(other_stages, quoted)) pl_append(other_stages, sizeof other_stages, "%s%s", other_stages[0] ? ", " : "", quoted);
            continue;
        }
        if (rd->n_epochs > 0) p->curve_runs[p->n_curves++] = i;
        if (rd->s->status != RUN_COMPLETE) {
            if (skipped < 3) pl_append(skipped_names, sizeof skipped_names, "%s%s (%s)", skipped ? ", " : "", rd->s->name, run_status_name(rd->s->status));
            skipped++;
            continue;
        }
        // insertion sort: a few hundred runs at most
        int j = p->n_order++;
        while (j > 0 && cmp_runs(p->runs[p->order[j - 1]].s, rd->s) > 0) { p->order[j] = p->order[j - 1]; j--; }
        p->order[j] = i;
    }
    p->groups = mem_alloc((size_t)(p->n_order > 0 ? p->n_order : 1) * sizeof(Group), MEM_WORKSPACE);
    Varying v = varying(p);
    for (int i = 0; i < p->n_order;) {
        Group *g = &p->groups[p->n_groups++];
        g->start = i;
        g->n = 1;
        while (i + g->n < p->n_order && same_settings(p->runs[p->order[i]].s, p->runs[p->order[i + g->n]].s)) g->n++;
        make_labels(g, p->runs[p->order[i]].s, &v);
        i += g->n;
    }

    char *fn = p->footnote;
    size_t cap = sizeof p->footnote;
    fn[0] = 0;
    if (p->stage[0]) pl_append(fn, cap, "Stage '%s'", p->stage);
    else pl_append(fn, cap, "All runs");
    pl_append(fn, cap, " of %s. Summary figures: complete runs, mean over seeds (error bars: std over seeds).", p->h5path);
    if (other_stage) pl_append(fn, cap, "\nNot shown: stage %s (%d run%s).", other_stages, other_stage, other_stage > 1 ? "s" : "");
    if (skipped) {
        pl_append(fn, cap, "\nNot in the summaries (status not complete): %s", skipped_names);
        if (skipped > 3) pl_append(fn, cap, " and %d more", skipped - 3);
        pl_append(fn, cap, ".");
    }
    if (p->log) {
        fprintf(p->log, "plot: %s: %d runs; stage '%s': %d complete in %d settings", p->h5path, n, p->stage, p->n_order, p->n_groups);
        if (skipped) fprintf(p->log, ", %d not complete (curves only)", skipped);
        if (other_stage) fprintf(p->log, "; %d run%s of stage %s not shown", other_stage, other_stage > 1 ? "s" : "", other_stages);
        fprintf(p->log, "\n");
    }
    return 0;
}

// ---------------------------------------------------------------------------
// writing the data files

int pl_open(Plot *p, Out *o, const char *name, const char *comment, const char *columns) {
    o->p = p;
    o->f = NULL;
    if (pl_join(p, o->path, p->outdir, name)) return -1;
    o->f = fopen(o->path, "w");
    if (!o->f) return wb_error(p->err, "%s: cannot write: %s", o->path, strerror(errno));
    fprintf(o->f, "# %s (written by wasibench plot from %s)\n", comment, p->h5path);
    fprintf(o->f, "# %s\n", columns);
    return 0;
}

int pl_close(Out *o) {
    if (!o->f) return -1;
    int bad = ferror(o->f);
    if (fclose(o->f) != 0 || bad) { o->f = NULL; return wb_error(o->p->err, "%s: write failed (disk full?)", o->path); }
    o->f = NULL;
    return 0;
}

// A number: NaN is written "NaN" (gnuplot skips it), integers exactly.
void pl_num(FILE *f, double v) {
    if (isnan(v)) fputs(" NaN", f);
    else if (isinf(v)) fputs(v > 0 ? " Inf" : " -Inf", f);
    else fprintf(f, " %.10g", v);
}

// A quoted string for gnuplot's data parser (no escapes exist: '"' becomes '\'').
void pl_str(FILE *f, const char *s, int first) {
    if (!first) fputc(' ', f);
    fputc('"', f);
    for (; *s; s++) fputc(*s == '"' ? '\'' : ((unsigned char)*s < 32 ? ' ' : *s), f);
    fputc('"', f);
}

// A gnuplot string literal for info.gp (a newline becomes the escape \n).
void pl_gp_str(FILE *f, const char *s) {
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '\n') { fputs("\\n", f); continue; }
        if (*s == '"' || *s == '\\') fputc('\\', f);
        fputc((unsigned char)*s < 32 ? ' ' : *s, f);
    }
    fputc('"', f);
}

// Break s at spaces into lines of at most width characters; returns the line count.
int pl_wrap_lines(char *s, int width) {
    int lines = s[0] ? 1 : 0;
    char *line = s, *last_space = NULL;
    for (char *q = s; *q; q++) {
        if (*q == '\n') { line = q + 1; last_space = NULL; lines++; continue; }
        if (*q == ' ') last_space = q;
        if (q - line >= width && last_space) {
            *last_space = '\n';
            line = last_space + 1;
            last_space = NULL;
            lines++;
        }
    }
    return lines;
}

const RunData *pl_member(const Plot *p, const Group *g, int k) { return &p->runs[p->order[g->start + k]]; }

// Columns shared by the bar files.
static void put_group_head(FILE *f, const Plot *p, const Group *g) {
    const RunSummary *s = pl_member(p, g, 0)->s;
    pl_str(f, g->label, 1);
    pl_str(f, s->method, 0);
    pl_num(f, uses_eps(s) ? s->epsilon : (double)NAN);
    pl_num(f, (double)s->lora_rank);
    pl_num(f, (double)g->n);
}
#define GROUP_COLS "label method epsilon lora_rank n_seeds"

static const double MB = 1048576.0;

// Figure 1: one block per series (method), points sorted by paper memory.
static int write_acc_mem(Plot *p, char series[][LABEL_CAP], int *n_series) {
    Out o;
    int *idx = mem_alloc((size_t)(p->n_groups + 1) * sizeof(int), MEM_WORKSPACE);
    double *mem = mem_alloc((size_t)(p->n_groups + 1) * sizeof(double), MEM_WORKSPACE);
    if (pl_open(p, &o, fig_data[FIG_ACC_MEM], "Figure 1: final validation accuracy vs training memory: the paper measure, and the whole-process peak RSS (VmHWM) with the peak of the tracked total beside it, MB = 2^20 bytes; one block (two blank lines) per series, in the order of acc_series in info.gp",
                 "series point_label " GROUP_COLS " paper_total_mb paper_total_mb_std paper_act_mb paper_weight_mb val_acc_pct val_acc_std_pct "
                 "rss_peak_mb rss_peak_mb_std tracked_peak_mb")) {
        mem_free(idx);
        mem_free(mem);
        return -1;
    }
    *n_series = 0;
    int n_points = 0;
    for (int gi = 0; gi < p->n_groups; gi++) {
        const Group *g0 = &p->groups[gi];
        int seen = 0;
        for (int s = 0; s < *n_series && !seen; s++) seen = !strcmp(series[s], g0->series);
        if (seen) continue;
        snprintf(series[(*n_series)++], LABEL_CAP, "%s", g0->series);
        // the points of this series, sorted by memory
        int n = 0;
        for (int gj = gi; gj < p->n_groups; gj++) {
            const Group *g = &p->groups[gj];
            if (strcmp(g->series, g0->series)) continue;
            Acc m = {0, 0, 0};
            for (int k = 0; k < g->n; k++) pl_acc_add(&m, pl_member(p, g, k)->s->paper_act_mb + pl_member(p, g, k)->s->paper_weight_mb);
            int j = n++;
            while (j > 0 && cmp_num(mem[j - 1], pl_acc_mean(&m)) > 0) { idx[j] = idx[j - 1]; mem[j] = mem[j - 1]; j--; }
            idx[j] = gj;
            mem[j] = pl_acc_mean(&m);
        }
        if (*n_series > 1) fputs("\n\n", o.f);
        fprintf(o.f, "# series: %s\n", g0->series);
        for (int j = 0; j < n; j++) {
            const Group *g = &p->groups[idx[j]];
            Acc tot = {0, 0, 0}, act = {0, 0, 0}, wt = {0, 0, 0}, acc = {0, 0, 0}, rss = {0, 0, 0}, trk = {0, 0, 0};
            for (int k = 0; k < g->n; k++) {
                const RunSummary *s = pl_member(p, g, k)->s;
                pl_acc_add(&rss, pl_rss_mb(pl_member(p, g, k)));
                pl_acc_add(&trk, pl_tracked_mb(pl_member(p, g, k)));
                pl_acc_add(&tot, s->paper_act_mb + s->paper_weight_mb);
                pl_acc_add(&act, s->paper_act_mb);
                pl_acc_add(&wt, s->paper_weight_mb);
                pl_acc_add(&acc, 100.0 * s->final_val_acc);
            }
            pl_str(o.f, g->series, 1);
            pl_str(o.f, g->point, 0);
            fputc(' ', o.f);
            put_group_head(o.f, p, g);
            pl_num(o.f, pl_acc_mean(&tot));
            pl_num(o.f, pl_acc_std(&tot));
            pl_num(o.f, pl_acc_mean(&act));
            pl_num(o.f, pl_acc_mean(&wt));
            pl_num(o.f, pl_acc_mean(&acc));
            pl_num(o.f, pl_acc_std(&acc));
            pl_num(o.f, pl_acc_mean(&rss));
            pl_num(o.f, pl_acc_std(&rss));
            pl_num(o.f, pl_acc_mean(&trk));
            fputc('\n', o.f);
            if (acc.n && tot.n && pl_acc_mean(&tot) > 0) {
                n_points++;
                pl_range_add(&p->acc_x, pl_acc_mean(&tot));
            }
            if (acc.n && rss.n) {   // the whole-process panel's x: RSS and tracked peak
                pl_range_add(&p->acc_rss, pl_acc_mean(&rss));
                pl_range_add(&p->acc_rss, pl_acc_mean(&trk));
            }
        }
    }
    mem_free(idx);
    mem_free(mem);
    p->has_data[FIG_ACC_MEM] = n_points > 0;
    if (!n_points) snprintf(p->why_empty[FIG_ACC_MEM], sizeof p->why_empty[0], "no complete run with a validation accuracy and a paper memory measure");
    return pl_close(&o);
}

double pl_rss_mb(const RunData *rd) { return rd->s->peak_rss_bytes ? (double)rd->s->peak_rss_bytes / MB : (double)NAN; }
double pl_tracked_mb(const RunData *rd) { return rd->tab.mem_peak[MEM_NCAT] / MB; }

double pl_recompute(const double *by_phase) {
    return isfinite(by_phase[PHASE_RECOMPUTE]) ? by_phase[PHASE_RECOMPUTE] : 0.0;
}

// Figures 3 and 7: one row per group of a per-phase, per-step quantity of
// RunTables (the array at byte offset `off`, times scale): the training step
// by phase (forward, backward, decomposition, update, other), their sum with
// recompute, and the inference batch, means and std over seeds, in columns
// named <phase>_<unit>; recompute comes last so the older columns keep their numbers.
static int write_phase_bars(Plot *p, FigId fig, const char *title, const char *unit, size_t off, double scale,
                            Range *train_range, Range *infer_range) {
    static const Phase phases[5] = {PHASE_FORWARD, PHASE_BACKWARD, PHASE_DECOMPOSITION, PHASE_UPDATE, PHASE_OTHER};
    char cols[512];
    snprintf(cols, sizeof cols,
             GROUP_COLS " forward_%s backward_%s decomposition_%s update_%s other_%s train_%s train_%s_std infer_%s infer_%s_std recompute_%s",
             unit, unit, unit, unit, unit, unit, unit, unit, unit, unit);
    Out o;
    if (pl_open(p, &o, fig_data[fig], title, cols)) return -1;
    for (int gi = 0; gi < p->n_groups; gi++) {
        const Group *g = &p->groups[gi];
        Acc tr = {0, 0, 0}, inf = {0, 0, 0}, rec = {0, 0, 0}, ph[5] = {{0, 0, 0}, {0, 0, 0}, {0, 0, 0}, {0, 0, 0}, {0, 0, 0}};
        for (int k = 0; k < g->n; k++) {
            const double *v = (const double *)((const char *)&pl_member(p, g, k)->tab + off);
            double t = pl_recompute(v);
            pl_acc_add(&rec, scale * t);
            for (int q = 0; q < 5; q++) { t += v[phases[q]]; pl_acc_add(&ph[q], scale * v[phases[q]]); }
            pl_acc_add(&tr, scale * t);
            pl_acc_add(&inf, scale * v[PHASE_INFERENCE]);
        }
        pl_range_add(train_range, pl_acc_mean(&tr));
        pl_range_add(infer_range, pl_acc_mean(&inf));
        put_group_head(o.f, p, g);
        for (int q = 0; q < 5; q++) pl_num(o.f, pl_acc_mean(&ph[q]));
        pl_num(o.f, pl_acc_mean(&tr));
        pl_num(o.f, pl_acc_std(&tr));
        pl_num(o.f, pl_acc_mean(&inf));
        pl_num(o.f, pl_acc_std(&inf));
        pl_num(o.f, pl_acc_mean(&rec));
        fputc('\n', o.f);
    }
    return pl_close(&o);
}

// Figures 2-4: one row per group.
static int write_bars(Plot *p) {
    Out o;
    int rc = 0;
    if (pl_open(p, &o, fig_data[FIG_FLOPS], "Figure 2: counted FLOPs per training step (by phase) and per inference batch, GFLOP = 1e9 FLOPs; mean over seeds",
                 GROUP_COLS " train_gflop train_gflop_std forward_gflop backward_gflop decomposition_gflop update_gflop infer_gflop infer_gflop_std recompute_gflop"))
        return -1;
    for (int gi = 0; gi < p->n_groups; gi++) {
        const Group *g = &p->groups[gi];
        Acc tr = {0, 0, 0}, inf = {0, 0, 0}, rec = {0, 0, 0}, ph[4] = {{0, 0, 0}, {0, 0, 0}, {0, 0, 0}, {0, 0, 0}};
        for (int k = 0; k < g->n; k++) {
            const RunData *rd = pl_member(p, g, k);
            double t = pl_recompute(rd->tab.flops_ps);   // training = the four phases + recompute
            pl_acc_add(&rec, t / 1e9);
            for (int q = 0; q < 4; q++) { t += rd->tab.flops_ps[q]; pl_acc_add(&ph[q], rd->tab.flops_ps[q] / 1e9); }
            pl_acc_add(&tr, t / 1e9);
            pl_acc_add(&inf, rd->tab.flops_ps[PHASE_INFERENCE] / 1e9);
        }
        pl_range_add(&p->flops, pl_acc_mean(&tr));
        pl_range_add(&p->flops, pl_acc_mean(&inf));
        put_group_head(o.f, p, g);
        pl_num(o.f, pl_acc_mean(&tr));
        pl_num(o.f, pl_acc_std(&tr));
        for (int q = 0; q < 4; q++) pl_num(o.f, pl_acc_mean(&ph[q]));
        pl_num(o.f, pl_acc_mean(&inf));
        pl_num(o.f, pl_acc_std(&inf));
        pl_num(o.f, pl_acc_mean(&rec));
        fputc('\n', o.f);
    }
    if (pl_close(&o)) return -1;

    if (write_phase_bars(p, FIG_TIME, "Figure 3: wall time per training step by phase and per inference batch, milliseconds; mean over seeds",
                         "ms", offsetof(RunTables, sec_ps), 1e3, &p->time_train, &p->time_infer))
        return -1;
    if (write_phase_bars(p, FIG_ENERGY, "Figure 7: host energy per training step (by phase) and per inference batch, joules (the run's meter: RAPL or hwmon, whole package); mean over seeds; NaN = not measured",
                         "j", offsetof(RunTables, joules_ps), 1.0, &p->energy, &p->energy))
        return -1;
    p->has_data[FIG_ENERGY] = p->energy.n > 0;
    if (!p->has_data[FIG_ENERGY])
        snprintf(p->why_empty[FIG_ENERGY], sizeof p->why_empty[0], p->n_groups ? "no run measured energy (no RAPL or hwmon meter; see README)" : "no complete run in the stage");

    if (pl_open(p, &o, fig_data[FIG_MEMORY], "Figure 4: peak tracked memory by category (each its own peak), peak of the tracked total, process peak RSS and the paper's measure, MB = 2^20 bytes; mean over seeds",
                 GROUP_COLS " weights_mb gradients_mb optimizer_mb activations_mb workspace_mb data_mb tracked_peak_mb rss_peak_mb paper_total_mb"))
        return -1;
    for (int gi = 0; gi < p->n_groups; gi++) {
        const Group *g = &p->groups[gi];
        Acc c[MEM_NCAT + 1], rss = {0, 0, 0}, paper = {0, 0, 0};
        memset(c, 0, sizeof c);
        for (int k = 0; k < g->n; k++) {
            const RunData *rd = pl_member(p, g, k);
            for (int q = 0; q <= MEM_NCAT; q++) pl_acc_add(&c[q], rd->tab.mem_peak[q] / MB);
            pl_acc_add(&rss, pl_rss_mb(rd));
            pl_acc_add(&paper, rd->s->paper_act_mb + rd->s->paper_weight_mb);
        }
        pl_range_add(&p->mem_totals, pl_acc_mean(&c[MEM_NCAT]));
        pl_range_add(&p->mem_totals, pl_acc_mean(&rss));
        pl_range_add(&p->mem_totals, pl_acc_mean(&paper));
        put_group_head(o.f, p, g);
        for (int q = 0; q <= MEM_NCAT; q++) pl_num(o.f, pl_acc_mean(&c[q]));
        pl_num(o.f, pl_acc_mean(&rss));
        pl_num(o.f, pl_acc_mean(&paper));
        fputc('\n', o.f);
    }
    rc = pl_close(&o);
    p->has_data[FIG_FLOPS] = p->flops.n > 0;
    p->has_data[FIG_TIME] = p->time_train.n + p->time_infer.n > 0;
    p->has_data[FIG_MEMORY] = p->mem_totals.n > 0;
    for (int f = FIG_FLOPS; f <= FIG_MEMORY; f++)
        if (!p->has_data[f]) snprintf(p->why_empty[f], sizeof p->why_empty[0], p->n_groups ? "no measured value in the complete runs" : "no complete run in the stage");
    return rc;
}

// "encoder.layers.encoder_layer_3.mlp.0" -> "3.fc1"
void pl_short_layer(char *dst, size_t cap, const char *name) {
    const char *pre = "encoder.layers.encoder_layer_";
    if (!strncmp(name, pre, strlen(pre))) name += strlen(pre);
    char buf[RES_LAYER_NAME_MAX];
    snprintf(buf, sizeof buf, "%s", name);
    static const char *from[] = {"mlp.0", "mlp.3", "self_attention.out_proj", "self_attention."};
    static const char *to[] = {"fc1", "fc2", "out", ""};
    for (int i = 0; i < 4; i++) {
        char *at = strstr(buf, from[i]);
        if (!at) continue;
        char tail[RES_LAYER_NAME_MAX];
        snprintf(tail, sizeof tail, "%s", at + strlen(from[i]));
        *at = 0;
        pl_append(buf, sizeof buf, "%s%s", to[i], tail);
    }
    snprintf(dst, cap, "%s", buf);
}

// The member of a wasi group the rank figures show: the first (lowest seed) with layers.
const RunData *pl_rank_run(const Plot *p, const Group *g, int need_history) {
    const LinearMethod *m = method_by_name(pl_member(p, g, 0)->s->method);
    if (!m || !(m->flags & METHOD_WEIGHT_LOWRANK)) return NULL;
    for (int k = 0; k < g->n; k++) {
        const RunData *rd = pl_member(p, g, k);
        if (rd->tab.n_layers > 0 && (!need_history || rd->tab.n_rank_epochs > 0)) return rd;
    }
    return NULL;
}

// The subspace-log row of (epoch, layer), NULL when the run has none.
const SubspaceRow *pl_sub_at(const RunTables *t, int epoch, int layer) {
    for (int i = 0; i < t->n_subspace; i++)
        if (t->subspace[i].epoch == epoch && t->subspace[i].layer == layer) return &t->subspace[i];
    return NULL;
}

// Figure 5: ranks per layer (one block per wasi group) and rank history
// (one block per wasi group and layer).
static int write_ranks(Plot *p, int *rank_groups, int *n_rank, int *stab_groups, int *n_stab) {
    Out o;
    char sh[RES_LAYER_NAME_MAX];
    *n_rank = *n_stab = 0;
    if (pl_open(p, &o, fig_data[FIG_RANKS], "Figure 5a: per-layer weight rank k and activation ranks k1..k4 (0 = dense / no such mode) of wasi; one block per wasi setting (ranks_series in info.gp), from its first seed",
                 "layer short_name name in_features out_features full_rank weight_rank k1 k2 k3 k4 paper_act_mb paper_weight_mb"))
        return -1;
    for (int gi = 0; gi < p->n_groups; gi++) {
        const RunData *rd = pl_rank_run(p, &p->groups[gi], 0);
        if (!rd) continue;
        if ((*n_rank)++) fputs("\n\n", o.f);
        fprintf(o.f, "# %s (run %s)\n", p->groups[gi].label, rd->s->name);
        rank_groups[*n_rank - 1] = gi;
        for (int l = 0; l < rd->tab.n_layers; l++) {
            const LayerRow *y = &rd->tab.layers[l];
            pl_short_layer(sh, sizeof sh, y->name);
            fprintf(o.f, "%d", l);
            pl_str(o.f, sh, 0);
            pl_str(o.f, y->name, 0);
            fprintf(o.f, " %d %d %d %d %d %d %d %d", (int)y->in_features, (int)y->out_features, wb_min(y->in_features, y->out_features),
                    (int)y->weight_rank, (int)y->act_ranks[0], (int)y->act_ranks[1], (int)y->act_ranks[2], (int)y->act_ranks[3]);
            pl_num(o.f, y->paper_act_mb);
            pl_num(o.f, y->paper_weight_mb);
            fputc('\n', o.f);
        }
    }
    if (pl_close(&o)) return -1;
    p->has_data[FIG_RANKS] = *n_rank > 0;
    if (!*n_rank) snprintf(p->why_empty[FIG_RANKS], sizeof p->why_empty[0], "no complete wasi run with a 'layers' table");

    if (pl_open(p, &o, fig_data[FIG_STABILITY], "Figure 5b: rank history (layer_ranks_by_epoch) of wasi, with the subspace log (eps_rank, K, largest principal angle in degrees; NaN without one, epoch 0 only from it); one block per (wasi setting, layer), settings in the order of stab_title in info.gp, layers in model order",
                 "epoch weight_rank k1 k2 k3 k4 eps_rank k max_angle_deg"))
        return -1;
    int blocks = 0;
    for (int gi = 0; gi < p->n_groups; gi++) {
        const RunData *rd = pl_rank_run(p, &p->groups[gi], 1);
        if (!rd) continue;
        stab_groups[(*n_stab)++] = gi;
        for (int l = 0; l < rd->tab.n_layers; l++) {
            if (blocks++) fputs("\n\n", o.f);
            pl_short_layer(sh, sizeof sh, rd->tab.layers[l].name);
            fprintf(o.f, "# %s, layer %d %s (run %s)\n", p->groups[gi].label, l, sh, rd->s->name);
            const SubspaceRow *s0 = pl_sub_at(&rd->tab, 0, l);
            if (s0) fprintf(o.f, "0 NaN NaN NaN NaN NaN %d %d %.6g\n", (int)s0->eps_rank, (int)s0->k, s0->max_angle * 90.0 / acos(0.0));
            for (int e = 0; e < rd->tab.n_rank_epochs; e++) {
                const int32_t *k = rd->tab.ranks + ((size_t)e * (size_t)rd->tab.n_layers + (size_t)l) * 5;
                const SubspaceRow *sr = pl_sub_at(&rd->tab, (int)rd->tab.rank_epochs[e], l);
                fprintf(o.f, "%d %d %d %d %d %d", (int)rd->tab.rank_epochs[e], (int)k[0], (int)k[1], (int)k[2], (int)k[3], (int)k[4]);
                if (sr) fprintf(o.f, " %d %d %.6g\n", (int)sr->eps_rank, (int)sr->k, sr->max_angle * 90.0 / acos(0.0));
                else fputs(" NaN NaN NaN\n", o.f);
                if (sr) p->stab_angles = 1;
            }
        }
    }
    if (pl_close(&o)) return -1;
    p->has_data[FIG_STABILITY] = *n_stab > 0;
    if (!*n_stab) snprintf(p->why_empty[FIG_STABILITY], sizeof p->why_empty[0], "no complete wasi run with layer_ranks_by_epoch");
    return 0;
}

// The key of a training curve: the setting label, the seed when the setting has several, the status.
void pl_run_label(const Plot *p, const RunSummary *s, char *dst, size_t cap) {
    Varying v = varying(p);
    Group g;
    make_labels(&g, s, &v);
    snprintf(dst, cap, "%s", g.label);
}

static void curve_title(const Plot *p, int run, char *dst, size_t cap) {
    const RunSummary *s = p->runs[run].s;
    pl_run_label(p, s, dst, cap);
    int seeds = 0;
    for (int i = 0; i < p->n_curves; i++) seeds += same_settings(p->runs[p->curve_runs[i]].s, s);
    if (seeds > 1) pl_append(dst, cap, " seed=%llu", (unsigned long long)s->seed);
    if (s->status != RUN_COMPLETE) pl_append(dst, cap, " (%s)", run_status_name(s->status));
}

// Figure 6: one block per run of the stage.
static int write_curves(Plot *p) {
    Out o;
    if (pl_open(p, &o, fig_data[FIG_CURVES], "Figure 6: training curves, one block per run of the stage (curve_title in info.gp); accuracies in %, NaN = not evaluated that epoch",
                 "epoch train_loss train_acc_pct val_loss val_acc_pct lr seconds"))
        return -1;
    int with_val = 0;
    for (int i = 0; i < p->n_curves; i++) {
        const RunData *rd = &p->runs[p->curve_runs[i]];
        if (i) fputs("\n\n", o.f);
        fprintf(o.f, "# run %s (%s)\n", rd->s->name, run_status_name(rd->s->status));
        for (int e = 0; e < rd->n_epochs; e++) {
            const EpochRow *r = &rd->epochs[e];
            fprintf(o.f, "%d", (int)r->epoch);
            pl_num(o.f, r->train_loss);
            pl_num(o.f, 100.0 * r->train_acc);
            pl_num(o.f, r->val_loss);
            pl_num(o.f, 100.0 * r->val_acc);
            pl_num(o.f, r->lr);
            pl_num(o.f, r->seconds);
            fputc('\n', o.f);
            with_val |= isfinite(r->val_acc);
            pl_range_add(&p->epochs, (double)r->epoch);
        }
    }
    if (pl_close(&o)) return -1;
    p->has_data[FIG_CURVES] = with_val;
    if (!with_val) snprintf(p->why_empty[FIG_CURVES], sizeof p->why_empty[0], "no run of the stage has an evaluated epoch");
    return 0;
}

void pl_gp_array(FILE *f, const char *name, int n, const char *const *items) {
    fprintf(f, "array %s[%d] = [", name, n > 0 ? n : 1);
    if (n == 0) fputs("\"\"", f);
    for (int i = 0; i < n; i++) {
        if (i) fputs(", ", f);
        pl_gp_str(f, items[i]);
    }
    fputs("]\n", f);
}

void pl_gp_int_array(FILE *f, const char *name, int n, const int *v) {
    fprintf(f, "array %s[%d] = [", name, n > 0 ? n : 1);
    if (n == 0) fputs("0", f);
    for (int i = 0; i < n; i++) fprintf(f, "%s%d", i ? ", " : "", v[i]);
    fputs("]\n", f);
}

// name_lo, name_hi, name_lo_pos (smallest > 0), name_n; NaN when not seen.
void pl_gp_range(FILE *f, const char *name, const Range *r) {
    fprintf(f, "%s_n = %d; %s_lo = ", name, r->n, name);
    pl_num(f, r->n ? r->lo : (double)NAN);
    fprintf(f, "; %s_hi = ", name);
    pl_num(f, r->n ? r->hi : (double)NAN);
    fprintf(f, "; %s_lo_pos = ", name);
    pl_num(f, r->lo_pos > 0 ? r->lo_pos : (double)NAN);
    fputc('\n', f);
}

// Export every data file and info.gp (the metadata the scripts load).
static int write_data(Plot *p) {
    int cap = p->n_groups > 0 ? p->n_groups : 1;
    char (*series)[LABEL_CAP] = mem_alloc((size_t)cap * LABEL_CAP, MEM_WORKSPACE);
    const char **names = mem_alloc((size_t)(cap + p->n_curves + 1) * sizeof(char *), MEM_WORKSPACE);
    int *rank_groups = mem_alloc((size_t)cap * sizeof(int), MEM_WORKSPACE);
    int *stab_groups = mem_alloc((size_t)cap * sizeof(int), MEM_WORKSPACE);
    int *ints = mem_alloc((size_t)cap * sizeof(int), MEM_WORKSPACE);
    char (*titles)[LABEL_CAP] = mem_alloc((size_t)(p->n_curves > 0 ? p->n_curves : 1) * LABEL_CAP, MEM_WORKSPACE);
    int n_series = 0, n_rank = 0, n_stab = 0, rc = -1;
    Out o = {p, NULL, ""};
    if (write_acc_mem(p, series, &n_series) || write_bars(p) || write_ranks(p, rank_groups, &n_rank, stab_groups, &n_stab) || write_curves(p)) goto done;

    if (pl_open(p, &o, "info.gp", "gnuplot variables the figure scripts load: stage, footnote, series names and counts", "")) goto done;
    fputs("source_file = ", o.f); pl_gp_str(o.f, p->h5path); fputc('\n', o.f);
    fputs("stage = ", o.f); pl_gp_str(o.f, p->stage); fputc('\n', o.f);
    int foot_lines = pl_wrap_lines(p->footnote, 150);
    fputs("footnote = ", o.f); pl_gp_str(o.f, p->footnote); fputc('\n', o.f);
    fprintf(o.f, "footnote_lines = %d\n", foot_lines);
    fprintf(o.f, "n_groups = %d\n", p->n_groups);
    for (int i = 0; i < n_series; i++) names[i] = series[i];
    fprintf(o.f, "n_acc_series = %d\n", n_series);
    pl_gp_array(o.f, "acc_series", n_series, names);
    for (int i = 0; i < n_rank; i++) names[i] = p->groups[rank_groups[i]].label;
    fprintf(o.f, "n_ranks_series = %d\n", n_rank);
    pl_gp_array(o.f, "ranks_series", n_rank, names);
    // rank history: block of (setting s, layer l) = stab_first[s] + l
    int first = 0, n_modes = 0;
    for (int i = 0; i < n_stab; i++) {
        const RunData *rd = pl_rank_run(p, &p->groups[stab_groups[i]], 1);
        names[i] = p->groups[stab_groups[i]].label;
        ints[i] = first;
        first += rd->tab.n_layers;
    }
    fprintf(o.f, "n_stab = %d\nstab_angles = %d\n", n_stab, p->stab_angles);
    pl_gp_array(o.f, "stab_title", n_stab, names);
    pl_gp_int_array(o.f, "stab_first", n_stab, ints);
    for (int i = 0; i < n_stab; i++) ints[i] = pl_rank_run(p, &p->groups[stab_groups[i]], 1)->tab.n_layers;
    pl_gp_int_array(o.f, "stab_nlayers", n_stab, ints);
    // short layer name of every block of rank_epochs.dat
    {
        char (*lay)[RES_LAYER_NAME_MAX] = mem_alloc((size_t)(first > 0 ? first : 1) * RES_LAYER_NAME_MAX, MEM_WORKSPACE);
        const char **lp = mem_alloc((size_t)(first > 0 ? first : 1) * sizeof(char *), MEM_WORKSPACE);
        int b = 0;
        for (int i = 0; i < n_stab; i++) {
            const RunData *rd = pl_rank_run(p, &p->groups[stab_groups[i]], 1);
            for (int l = 0; l < rd->tab.n_layers; l++, b++) {
                char sh[RES_LAYER_NAME_MAX];
                pl_short_layer(sh, sizeof sh, rd->tab.layers[l].name);
                memcpy(lay[b], sh, sizeof sh);
                lp[b] = lay[b];
            }
        }
        pl_gp_array(o.f, "stab_layer", b, lp);
        mem_free(lp);
        mem_free(lay);
    }
    // activation modes in use (k_m > 0 somewhere in the rank figures): the scripts draw only those
    for (int i = 0; i < n_rank; i++) {
        const RunData *rd = pl_rank_run(p, &p->groups[rank_groups[i]], 0);
        for (int l = 0; l < rd->tab.n_layers; l++)
            for (int m = 0; m < 4; m++)
                if (rd->tab.layers[l].act_ranks[m] > 0) n_modes = wb_max(n_modes, m + 1);
    }
    fprintf(o.f, "n_act_modes = %d\n", n_modes);
    int max_layers = 0, max_act = 0;
    for (int i = 0; i < n_rank; i++) {
        const RunData *rd = pl_rank_run(p, &p->groups[rank_groups[i]], 0);
        max_layers = wb_max(max_layers, rd->tab.n_layers);
        for (int l = 0; l < rd->tab.n_layers; l++)
            for (int m = 0; m < 4; m++) max_act = wb_max(max_act, rd->tab.layers[l].act_ranks[m]);
    }
    fprintf(o.f, "ranks_nlayers = %d\nranks_act_max = %d\n", max_layers, max_act);
    for (int i = 0; i < p->n_curves; i++) {
        curve_title(p, p->curve_runs[i], titles[i], LABEL_CAP);
        names[i] = titles[i];
    }
    for (int i = 0; i < n_stab; i++) {
        const RunData *rd = pl_rank_run(p, &p->groups[stab_groups[i]], 1);
        for (int e = 0; e < rd->tab.n_rank_epochs; e++) pl_range_add(&p->epochs, (double)rd->tab.rank_epochs[e]);
    }
    // ranges (NaN when empty): log scales and empty panels are decided from these
    pl_gp_range(o.f, "acc_x", &p->acc_x);
    pl_gp_range(o.f, "acc_rss", &p->acc_rss);
    pl_gp_range(o.f, "flops", &p->flops);
    pl_gp_range(o.f, "time_train", &p->time_train);
    pl_gp_range(o.f, "energy", &p->energy);
    pl_gp_range(o.f, "time_infer", &p->time_infer);
    pl_gp_range(o.f, "mem_totals", &p->mem_totals);
    pl_gp_range(o.f, "epochs", &p->epochs);
    fprintf(o.f, "n_curves = %d\n", p->n_curves);
    pl_gp_array(o.f, "curve_title", p->n_curves, names);
    // curve_setting: 0-based index of the run's setting (a colour), curve_rep: 1-based seed ordinal within it (a dash type)
    int *set_idx = mem_alloc((size_t)(p->n_curves + 1) * sizeof(int), MEM_WORKSPACE);
    int *rep = mem_alloc((size_t)(p->n_curves + 1) * sizeof(int), MEM_WORKSPACE);
    int n_settings = 0;
    for (int i = 0; i < p->n_curves; i++) {
        const RunSummary *si = p->runs[p->curve_runs[i]].s;
        set_idx[i] = -1;
        rep[i] = 1;
        for (int j = 0; j < i; j++)
            if (same_settings(p->runs[p->curve_runs[j]].s, si)) {
                set_idx[i] = set_idx[j];
                rep[i]++;
            }
        if (set_idx[i] < 0) set_idx[i] = n_settings++;
    }
    pl_gp_int_array(o.f, "curve_setting", p->n_curves, set_idx);
    pl_gp_int_array(o.f, "curve_rep", p->n_curves, rep);
    mem_free(rep);
    mem_free(set_idx);
    if (plot_maxbatch_write(p, o.f) || (p->paper && plot_paper_write(p, o.f))) goto done;
    rc = pl_close(&o);
done:
    if (o.f) fclose(o.f);
    mem_free(titles);
    mem_free(ints);
    mem_free(stab_groups);
    mem_free(rank_groups);
    mem_free(names);
    mem_free(series);
    return rc;
}

int pl_load(Plot *p, const char *h5path, WbError *err) {
    memset(p, 0, sizeof *p);
    p->h5path = h5path;
    p->err = err;
    if (!h5path || !h5path[0]) return wb_error(err, "a results file is required");
    if (read_all(p) || select_runs(p)) {
        free_all(p);
        memset(p, 0, sizeof *p);   // pl_free is then a no-op
        return -1;
    }
    return 0;
}

void pl_free(Plot *p) { free_all(p); }

static int plot_run(const char *h5path, const char *outdir, int svg_too, int paper, FILE *log, WbError *err) {
    Plot p;
    memset(&p, 0, sizeof p);
    p.h5path = h5path;
    p.outdir = outdir;
    p.err = err;
    p.log = log;
    p.paper = paper;
    int rc = -1;
    if (!h5path || !h5path[0] || !outdir || !outdir[0]) return wb_error(err, "plot: a results file and an output directory are required");
    if (read_all(&p)) goto done;
    if (select_runs(&p) || mkdir_p(&p, outdir) || write_data(&p)) goto done;
    if (log) fprintf(log, "plot: data files in %s\n", outdir);
    rc = pl_render(&p, svg_too);
done:
    free_all(&p);
    return rc;
}

int plot_results(const char *h5path, const char *outdir, int svg_too, FILE *log, WbError *err) {
    return plot_run(h5path, outdir, svg_too, 0, log, err);
}

int plot_paper(const char *h5path, const char *outdir, int svg_too, FILE *log, WbError *err) {
    return plot_run(h5path, outdir, svg_too, 1, log, err);
}
