// plot_render.c: the second half of `wasibench plot` (plot.c writes the data
// files): find the gnuplot scripts, copy them beside the data, write
// render.sh, and run gnuplot once per figure and format, checking its exit
// status and output (experiments/gnuplot.c). A paper figure without its runs
// gets <fig>_missing.txt instead.
#include "experiments/plot_data.h"
#include "experiments/fs.h"
#include "experiments/gnuplot.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int is_file(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

// $WASIBENCH_PLOTS, ./plots, <exe dir>/../plots, <exe dir>/../../plots.
static int find_scripts(Plot *p, char *dir) {
    char probe[PATH_CAP], exe[PATH_CAP];
    const char *env = getenv("WASIBENCH_PLOTS");
    if (env && env[0]) {
        if ((size_t)snprintf(dir, PATH_CAP, "%s", env) < PATH_CAP && !pl_join(p, probe, dir, "accuracy_memory.gp") && is_file(probe)) return 0;
        return wb_error(p->err, "WASIBENCH_PLOTS=%s: no accuracy_memory.gp there (it must name the plots/ directory of wasibench)", env);
    }
    snprintf(dir, PATH_CAP, "plots");
    if (is_file("plots/accuracy_memory.gp")) return 0;
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n > 0) {
        exe[n] = 0;
        char *slash = strrchr(exe, '/');
        if (slash) *slash = 0;
        static const char *rel[] = {"../plots", "../../plots"};
        for (int i = 0; i < 2; i++) {
            if ((size_t)snprintf(dir, PATH_CAP, "%s/%s", exe, rel[i]) >= PATH_CAP) break;
            if (!pl_join(p, probe, dir, "accuracy_memory.gp") && is_file(probe)) return 0;
        }
    }
    return wb_error(p->err, "cannot find the gnuplot scripts (plots/accuracy_memory.gp): run from the wasibench directory or set WASIBENCH_PLOTS=/path/to/wasibench/plots");
}

static int copy_file(Plot *p, const char *src, const char *dst) {
    struct stat a, b;
    if (stat(src, &a) == 0 && stat(dst, &b) == 0 && a.st_dev == b.st_dev && a.st_ino == b.st_ino) return 0;  // --out plots
    return fs_copy_file(src, dst, 0, NULL, p->err);
}

// Copy the scripts, write render.sh, run gnuplot for every figure with data
// (the generic ones, or with --paper the paper's: a paper figure without its
// runs gets DIR/<fig>_missing.txt saying which runs it needs instead).
int pl_render(Plot *p, int svg_too) {
    char scripts[PATH_CAP], src[PATH_CAP], dst[PATH_CAP], out[PATH_CAP], log_path[PATH_CAP], name[128];
    const int lo = p->paper ? FIG_GENERIC_N : 0, hi = p->paper ? FIG_N : FIG_GENERIC_N;
    if (find_scripts(p, scripts)) return -1;
    static const char *shared[] = {"paper_style.gp"};   // loaded by the paper scripts
    for (int i = 0; p->paper && i < 1; i++)
        if (pl_join(p, src, scripts, shared[i]) || pl_join(p, dst, p->outdir, shared[i]) || copy_file(p, src, dst)) return -1;
    for (int f = lo; f < hi; f++) {
        if (p->paper && !p->has_data[f]) continue;   // a paper figure without data may have no script yet (4, 7)
        snprintf(name, sizeof name, "%s.gp", plot_fig_name[f]);
        if (pl_join(p, src, scripts, name) || pl_join(p, dst, p->outdir, name) || copy_file(p, src, dst)) return -1;
    }
    if (pl_join(p, out, p->outdir, "render.sh")) return -1;
    FILE *sh = fopen(out, "w");
    if (!sh) return wb_error(p->err, "%s: cannot write: %s", out, strerror(errno));
    fprintf(sh, "#!/bin/sh\n# Re-render the figures from the data files here (written by wasibench plot from %s).\n"
                "# Edit a .gp file to restyle its figure; term may be pngcairo or svg.\nset -e\ncd \"$(dirname \"$0\")\"\n", p->h5path);
    for (int f = lo; f < hi; f++) {
        if (!p->has_data[f]) continue;
        fprintf(sh, "gnuplot -e \"datadir='.'; outfile='%s.png'; term='pngcairo'\" %s.gp\n", plot_fig_name[f], plot_fig_name[f]);
        if (svg_too) fprintf(sh, "gnuplot -e \"datadir='.'; outfile='%s.svg'; term='svg'\" %s.gp\n", plot_fig_name[f], plot_fig_name[f]);
    }
    if (fclose(sh) != 0) return wb_error(p->err, "%s: write failed", out);
    chmod(out, 0755);

    if (pl_join(p, log_path, p->outdir, "gnuplot.log")) return -1;
    unlink(log_path);
    int written = 0;
    for (int f = lo; f < hi; f++) {
        snprintf(name, sizeof name, "%s.gp", plot_fig_name[f]);
        if (pl_join(p, dst, p->outdir, name)) return -1;
        for (int t = 0; t < 1 + (svg_too != 0); t++) {
            snprintf(name, sizeof name, "%s.%s", plot_fig_name[f], t ? "svg" : "png");
            if (pl_join(p, out, p->outdir, name)) return -1;
            unlink(out);  // a stale figure must not pass for a new one
            if (!p->has_data[f]) continue;
            if (gnuplot_run(p->outdir, dst, out, t ? "svg" : "pngcairo", log_path, p->err)) return -1;
            if (p->log) fprintf(p->log, "plot: wrote %s\n", out);
            written++;
        }
        if (!p->has_data[f] && p->log) fprintf(p->log, "plot: skipped %s: %s\n", plot_fig_name[f], p->why_empty[f]);
        if (p->paper) {   // <fig>_missing.txt: what is missing (a partial figure too), removed when nothing is
            snprintf(name, sizeof name, "%s_missing.txt", plot_fig_name[f]);
            if (pl_join(p, out, p->outdir, name)) return -1;
            unlink(out);
            if (p->why_empty[f][0]) {
                FILE *m = fopen(out, "w");
                if (!m) return wb_error(p->err, "%s: cannot write: %s", out, strerror(errno));
                fprintf(m, "%s: %s%s\n", plot_fig_name[f], p->has_data[f] ? "drawn without " : "not drawn: ", p->why_empty[f]);
                if (fclose(m) != 0) return wb_error(p->err, "%s: write failed", out);
                if (p->has_data[f] && p->log) fprintf(p->log, "plot: %s is partial: %s\n", plot_fig_name[f], p->why_empty[f]);
            }
        }
    }
    if (!written) return wb_error(p->err, "%s: no figure has data (%d runs, %d complete in stage '%s')", p->h5path, p->list.n, p->n_order, p->stage);
    return 0;
}

