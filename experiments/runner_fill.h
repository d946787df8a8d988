// runner_fill.h: what the runner copies from a run's settings and its model
// into the results: the summary's settings and the per-layer rows.
#ifndef WB_RUNNER_FILL_H
#define WB_RUNNER_FILL_H

#include "core/models/model.h"
#include "experiments/config.h"
#include "experiments/results.h"

// The method's settings a summary reports, found through its declared keys.
void runner_fill_method_settings(RunSummary *s, const LinearMethod *m, const MethodConfig *mc);
// Name, method, settings, model and data set of rs.
void runner_fill_settings(RunSummary *s, const RunSpec *rs);
// Per counted linear: name, sizes, ranks in use, paper measure; returns how many (<= max).
int runner_collect_layers(const Model *m, LayerRow *rows, int max);

#endif
