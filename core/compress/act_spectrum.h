// act_spectrum.h: the explained variance of an activation per mode (the
// paper's Fig. 4). For each mode n of x (d_0, ..., d_{nd-1}) the spectrum
// of the unfolding X_(n): the eigenvalues of its Gram X_(n) X_(n)^T, i.e.
// the squared singular values, in descending order, and their cumulative
// fraction of the total (which is ||x||_F^2 on every mode). The exact
// truncated HOSVD keeps, on mode n at epsilon, the first index whose
// cumulative fraction reaches epsilon (energy_rank, linalg.h), so the
// curves show what each epsilon keeps of each mode.
//
// Costs: per mode one Gram (tucker.h tensor_mode_gram: 2 d_n numel(x)
// FLOPs) and one symmetric eigen-decomposition of (d_n, d_n), charged to
// the caller's phase; the Gram and the eigen workspace (MEM_WORKSPACE) are
// allocated per call and freed before it returns (a probe, not a hot loop).
#ifndef WB_ACT_SPECTRUM_H
#define WB_ACT_SPECTRUM_H

#include <stdint.h>

// One component of one mode of one layer's input (the results file's
// 'spectrum' table).
typedef struct {
    int32_t layer;      // index into the run's counted linears ('layers' table row)
    int32_t mode;       // 0 .. nd-1; the last is the channel mode (the linear's I)
    int32_t dim;        // d_mode
    int32_t index;      // 1 .. dim
    double energy;      // sigma_index^2 of X_(mode) (rounding negatives clamped to 0)
    double explained;   // sum_{j <= index} sigma_j^2 / sum_j sigma_j^2 (1 at index = dim)
} SpectrumRow;

// How many rows act_spectrum writes for dims: the sum of the mode sizes.
long act_spectrum_rows(const int *dims, int nd);
// rows (act_spectrum_rows(dims, nd)) for x (dims, row-major, nd <= 4).
void act_spectrum(const float *x, const int *dims, int nd, int32_t layer, SpectrumRow *rows);
// The rank act_spectrum's rows of one (layer, mode) give at epsilon: the
// first index whose explained fraction reaches it (the HOSVD_EXACT rule).
// rows: the dim rows of that mode, in index order.
int act_spectrum_rank(const SpectrumRow *rows, float epsilon);

#endif
