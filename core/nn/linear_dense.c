// linear_dense.c: y = x W^T + b with W, b dense and x saved for backward
// (see linear_dense.h; no_bias: y = x W^T, dense_weights.h keeps no b).
// Buffers are sized once from L->max_rows.
#include "core/nn/linear_dense.h"
#include "core/nn/dense_weights.h"
#include "core/runtime/common.h"
#include "core/nn/layers.h"
#include "core/runtime/memory.h"

#include <string.h>

typedef struct {
    DenseWeights dw;  // first member: see dense_weights.h
    float *x;         // (max_rows, I) saved input, category activations; NULL when frozen
    int saved;        // forward saved x for the next backward
} Dense;

void dense_init(LinearLayer *L, const float *W, const float *b, const MethodConfig *cfg) {
    (void)cfg;
    CHECK(L->max_rows > 0, "%s: max_rows not set before init", L->name);
    linear_check_bias(L, b);   // before any allocation
    Dense *d = mem_alloc(sizeof(Dense), MEM_WORKSPACE);
    dense_weights_init(&d->dw, L, W, b);
    if (L->trainable) d->x = linear_saved_input_alloc(L);
    L->state = d;
}

void dense_forward(LinearLayer *L, float *out, const float *inp, const int *dims, int ndim, int training) {
    Dense *d = L->state;
    linear_layer_set_dims(L, dims, ndim);
    CHECK(L->rows <= L->max_rows, "%s: %ld rows > max_rows %ld", L->name, L->rows, L->max_rows);
    linear_forward(out, inp, d->dw.w, d->dw.b, (int)L->rows, L->I, L->O);
    d->saved = training && L->trainable;
    if (d->saved) memcpy(d->x, inp, sizeof(float) * (size_t)L->rows * (size_t)L->I);
}

void dense_backward(LinearLayer *L, float *dinp, const float *dout) {
    Dense *d = L->state;
    if (!L->trainable) { // frozen but inside the backward path: only dx
        linear_backward(dinp, NULL, NULL, dout, NULL, d->dw.w, (int)L->rows, L->I, L->O);
        return;
    }
    CHECK(d->saved, "%s: backward without a training forward", L->name);
    linear_backward(dinp, d->dw.dw, d->dw.db, dout, d->x, d->dw.w, (int)L->rows, L->I, L->O);
}

// The next three read only the leading DenseWeights, so every method whose
// state starts with one shares them.
int dense_param_sets(LinearLayer *L, ParamSet **out) {
    DenseWeights *d = L->state;
    if (!L->trainable) return 0;
    out[0] = &d->p;
    return 1;
}

void dense_update(LinearLayer *L, const OptimConfig *oc, float lr) {
    DenseWeights *d = L->state;
    if (L->trainable) optim_step(oc, &d->p, lr);
}

void dense_export(const LinearLayer *L, float *W, float *b) {
    const DenseWeights *d = L->state;
    memcpy(W, d->w, sizeof(float) * (size_t)L->O * (size_t)L->I);
    linear_export_bias(L, d->b, b);
}

void dense_account(const LinearLayer *L, LinearAccount *acc) {
    const Dense *d = L->state;
    memset(acc, 0, sizeof *acc);
    dense_weights_account(&d->dw, L, acc);
    acc->bytes_activations = linear_saved_input_bytes(L, d->x);
    // paper measure: the saved input and the weight matrix of this layer
    acc->paper_act_elems = L->trainable ? (double)L->rows * L->I : 0;
}

void dense_free(LinearLayer *L) {
    Dense *d = L->state;
    if (!d) return;
    dense_weights_free(&d->dw);
    linear_saved_input_free(L, d->x);
    mem_free(d);
    L->state = NULL;
}

const LinearMethod linear_dense_method = {
    .name = "dense",
    .init = dense_init, .forward = dense_forward, .backward = dense_backward, .param_sets = dense_param_sets,
    .update = dense_update, .account = dense_account, .export_dense = dense_export, .free = dense_free,
};
