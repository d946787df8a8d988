// table.c: `wasibench table` (see table.h): one row per setting of the runs
// `wasibench plot` shows, in the paper's Table 1 columns, as Markdown, CSV
// (libcsv's quoting) or a LaTeX tabular.
#include "experiments/table.h"
#include "experiments/plot_data.h"
#include "baselines/registry.h"

#include <csv.h>
#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <string.h>

int table_format_parse(const char *name, TableFormat *fmt) {
    static const char *names[] = {"md", "csv", "tex", "html"};
    for (int i = 0; i < 4; i++)
        if (!strcmp(name, names[i])) { *fmt = (TableFormat)i; return 0; }
    return -1;
}

enum { NCOL = 9 };   // the most columns a table has
static const char *HEAD1[NCOL] = {"method", "epsilon", "rank", "seeds", "train memory (MB)", "inference memory (MB)",
                                  "train GFLOP/step", "inference GFLOP/batch", "accuracy (%)"};
// Table 2: the paper's per-iteration times; the speedups divide vanilla's mean by the row's.
static const char *HEAD2[NCOL] = {"method", "epsilon", "rank", "seeds", "train ms/step", "train speedup",
                                  "inference ms/batch", "inference speedup", NULL};

// "m" or "m +- s" (s only with several seeds); "-" when not measured.
static void mean_std(char *dst, size_t cap, const Acc *a, const char *fmt, int n_seeds, const char *pm) {
    double m = pl_acc_mean(a);
    if (!isfinite(m)) { snprintf(dst, cap, "-"); return; }
    int k = snprintf(dst, cap, fmt, m);
    if (n_seeds > 1 && k > 0 && (size_t)k < cap) {
        size_t n = (size_t)k;
        n += (size_t)snprintf(dst + n, cap - n, "%s", pm);
        if (n < cap) snprintf(dst + n, cap - n, fmt, pl_acc_std(a));
    }
}

// "x.xx x" of vanilla's mean over this one, "-" without a vanilla row or a time.
static void speedup(char *dst, size_t cap, double vanilla, double mine) {
    if (isfinite(vanilla) && isfinite(mine) && mine > 0) snprintf(dst, cap, "%.2fx", vanilla / mine);
    else snprintf(dst, cap, "-");
}

// The cells of one group's row; van: vanilla's stats (NULL: no vanilla row).
static void row_cells(const Plot *p, const Group *g, int which, int use_test, const char *pm, const GroupStats *van, char cell[NCOL][96]) {
    const RunSummary *s = pl_member(p, g, 0)->s;
    GroupStats st;
    pl_group_stats(p, g, &st);
    snprintf(cell[0], 96, "%s", s->method);
    size_t n = strlen(cell[0]);
    if (s->variant[0]) n += (size_t)snprintf(cell[0] + n, 96 - n, " %s", s->variant);
    if (n < 96 && s->storage[0] && strcmp(s->storage, "dense")) snprintf(cell[0] + n, 96 - n, " %s", s->storage);
    if (method_shows_epsilon(s->method) && isfinite(s->epsilon)) snprintf(cell[1], 96, "%g", s->epsilon);
    else snprintf(cell[1], 96, "-");
    if (s->lora_rank > 0) snprintf(cell[2], 96, "%d", (int)s->lora_rank);
    else snprintf(cell[2], 96, "-");
    snprintf(cell[3], 96, "%d", g->n);
    if (which == 2) {
        mean_std(cell[4], 96, &st.train_ms, "%.1f", g->n, pm);
        speedup(cell[5], 96, van ? pl_acc_mean(&van->train_ms) : (double)NAN, pl_acc_mean(&st.train_ms));
        mean_std(cell[6], 96, &st.infer_ms, "%.1f", g->n, pm);
        speedup(cell[7], 96, van ? pl_acc_mean(&van->infer_ms) : (double)NAN, pl_acc_mean(&st.infer_ms));
        return;
    }
    mean_std(cell[4], 96, &st.train_mem, "%.2f", g->n, pm);
    mean_std(cell[5], 96, &st.infer_mem, "%.2f", g->n, pm);
    mean_std(cell[6], 96, &st.train_gflop, "%.3f", g->n, pm);
    mean_std(cell[7], 96, &st.infer_gflop, "%.3f", g->n, pm);
    mean_std(cell[8], 96, use_test ? &st.test_acc : &st.val_acc, "%.2f", g->n, pm);
}

// LaTeX: the characters with a meaning in text mode, escaped.
static void tex_put(FILE *f, const char *s) {
    for (; *s; s++) {
        switch (*s) {
        case '_': case '%': case '&': case '#': case '$': case '{': case '}': fputc('\\', f); fputc(*s, f); break;
        case '~': fputs("\\textasciitilde{}", f); break;
        case '^': fputs("\\textasciicircum{}", f); break;
        case '\\': fputs("\\textbackslash{}", f); break;
        default: fputc(*s, f);
        }
    }
}

void html_put(FILE *f, const char *s) {
    for (; *s; s++) {
        switch (*s) {
        case '&': fputs("&amp;", f); break;
        case '<': fputs("&lt;", f); break;
        case '>': fputs("&gt;", f); break;
        case '"': fputs("&quot;", f); break;
        default: fputc(*s, f);
        }
    }
}

// Markdown: a '|' would end the cell.
static void md_put(FILE *f, const char *s) {
    for (; *s; s++) {
        if (*s == '|') fputc('\\', f);
        fputc(*s, f);
    }
}

int table_write(const char *h5path, int which, TableFormat fmt, FILE *out, WbError *err) {
    if (which != 1 && which != 2) return wb_error(err, "table %d: expected 1 (memory, FLOPs, accuracy) or 2 (time)", which);
    Plot p;
    if (pl_load(&p, h5path, err)) return -1;
    int use_test = pl_all_tested(&p);
    const char *const *HEAD = which == 2 ? HEAD2 : HEAD1;
    const int ncol = which == 2 ? 8 : 9;
    char cell[NCOL][96];
    const char *pm = fmt == TABLE_TEX ? " $\\pm$ " : fmt == TABLE_CSV ? " +- " : " ± ";
    GroupStats van, *vp = NULL;   // Table 2's speedups: against the first vanilla setting
    for (int g = 0; g < p.n_groups && !vp; g++)
        if (method_is_reference(pl_member(&p, &p.groups[g], 0)->s->method)) { pl_group_stats(&p, &p.groups[g], &van); vp = &van; }
    char caption[1200];
    if (which == 2)
        snprintf(caption, sizeof caption,
                 "%s, stage '%s': %d settings of %d complete runs. Wall time per training step (forward, backward, decomposition, "
                 "update, recompute and data) and per inference batch, ms, at the run's batch size and threads; speedup = vanilla's "
                 "mean / the row's (%s). Mean +- std over seeds.",
                 h5path, p.stage, p.n_groups, p.n_order, vp ? "vanilla is the first vanilla setting" : "no vanilla run: -");
    else
        snprintf(caption, sizeof caption,
                 "%s, stage '%s': %d settings of %d complete runs. Memory: the paper's measure (training: saved activations + weights "
                 "of the counted linears; inference: their weights), MB = 2^20 bytes. FLOPs counted, per training step and per "
                 "inference batch at the run's batch size. Accuracy: final %s accuracy. Mean +- std over seeds.",
                 h5path, p.stage, p.n_groups, p.n_order, use_test ? "test" : "validation");
    if (fmt == TABLE_MD) {
        fprintf(out, "%s\n\n|", caption);
        for (int c = 0; c < ncol; c++) fprintf(out, " %s |", HEAD[c]);
        fputs("\n|", out);
        for (int c = 0; c < ncol; c++) fputs(c == 0 ? " --- |" : " ---: |", out);
        fputc('\n', out);
    } else if (fmt == TABLE_CSV) {
        for (int c = 0; c < ncol; c++) {
            if (c) fputc(',', out);
            csv_fwrite(out, HEAD[c], strlen(HEAD[c]));
        }
        fputc('\n', out);
    } else if (fmt == TABLE_HTML) {
        fputs("<table class=\"paper\">\n<caption>", out);
        html_put(out, caption);
        fputs("</caption>\n<tr>", out);
        for (int c = 0; c < ncol; c++) { fputs("<th>", out); html_put(out, HEAD[c]); fputs("</th>", out); }
        fputs("</tr>\n", out);
    } else {
        fputs("% ", out);
        tex_put(out, caption);
        fputs(which == 2 ? "\n\\begin{tabular}{lrrrrrrr}\n\\hline\n" : "\n\\begin{tabular}{lrrrrrrrr}\n\\hline\n", out);
        for (int c = 0; c < ncol; c++) { if (c) fputs(" & ", out); tex_put(out, HEAD[c]); }
        fputs(" \\\\\n\\hline\n", out);
    }
    for (int g = 0; g < p.n_groups; g++) {
        row_cells(&p, &p.groups[g], which, use_test, pm, vp, cell);
        if (fmt == TABLE_HTML) fputs("<tr>", out);
        for (int c = 0; c < ncol; c++) {
            if (fmt == TABLE_HTML) { fputs(c ? "<td class=\"num\">" : "<td>", out); html_put(out, cell[c]); fputs("</td>", out); }
            else if (fmt == TABLE_MD) { fputs(c ? " " : "| ", out); md_put(out, cell[c]); fputs(" |", out); }
            else if (fmt == TABLE_CSV) { if (c) fputc(',', out); csv_fwrite(out, cell[c], strlen(cell[c])); }
            else {
                if (c) fputs(" & ", out);
                if (strstr(cell[c], pm)) {   // the \pm is already TeX: escape the numbers around it only
                    char *at = strstr(cell[c], pm);
                    *at = 0;
                    tex_put(out, cell[c]);
                    fputs(pm, out);
                    tex_put(out, at + strlen(pm));
                } else tex_put(out, cell[c]);
            }
        }
        fputs(fmt == TABLE_TEX ? " \\\\\n" : fmt == TABLE_HTML ? "</tr>\n" : "\n", out);
    }
    if (fmt == TABLE_TEX) fputs("\\hline\n\\end{tabular}\n", out);
    if (fmt == TABLE_HTML) fputs("</table>\n", out);
    pl_free(&p);
    if (ferror(out)) return wb_error(err, "writing the table failed: %s", strerror(errno));
    return 0;
}
