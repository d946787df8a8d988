// table.h: `wasibench table RESULTS.h5 [--format md|csv|tex] [--out FILE]`:
// the paper's Table 1 columns for every setting of a results file: training
// and inference memory (the paper's measure), training and inference FLOPs,
// accuracy (test when every run was tested, else validation), mean and
// standard deviation over seeds. The runs are those `wasibench plot` shows
// (the last stage, or WASIBENCH_PLOT_STAGE; complete runs, grouped over
// seeds); the groups and their order are plot's (experiments/plot_data.h).
#ifndef WB_TABLE_H
#define WB_TABLE_H

#include <stdio.h>

#include "core/runtime/common.h"

// Text with &, <, >, " escaped for HTML.
void html_put(FILE *f, const char *s);

typedef enum { TABLE_MD = 0, TABLE_CSV, TABLE_TEX, TABLE_HTML } TableFormat;

// which = 1: the paper's Table 1 columns (above). which = 2: its Table 2,
// per-iteration wall time: training ms per step and inference ms per batch,
// mean +- std over seeds, and each one's speedup over the first vanilla setting.
// 0 on success; -1 with err (unreadable or empty file, unknown stage, write error).
int table_write(const char *h5path, int which, TableFormat fmt, FILE *out, WbError *err);
// "md" | "csv" | "tex" | "html" -> 0 and *fmt; -1 for another name.
// html: a <table> with its caption (for wasibench report, or a page of your own).
int table_format_parse(const char *name, TableFormat *fmt);

#endif
