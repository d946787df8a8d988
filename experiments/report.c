// report.c: `wasibench report` (see report.h).
#include "experiments/report.h"
#include "experiments/fs.h"
#include "experiments/plot.h"
#include "experiments/plot_data.h"
#include "experiments/results.h"
#include "experiments/table.h"
#include "baselines/registry.h"
#include "core/linalg/blas.h"
#include "core/runtime/memory.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char *STYLE =
    "body{font-family:sans-serif;margin:1.5em;color:#222;max-width:1400px}"
    "h1{font-size:1.4em}h2{font-size:1.15em;margin-top:1.6em;border-bottom:1px solid #ccc}"
    "table{border-collapse:collapse;font-size:0.85em;margin:0.5em 0}"
    "th,td{border:1px solid #ccc;padding:2px 6px}th{background:#f0f0f0}td.num{text-align:right}"
    "tr.bad td{background:#fde8e8}caption{text-align:left;font-size:0.9em;color:#555;padding:4px 0}"
    ".fig{margin:1em 0}.fig svg{max-width:100%;height:auto}.missing{color:#a33}"
    "dl{display:grid;grid-template-columns:max-content auto;gap:2px 12px}dt{font-weight:bold}";

static void cell_num(FILE *f, double v, const char *fmt) {
    fputs("<td class=\"num\">", f);
    if (isfinite(v)) fprintf(f, fmt, v);
    else fputs("-", f);
    fputs("</td>", f);
}

static void cell_str(FILE *f, const char *s) {
    fputs("<td>", f);
    html_put(f, s && s[0] ? s : "-");
    fputs("</td>", f);
}

static void runs_table(FILE *f, const RunList *l) {
    fputs("<table id=\"runs\">\n<tr><th>run</th><th>status</th><th>method</th><th>epsilon</th><th>rank</th><th>variant</th>"
          "<th>val acc (%)</th><th>test acc (%)</th><th>paper MB</th><th>tracked peak MB</th><th>RSS MB</th>"
          "<th>GFLOP/step</th><th>s/step</th><th>note</th></tr>\n", f);
    for (int i = 0; i < l->n; i++) {
        const RunSummary *s = &l->runs[i];
        fprintf(f, "<tr class=\"run%s\">", s->status == RUN_COMPLETE ? "" : " bad");
        cell_str(f, s->name);
        cell_str(f, run_status_name(s->status));
        cell_str(f, s->method);
        cell_num(f, method_shows_epsilon(s->method) ? s->epsilon : (double)NAN, "%g");
        cell_num(f, s->lora_rank > 0 ? (double)s->lora_rank : (double)NAN, "%.0f");
        cell_str(f, s->variant);
        cell_num(f, 100 * s->final_val_acc, "%.2f");
        cell_num(f, s->test_items > 0 ? 100 * s->final_test_acc : (double)NAN, "%.2f");
        cell_num(f, s->paper_total_mb, "%.3f");
        cell_num(f, (double)s->peak_tracked_bytes / 1048576.0, "%.1f");
        cell_num(f, s->peak_rss_bytes ? (double)s->peak_rss_bytes / 1048576.0 : (double)NAN, "%.1f");
        cell_num(f, s->train_flops_per_step / 1e9, "%.3f");
        cell_num(f, s->train_seconds_per_step, "%.4f");
        cell_str(f, s->error);
        fputs("</tr>\n", f);
    }
    fputs("</table>\n", f);
}

// The SVG file inline (from its <svg element: the XML prolog and doctype dropped).
static int embed_svg(FILE *f, const char *path) {
    FILE *in = fopen(path, "rb");
    if (!in) return -1;
    fseek(in, 0, SEEK_END);
    long n = ftell(in);
    fseek(in, 0, SEEK_SET);
    char *buf = n > 0 ? mem_alloc((size_t)n + 1, MEM_WORKSPACE) : NULL;
    size_t got = buf ? fread(buf, 1, (size_t)n, in) : 0;
    fclose(in);
    if (!buf) return -1;
    buf[got] = 0;
    const char *svg = strstr(buf, "<svg");
    if (svg) fputs(svg, f);
    mem_free(buf);
    return svg ? 0 : -1;
}

// The text of a small file ("" when absent).
static void read_small(const char *path, char *dst, size_t cap) {
    dst[0] = 0;
    FILE *in = fopen(path, "r");
    if (!in) return;
    size_t k = fread(dst, 1, cap - 1, in);
    dst[k] = 0;
    fclose(in);
}

// One section of figures: figs lo..hi of plot_fig_name from dir.
static int figures(FILE *f, const char *outdir, const char *sub, int lo, int hi, const char *plot_error) {
    char path[4096], note[1024];
    int n = 0;
    if (plot_error && plot_error[0]) {
        fputs("<p class=\"missing\">", f);
        html_put(f, plot_error);
        fputs("</p>\n", f);
    }
    for (int i = lo; i < hi; i++) {
        snprintf(path, sizeof path, "%s/%s/%s.svg", outdir, sub, plot_fig_name[i]);
        fprintf(f, "<div class=\"fig\" id=\"%s\"><h3>%s</h3>\n", plot_fig_name[i], plot_fig_name[i]);
        int drawn = embed_svg(f, path) == 0;
        n += drawn;
        snprintf(path, sizeof path, "%s/%s/%s_missing.txt", outdir, sub, plot_fig_name[i]);
        read_small(path, note, sizeof note);
        if (note[0] || !drawn) {
            fputs("<p class=\"missing\">", f);
            html_put(f, note[0] ? note : "not drawn (no data: see the plot log)");
            fputs("</p>\n", f);
        }
        fputs("</div>\n", f);
    }
    return n;
}

int report_write(const char *h5path, const char *outdir, const char *build_version, FILE *log, WbError *err) {
    RunList l;
    if (results_list(h5path, &l, err)) return -1;
    if (fs_mkdir_p(outdir) != 0) {
        results_list_free(&l);
        return wb_error(err, "%s: cannot create the report directory: %s", outdir, strerror(errno));
    }
    char dir[4096], path[4096];
    WbError e1 = {""}, e2 = {""};
    snprintf(dir, sizeof dir, "%s/figures", outdir);
    if (plot_results(h5path, dir, 1, log, &e1) < 0 && log) fprintf(log, "report: figures: %s\n", e1.msg);
    snprintf(dir, sizeof dir, "%s/paper", outdir);
    if (plot_paper(h5path, dir, 1, log, &e2) < 0 && log) fprintf(log, "report: paper figures: %s\n", e2.msg);

    snprintf(path, sizeof path, "%s/index.html", outdir);
    FILE *f = fopen(path, "w");
    if (!f) {
        results_list_free(&l);
        return wb_error(err, "%s: cannot write: %s", path, strerror(errno));
    }
    int complete = 0;
    for (int i = 0; i < l.n; i++) complete += l.runs[i].status == RUN_COMPLETE;
    fputs("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>wasibench report: ", f);
    html_put(f, h5path);
    fprintf(f, "</title><style>%s</style></head><body>\n<h1>wasibench report: ", STYLE);
    html_put(f, h5path);
    fprintf(f, "</h1>\n<p>%d runs, %d complete.</p>\n", l.n, complete);

    fputs("<h2>Table 1 (the paper's columns)</h2>\n", f);
    WbError et = {""};
    if (table_write(h5path, 1, TABLE_HTML, f, &et) < 0) {
        fputs("<p class=\"missing\">", f);
        html_put(f, et.msg);
        fputs("</p>\n", f);
    }
    fputs("<h2>The paper's figures</h2>\n", f);
    int np = figures(f, outdir, "paper", FIG_GENERIC_N, FIG_N, e2.msg);
    fputs("<h2>Runs</h2>\n", f);
    runs_table(f, &l);
    fputs("<h2>All figures</h2>\n", f);
    int ng = figures(f, outdir, "figures", 0, FIG_GENERIC_N, e1.msg);

    fputs("<h2>Provenance</h2>\n<dl>", f);
    time_t now = time(NULL);
    char when[32];
    strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", gmtime(&now));
    const char *keys[] = {"report written", "by wasibench", "its BLAS", "results file"};
    const char *vals[] = {when, build_version ? build_version : "", blas_name(), h5path};
    for (int i = 0; i < 4; i++) {
        fprintf(f, "<dt>%s</dt><dd>", keys[i]);
        html_put(f, vals[i]);
        fputs("</dd>", f);
    }
    // what the runs were made with: each distinct (code version, host, BLAS, threads, compiler)
    for (int i = 0; i < l.n; i++) {
        const RunSummary *s = &l.runs[i];
        int seen = 0;
        for (int j = 0; j < i && !seen; j++) {
            const RunSummary *t = &l.runs[j];
            seen = !strcmp(s->code_version, t->code_version) && !strcmp(s->host, t->host) && !strcmp(s->blas, t->blas) &&
                   s->threads == t->threads && !strcmp(s->compiler, t->compiler);
        }
        if (seen) continue;
        fputs("<dt>runs made with</dt><dd>code ", f);
        html_put(f, s->code_version);
        fputs(", host ", f);
        html_put(f, s->host);
        fprintf(f, ", %d threads, ", (int)s->threads);
        html_put(f, s->blas);
        fputs(", ", f);
        html_put(f, s->compiler);
        fputs(" (first: ", f);
        html_put(f, s->name);
        fputs(")</dd>", f);
    }
    fputs("</dl>\n</body></html>\n", f);
    int bad = ferror(f);
    if (fclose(f) != 0 || bad) {
        results_list_free(&l);
        return wb_error(err, "%s: write failed (disk full?)", path);
    }
    if (log) fprintf(log, "report: %s (%d runs, %d paper figures, %d figures)\n", path, l.n, np, ng);
    results_list_free(&l);
    return 0;
}
