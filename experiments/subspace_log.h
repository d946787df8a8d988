// subspace_log.h: the runner's side of the stable-subspace log (issue 15
// item 4): whether a run logs, at which epsilon, and the rows it collects
// (core/compress/subspace_track.h does the linear algebra).
#ifndef WB_SUBSPACE_LOG_H
#define WB_SUBSPACE_LOG_H

#include "core/compress/subspace_track.h"
#include "core/models/model.h"
#include "experiments/config.h"

typedef struct {
    int on;
    SubspaceTrack t;
    SubspaceRow *rows;   // (epochs + 1) * layers, filled in order
    int n_rows, cap;
} SubspaceLog;

// On when training.log_subspace is true, or unset and the method keeps a
// weight rank (METHOD_WEIGHT_LOWRANK: wasi, wsi, svdllm_lora). Epsilon:
// training.subspace_epsilon, else the method's epsilon, else 0.8 (the
// paper's Fig. 3a). Returns 1 when on.
int subspace_log_wanted(const RunSpec *rs, const LinearMethod *m, const MethodConfig *mc, float *epsilon);
// Begin on the model's counted trainable linears (the 'layers' table rows),
// with their current weights as the reference: the epoch-0 rows.
void subspace_log_begin(SubspaceLog *g, const RunSpec *rs, const LinearMethod *m, const MethodConfig *mc, const Model *model);
void subspace_log_epoch(SubspaceLog *g, int epoch);
void subspace_log_free(SubspaceLog *g);

#endif
