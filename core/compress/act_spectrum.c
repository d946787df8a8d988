// act_spectrum.c: the per-mode spectrum of an activation (see act_spectrum.h).
#include "core/compress/act_spectrum.h"
#include "core/compress/tucker.h"
#include "core/linalg/linalg.h"
#include "core/runtime/common.h"
#include "core/runtime/memory.h"

long act_spectrum_rows(const int *dims, int nd) {
    long n = 0;
    for (int d = 0; d < nd; d++) n += dims[d];
    return n;
}

void act_spectrum(const float *x, const int *dims, int nd, int32_t layer, SpectrumRow *rows) {
    CHECK(nd >= 2 && nd <= HOSVD_MAX_MODES, "activation spectrum of %d modes", nd);
    int dmax = 0;
    for (int n = 0; n < nd; n++) {
        CHECK(dims[n] > 0, "activation spectrum: mode %d has size %d", n, dims[n]);
        dmax = wb_max(dmax, dims[n]);
    }
    float *G = mem_alloc_floats((size_t)dmax * dmax, MEM_WORKSPACE);
    EigWork e;
    eig_work_init(&e, dmax);
    for (int n = 0; n < nd; n++) {
        const int d = dims[n];
        tensor_mode_gram(G, x, dims, nd, n);
        sym_eig_inplace(G, d, &e);
        // The trace is the same on every mode (||x||^2), but each mode's own
        // sum keeps its last fraction exactly 1 despite rounding.
        double total = 0, acc = 0;
        for (int i = 0; i < d; i++) total += e.evals[i] > 0 ? (double)e.evals[i] : 0.0;
        for (int i = 0; i < d; i++) {
            double s2 = e.evals[d - 1 - i] > 0 ? (double)e.evals[d - 1 - i] : 0.0;   // descending
            acc += s2;
            *rows++ = (SpectrumRow){.layer = layer, .mode = n, .dim = d, .index = i + 1, .energy = s2,
                                    .explained = i == d - 1 || !(total > 0) ? 1.0 : acc / total};   // all zero: 1 direction suffices
        }
    }
    eig_work_free(&e);
    mem_free(G);
}

int act_spectrum_rank(const SpectrumRow *rows, float epsilon) {
    const int d = rows[0].dim;
    if (epsilon >= 1) return d;
    for (int i = 0; i < d; i++)
        if (rows[i].explained >= (double)epsilon - ENERGY_TOL) return i + 1;
    return d;
}
