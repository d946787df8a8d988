// act_dense.c: dense W, compressed saved activations (hosvd, asi); see act_dense.h.
#include "act_dense.h"
#include "core/runtime/common.h"
#include "core/nn/dense_weights.h"
#include "core/nn/linear_dense.h"
#include "core/nn/layers.h"
#include "core/runtime/memory.h"

#include <math.h>
#include <string.h>

typedef struct {
    DenseWeights dw;  // first member: dense_param_sets/update/export apply (core/nn/dense_weights.h)
    ActStore act;     // compressed x; unused (nd = 0) when frozen
    int saved;        // the last forward saved for backward
} ActDense;

void act_dense_setup(LinearLayer *L, const float *W, const float *b, ActMode mode, const float *eps,
                     const int *ranks, uint64_t seed) {
    CHECK(L->max_rows > 0, "%s: max_rows not set before init", L->name);
    CHECK(L->ndim >= 2 && L->ndim <= HOSVD_MAX_MODES && L->dims[L->ndim - 1] == L->I,
          "%s: init needs the activation modes (ndim %d, last %d, I %d)", L->name, L->ndim, L->dims[L->ndim - 1], L->I);
    linear_check_bias(L, b);   // before any allocation
    ActDense *d = mem_alloc(sizeof(ActDense), MEM_WORKSPACE);
    dense_weights_init(&d->dw, L, W, b);
    if (L->trainable) act_store_init(&d->act, L->ndim, L->dims, L->O, mode, eps, ranks, seed);
    L->state = d;
}

void act_dense_forward(LinearLayer *L, float *out, const float *inp, const int *dims, int ndim, int training) {
    ActDense *d = L->state;
    linear_layer_set_dims(L, dims, ndim);
    CHECK(L->rows <= L->max_rows, "%s: %ld rows > max_rows %ld", L->name, L->rows, L->max_rows);
    linear_forward(out, inp, d->dw.w, d->dw.b, (int)L->rows, L->I, L->O);
    d->saved = training && L->trainable;
    if (d->saved) act_store_save(&d->act, inp, dims, ndim);
}

void act_dense_backward(LinearLayer *L, float *dinp, const float *dout) {
    ActDense *d = L->state;
    if (!L->trainable) {
        linear_backward(dinp, NULL, NULL, dout, NULL, d->dw.w, (int)L->rows, L->I, L->O);
        return;
    }
    CHECK(d->saved, "%s: backward without a training forward", L->name);
    linear_backward(dinp, NULL, d->dw.db, dout, NULL, d->dw.w, (int)L->rows, L->I, L->O);  // exact dx, db
    act_store_dw(&d->act, d->dw.dw, dout, L->O);                                           // dW from (S, U)
}

void act_dense_account(const LinearLayer *L, LinearAccount *acc) {
    const ActDense *d = L->state;
    memset(acc, 0, sizeof *acc);
    dense_weights_account(&d->dw, L, acc);
    if (!L->trainable) return;
    acc->bytes_activations = act_store_bytes(&d->act);
    acc->paper_act_elems = act_store_numel(&d->act);   // core + factors
    acc->act_ndim = act_store_ranks(&d->act, acc->act_ranks);
}

void act_dense_free(LinearLayer *L) {
    ActDense *d = L->state;
    if (!d) return;
    dense_weights_free(&d->dw);
    if (L->trainable) act_store_free(&d->act);
    mem_free(d);
    L->state = NULL;
}

double act_tucker_paper_elems(const char *method, const int *dims, int nd, const MethodConfig *mc, const LayerRanks *lr) {
    CHECK(nd >= 2 && nd <= 4, "activation of %d modes", nd);
    const int *k = lr ? lr->act_ranks : mc->act_ranks;
    for (int n = 0; n < nd; n++) {
        if (!lr && k[n] < 1) return NAN;   // ranks from data: no closed form before the run
        CHECK(k[n] >= 1, "%s: activation rank k%d = %d", method, n + 1, k[n]);
    }
    return tucker_elems(dims, k, nd);
}

