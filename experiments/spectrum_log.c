// spectrum_log.c: the activation spectrum of a run (see spectrum_log.h).
#include "experiments/spectrum_log.h"
#include "core/compress/rank_calib.h"
#include "core/runtime/counters.h"
#include "core/runtime/memory.h"

#include <string.h>

int spectrum_log_measure(SpectrumLog *g, Model *probe, Dataset *train, const int *items, int n_train, int B, float *x, int *y,
                         WbError *err) {
    memset(g, 0, sizeof *g);
    int got = dataset_batch(train, items, n_train < B ? n_train : B, 0, x, y, err);
    if (got < 0) return -1;
    Phase before = phase_get();
    phase_set(PHASE_OTHER);
    model_forward(probe, x, y, got, 1);
    int nmax = model_num_linears(probe);
    LinearLayer **lin = mem_alloc(sizeof(LinearLayer *) * (size_t)(nmax > 0 ? nmax : 1), MEM_WORKSPACE);
    int n = model_counted_linears(probe, lin, nmax);
    long total = 0;
    for (int l = 0; l < n; l++) total += act_spectrum_rows(lin[l]->dims, lin[l]->ndim);
    g->rows = mem_alloc(sizeof(SpectrumRow) * (size_t)(total > 0 ? total : 1), MEM_WORKSPACE);
    for (int l = 0; l < n; l++) {
        const float *in = rank_probe_input(lin[l]);
        CHECK(in, "%s: the probe saved no input in its training forward", lin[l]->name);
        act_spectrum(in, lin[l]->dims, lin[l]->ndim, l, g->rows + g->n_rows);
        g->n_rows += act_spectrum_rows(lin[l]->dims, lin[l]->ndim);
    }
    mem_free(lin);
    phase_set(before);
    return 0;
}

void spectrum_log_free(SpectrumLog *g) {
    mem_free(g->rows);
    memset(g, 0, sizeof *g);
}
