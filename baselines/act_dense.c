// act_dense.c: dense W, compressed saved activations (hosvd, asi); see act_dense.h.
#include "act_dense.h"
#include "core/common.h"
#include "core/layers.h"
#include "core/memory.h"

#include <string.h>

typedef struct {
    ParamSet p;     // "weight" (O,I), "bias" (O)
    float *w, *b;   // views into p
    ActStore act;   // compressed x; unused (nd = 0) when frozen
    int saved;      // the last forward saved for backward
} ActDense;

void act_dense_setup(LinearLayer *L, const float *W, const float *b, ActMode mode, const float *eps,
                     const int *ranks, uint64_t seed) {
    CHECK(L->max_rows > 0, "%s: max_rows not set before init", L->name);
    CHECK(L->ndim >= 2 && L->ndim <= HOSVD_MAX_MODES && L->dims[L->ndim - 1] == L->I,
          "%s: init needs the activation modes (ndim %d, last %d, I %d)", L->name, L->ndim, L->dims[L->ndim - 1], L->I);
    ActDense *d = mem_alloc(sizeof(ActDense), MEM_WORKSPACE);
    params_init(&d->p, L->trainable);
    params_declare(&d->p, "weight", 2, (int[]){L->O, L->I});
    params_declare(&d->p, "bias", 1, (int[]){L->O});
    params_alloc(&d->p);
    d->w = params_get(&d->p, "weight");
    d->b = params_get(&d->p, "bias");
    memcpy(d->w, W, sizeof(float) * (size_t)L->O * (size_t)L->I);
    memcpy(d->b, b, sizeof(float) * (size_t)L->O);
    if (L->trainable) act_store_init(&d->act, L->ndim, L->dims, L->O, mode, eps, ranks, seed);
    L->state = d;
}

void act_dense_forward(LinearLayer *L, float *out, const float *inp, const int *dims, int ndim, int training) {
    ActDense *d = L->state;
    linear_layer_set_dims(L, dims, ndim);
    CHECK(L->rows <= L->max_rows, "%s: %ld rows > max_rows %ld", L->name, L->rows, L->max_rows);
    linear_forward(out, inp, d->w, d->b, (int)L->rows, L->I, L->O);
    d->saved = training && L->trainable;
    if (d->saved) act_store_save(&d->act, inp, dims, ndim);
}

void act_dense_backward(LinearLayer *L, float *dinp, const float *dout) {
    ActDense *d = L->state;
    if (!L->trainable) {
        linear_backward(dinp, NULL, NULL, dout, NULL, d->w, (int)L->rows, L->I, L->O);
        return;
    }
    CHECK(d->saved, "%s: backward without a training forward", L->name);
    float *dw = d->p.grads + d->p.info[0].offset, *db = d->p.grads + d->p.info[1].offset;
    linear_backward(dinp, NULL, db, dout, NULL, d->w, (int)L->rows, L->I, L->O);  // exact dx, db
    act_store_dw(&d->act, dw, dout, L->O);                                         // dW from (S, U)
}

int act_dense_param_sets(LinearLayer *L, ParamSet **out) {
    ActDense *d = L->state;
    if (!L->trainable) return 0;
    out[0] = &d->p;
    return 1;
}

void act_dense_update(LinearLayer *L, const OptimConfig *oc, float lr) {
    ActDense *d = L->state;
    if (L->trainable) optim_step(oc, &d->p, lr);
}

void act_dense_account(const LinearLayer *L, LinearAccount *acc) {
    const ActDense *d = L->state;
    memset(acc, 0, sizeof *acc);
    acc->bytes_weights = mem_size(d->p.params);
    acc->bytes_gradients = d->p.grads ? mem_size(d->p.grads) : 0;
    acc->bytes_optimizer = (d->p.opt_m ? mem_size(d->p.opt_m) : 0) + (d->p.opt_v ? mem_size(d->p.opt_v) : 0);
    acc->paper_weight_elems = (double)L->O * L->I;
    if (!L->trainable) return;
    acc->bytes_activations = act_store_bytes(&d->act);
    acc->paper_act_elems = act_store_numel(&d->act);   // core + factors
    acc->act_ndim = act_store_ranks(&d->act, acc->act_ranks);
}

void act_dense_export(const LinearLayer *L, float *W, float *b) {
    const ActDense *d = L->state;
    memcpy(W, d->w, sizeof(float) * (size_t)L->O * (size_t)L->I);
    memcpy(b, d->b, sizeof(float) * (size_t)L->O);
}

void act_dense_free(LinearLayer *L) {
    ActDense *d = L->state;
    if (!d) return;
    params_free(&d->p);
    if (L->trainable) act_store_free(&d->act);
    mem_free(d);
    L->state = NULL;
}
