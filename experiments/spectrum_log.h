// spectrum_log.h: the runner's side of the activation spectrum (the paper's
// Fig. 4; training.log_spectrum): the inputs of the run's counted linears
// on its first training batch at its starting weights, each mode's
// explained variance (core/compress/act_spectrum.h), as the 'spectrum'
// table of the results file.
//
// The inputs come from a probe copy of the model (rank_calib.h's probe
// linear records x in a training forward), built, loaded with the run's
// starting weights, run once and freed before the run's own model is built:
// the method under test is not touched, so a run's training is the same
// with the log on or off. Its memory is gone before the run's peaks are
// reset; its FLOPs and time go to PHASE_OTHER (not the training phases).
#ifndef WB_SPECTRUM_LOG_H
#define WB_SPECTRUM_LOG_H

#include "core/compress/act_spectrum.h"
#include "core/data/dataset.h"
#include "core/models/model.h"

typedef struct {
    SpectrumRow *rows;   // layer by layer (forward order), mode by mode, index by index; MEM_WORKSPACE
    long n_rows;
} SpectrumLog;

// probe: built with bind.method = &rank_probe_method and holding the run's
// starting weights. One training forward on items[0 .. min(B, n_train)) of
// train (x, y: batch buffers of B images), then the spectrum of every
// counted trainable linear's input. Returns 0, or -1 with err (data).
int spectrum_log_measure(SpectrumLog *g, Model *probe, Dataset *train, const int *items, int n_train, int B, float *x, int *y,
                         WbError *err);
void spectrum_log_free(SpectrumLog *g);

#endif
