// linear_method.c: helpers shared by every LinearMethod (see linear_method.h).
#include "core/nn/linear_method.h"
#include "core/runtime/common.h"
#include "core/runtime/memory.h"

#include <string.h>

void linear_layer_set_dims(LinearLayer *L, const int *dims, int ndim) {
    CHECK(ndim >= 2 && ndim <= 4, "%s: activation with %d modes", L->name, ndim);
    CHECK(dims[ndim - 1] == L->I, "%s: input has %d features, layer expects I=%d", L->name, dims[ndim - 1], L->I);
    L->ndim = ndim;
    L->rows = 1;
    for (int d = 0; d < ndim; d++) { L->dims[d] = dims[d]; if (d < ndim - 1) L->rows *= dims[d]; }
}

float *linear_saved_input_alloc(LinearLayer *L) {
    size_t n = (size_t)L->max_rows * (size_t)L->I;
    SharedInput *sh = L->shared_x;
    if (!sh) return mem_alloc_floats(n, MEM_ACTIVATIONS);
    if (!sh->x) { sh->x = mem_alloc_floats(n > sh->floats ? n : sh->floats, MEM_ACTIVATIONS); sh->owner = L; }
    CHECK(mem_size(sh->x) >= sizeof(float) * n, "%s: shared saved input of %zu bytes, needs %zu", L->name, mem_size(sh->x),
          sizeof(float) * n);
    sh->users++;
    return sh->x;
}

void linear_saved_input_free(LinearLayer *L, float *x) {
    SharedInput *sh = L->shared_x;
    if (!x) return;
    if (!sh) { mem_free(x); return; }
    CHECK(x == sh->x && sh->users > 0, "%s: freeing a saved input that is not its shared one", L->name);
    if (--sh->users == 0) { mem_free(sh->x); sh->x = NULL; sh->owner = NULL; }
}

size_t linear_saved_input_bytes(const LinearLayer *L, const float *x) {
    if (!x) return 0;
    return (!L->shared_x || L->shared_x->owner == L) ? mem_size(x) : 0;
}

void linear_check_bias(const LinearLayer *L, const float *b) {
    CHECK(b || L->no_bias, "%s: init got b == NULL for a layer with a bias (set LinearLayer.no_bias for y = x W^T)", L->name);
}

void linear_export_bias(const LinearLayer *L, const float *bias, float *b) {
    if (!b) return;
    if (bias) memcpy(b, bias, sizeof(float) * (size_t)L->O);
    else memset(b, 0, sizeof(float) * (size_t)L->O);
}
