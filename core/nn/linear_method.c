// linear_method.c: helpers shared by every LinearMethod (see linear_method.h).
#include "core/nn/linear_method.h"
#include "core/runtime/common.h"

void linear_layer_set_dims(LinearLayer *L, const int *dims, int ndim) {
    CHECK(ndim >= 2 && ndim <= 4, "%s: activation with %d modes", L->name, ndim);
    CHECK(dims[ndim - 1] == L->I, "%s: input has %d features, layer expects I=%d", L->name, dims[ndim - 1], L->I);
    L->ndim = ndim;
    L->rows = 1;
    for (int d = 0; d < ndim; d++) { L->dims[d] = dims[d]; if (d < ndim - 1) L->rows *= dims[d]; }
}
