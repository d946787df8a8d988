// params.c: ParamSet, contiguous named parameter blocks (see params.h).
#include "core/train/params.h"
#include "core/runtime/common.h"
#include "core/runtime/memory.h"

#include <string.h>

void params_init(ParamSet *ps, int trainable) {
    memset(ps, 0, sizeof *ps);
    ps->trainable = trainable;
}

void params_declare(ParamSet *ps, const char *name, int ndim, const int *shape) {
    CHECK(!ps->params, "params_declare('%s') after params_alloc", name);
    CHECK(ndim >= 1 && ndim <= PARAM_MAX_DIMS, "tensor '%s' has %d dims", name, ndim);
    CHECK(strlen(name) < PARAM_NAME_MAX, "tensor name too long: %s", name);
    CHECK(params_index(ps, name) < 0, "tensor '%s' declared twice", name);
    if (ps->n == ps->cap) {
        int cap = ps->cap ? 2 * ps->cap : 32;
        ParamInfo *ni = mem_alloc(sizeof(ParamInfo) * (size_t)cap, MEM_WORKSPACE);
        if (ps->info) { memcpy(ni, ps->info, sizeof(ParamInfo) * (size_t)ps->n); mem_free(ps->info); }
        ps->info = ni;
        ps->cap = cap;
    }
    ParamInfo *p = &ps->info[ps->n++];
    strcpy(p->name, name);
    p->ndim = ndim;
    p->numel = 1;
    for (int d = 0; d < ndim; d++) { CHECK(shape[d] > 0, "tensor '%s' dim %d = %d", name, d, shape[d]); p->shape[d] = shape[d]; p->numel *= (size_t)shape[d]; }
    p->offset = ps->numel;
    ps->numel += (p->numel + 15) & ~(size_t)15;  // 64-byte aligned tensors
}

void params_alloc(ParamSet *ps) {
    CHECK(!ps->params, "params_alloc twice");
    if (ps->numel == 0) return;
    ps->params = mem_alloc_floats(ps->numel, MEM_WEIGHTS);
    if (ps->trainable) ps->grads = mem_alloc_floats(ps->numel, MEM_GRADIENTS);
}

void params_free(ParamSet *ps) {
    mem_free(ps->info); mem_free(ps->params); mem_free(ps->grads); mem_free(ps->opt_m); mem_free(ps->opt_v);
    memset(ps, 0, sizeof *ps);
}

int params_index(const ParamSet *ps, const char *name) {
    for (int i = 0; i < ps->n; i++) if (strcmp(ps->info[i].name, name) == 0) return i;
    return -1;
}

float *params_get(const ParamSet *ps, const char *name) {
    int i = params_index(ps, name);
    CHECK(i >= 0, "no parameter named '%s'", name);
    CHECK(ps->params, "parameter '%s' read before params_alloc", name);
    return ps->params + ps->info[i].offset;
}

float *params_grad(const ParamSet *ps, const char *name) {
    int i = params_index(ps, name);
    CHECK(i >= 0, "no parameter named '%s'", name);
    return ps->grads ? ps->grads + ps->info[i].offset : NULL;
}

void params_zero_grad(ParamSet *ps) {
    if (ps->grads) memset(ps->grads, 0, ps->numel * sizeof(float));
}

double params_grad_sqnorm(const ParamSet *ps) {
    double s = 0;
    if (!ps->grads) return 0;
    for (size_t i = 0; i < ps->numel; i++) s += (double)ps->grads[i] * (double)ps->grads[i];
    return s;
}

void params_scale_grad(ParamSet *ps, float s) {
    if (!ps->grads) return;
    for (size_t i = 0; i < ps->numel; i++) ps->grads[i] *= s;
}
