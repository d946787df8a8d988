// plot.h: `wasibench plot RESULTS.h5 [--out DIR]`: the paper's figures from
// a results file. The HDF5 tables are exported to plain whitespace-separated
// data files (.dat, one commented header line naming the columns, strings
// quoted) plus info.gp (series names, counts, footnote) in DIR; then one
// gnuplot script per figure (plots/*.gp, copied into DIR) renders each to
// PNG (and SVG). A person restyles a figure by editing its .gp file and
// rerunning DIR/render.sh. plots/README.md lists the figures and columns.
//
// Which runs: the figures show one stage of the file (the run name's prefix
// before the last '/', e.g. "finetune"): the last stage written (the
// fine-tuning stage of a pretrain -> finetune file), or the stage named by
// the environment variable WASIBENCH_PLOT_STAGE (a comma list shows several
// stages; their runs are never averaged together). Summary figures (accuracy
// vs memory, FLOPs, time, memory, ranks) use only runs with status complete
// and average runs of the same settings over seeds (error bars: standard
// deviation over seeds); the training curves show every run of the stage.
// Skipped runs and stages are named in a footnote on each figure.
//
// Where the scripts are: $WASIBENCH_PLOTS if set, else ./plots, else
// <dir of the executable>/../plots, else <dir of the executable>/../../plots
// (the first that holds accuracy_memory.gp).
#ifndef WB_PLOT_H
#define WB_PLOT_H

#include <stdio.h>

#include "core/runtime/common.h"

// Export the data of h5path into outdir (created if missing, with parents)
// and render every figure that has data with gnuplot: <fig>.png, and
// <fig>.svg when svg_too. Reports each figure written (or skipped, and why)
// to log (if not NULL). Returns 0, or -1 with err filled (unreadable or
// foreign results file, no runs, outdir not writable, scripts not found,
// gnuplot missing or failing: its messages are in outdir/gnuplot.log).
// The data files are written before any rendering, so they exist even when
// gnuplot is missing.
int plot_results(const char *h5path, const char *outdir, int svg_too, FILE *log, WbError *err);

// `wasibench plot --paper`: the same export, then the paper's figures instead
// of the generic ones (plots/paper_fig*.gp; plots/README.md "The paper's
// figures"). A figure whose runs are missing is not drawn (or drawn partial)
// and DIR/<fig>_missing.txt says which runs it needs. Fails only when no
// paper figure has data.
int plot_paper(const char *h5path, const char *outdir, int svg_too, FILE *log, WbError *err);

#endif
