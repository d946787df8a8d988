// dense_weights.c: the dense W, b of a linear layer (see dense_weights.h).
#include "core/nn/dense_weights.h"
#include "core/runtime/memory.h"

#include <string.h>

void dense_weights_init(DenseWeights *d, const LinearLayer *L, const float *W, const float *b) {
    linear_check_bias(L, b);
    params_init(&d->p, L->trainable);
    params_declare(&d->p, "weight", 2, (int[]){L->O, L->I});
    if (!L->no_bias) params_declare(&d->p, "bias", 1, (int[]){L->O});
    params_alloc(&d->p);
    d->w = params_get(&d->p, "weight");
    d->dw = params_grad(&d->p, "weight");
    d->b = d->db = NULL;   // no_bias: linear_forward/backward skip a NULL bias
    if (!L->no_bias) {
        d->b = params_get(&d->p, "bias");
        d->db = params_grad(&d->p, "bias");
        memcpy(d->b, b, sizeof(float) * (size_t)L->O);
    }
    memcpy(d->w, W, sizeof(float) * (size_t)L->O * (size_t)L->I);
}

void dense_weights_account(const DenseWeights *d, const LinearLayer *L, LinearAccount *acc) {
    acc->bytes_weights = mem_size(d->p.params);
    acc->bytes_gradients = d->p.grads ? mem_size(d->p.grads) : 0;
    acc->bytes_optimizer = (d->p.opt_m ? mem_size(d->p.opt_m) : 0) + (d->p.opt_v ? mem_size(d->p.opt_v) : 0);
    acc->paper_weight_elems = (double)L->O * L->I;
}

void dense_weights_free(DenseWeights *d) { params_free(&d->p); }
