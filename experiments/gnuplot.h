// gnuplot.h: run gnuplot on one figure script and check what it did.
#ifndef WB_GNUPLOT_H
#define WB_GNUPLOT_H

#include "core/runtime/common.h"

// gnuplot -e "datadir='DATADIR'; outfile='OUTFILE'; term='TERM'" SCRIPT
// ($WASIBENCH_GNUPLOT instead of gnuplot when set), its stdout and stderr
// appended to log_path. 0, or -1 with err: gnuplot missing, its exit status
// with the first error line of its log, or no output file written.
int gnuplot_run(const char *datadir, const char *script, const char *outfile, const char *term, const char *log_path, WbError *err);

#endif
