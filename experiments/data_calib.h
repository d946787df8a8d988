// data_calib.h: the calibration pass of a METHOD_DATA_CALIB method
// (svdllm_lora's whitening): before training, calib_batches training
// batches forward in inference mode (training = 0), then calib_end on every
// counted linear. Every MPI rank reads the same items, so every rank fixes
// the same structure.
#ifndef WB_DATA_CALIB_H
#define WB_DATA_CALIB_H

#include "core/data/dataset.h"
#include "core/models/model.h"

// items (n_train) in training order; x, y hold one batch of B. FLOPs go to
// PHASE_DECOMPOSITION. Returns the batches run, or -1 with err (a data error).
int data_calib_run(Model *m, Dataset *train, const int *items, int n_train, int B, int batches, float *x, int *y, WbError *err);

#endif
