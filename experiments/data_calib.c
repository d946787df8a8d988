// data_calib.c: the calibration forwards of METHOD_DATA_CALIB methods (see data_calib.h).
#include "experiments/data_calib.h"
#include "core/runtime/counters.h"

int data_calib_run(Model *m, Dataset *train, const int *items, int n_train, int B, int batches, float *x, int *y, WbError *err) {
    Phase before = phase_get();
    phase_set(PHASE_DECOMPOSITION);
    int done = 0;
    for (; done < batches && done * B < n_train; done++) {
        int n = n_train - done * B < B ? n_train - done * B : B;
        int got = dataset_batch(train, items + (size_t)done * B, n, 0, x, y, err);
        if (got < 0) { phase_set(before); return -1; }
        model_forward(m, x, y, got, 0);
    }
    LinearLayer *lin[1024];
    int nl = model_counted_linears(m, lin, 1024);
    for (int i = 0; i < nl; i++)
        if (lin[i]->method->calib_end) lin[i]->method->calib_end(lin[i]);
    phase_set(before);
    return done;
}
