// report.h: `wasibench report RESULTS.h5 --out DIR`: one self-contained HTML
// page, DIR/index.html, to compare the methods of a results file at a
// glance: every run with its status and headline numbers, the paper's Table 1
// columns (table.h), every figure of `wasibench plot` and of `plot --paper`
// inline as SVG (rendered into DIR/figures and DIR/paper first; a paper
// figure without its runs shows what it needs instead), and the provenance
// (code version, host, BLAS, threads of the runs, and of this binary).
// Nothing is loaded from elsewhere: the page opens offline in any browser.
#ifndef WB_REPORT_H
#define WB_REPORT_H

#include <stdio.h>

#include "core/runtime/common.h"

// 0, or -1 with err (unreadable results, DIR not writable, gnuplot failing).
// Progress lines of the figures go to log (NULL: quiet).
int report_write(const char *h5path, const char *outdir, const char *build_version, FILE *log, WbError *err);

#endif
