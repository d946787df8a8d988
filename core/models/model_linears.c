// model_linears.c: the weights and linears code the models share (see model_linears.h).
#include "core/models/model_linears.h"
#include "core/runtime/memory.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

void model_seed_for(Rng *r, uint64_t seed, const char *name) {
    uint64_t h = 1469598103934665603ull;   // FNV-1a of the name
    for (const char *c = name; *c; c++) h = (h ^ (unsigned char)*c) * 1099511628211ull;
    rng_seed(r, seed ^ h);
}

// Non-finite weights are refused at load, as an error naming the tensor:
// NaN/Inf would make a WASI layer's init die in the SVD (LAPACK error), and
// one bad checkpoint would end the whole sweep instead of failing one run.
int model_check_finite(const char *path, const char *name, const float *p, size_t n, WbError *err) {
    for (size_t i = 0; i < n; i++)
        if (!isfinite(p[i]))
            return wb_error(err, "'%s': tensor '%s' element %zu is %s (expected finite weights: a corrupt file, or one saved from a diverged run)",
                            path, name, i, isnan(p[i]) ? "NaN" : "Inf");
    return 0;
}

void model_sets_init_random(ParamSet *const *sets, int nsets, uint64_t seed, const char *norm_marker) {
    Rng r;
    for (int s = 0; s < nsets; s++)
        for (int i = 0; i < sets[s]->n; i++) {
            ParamInfo *pi = &sets[s]->info[i];
            float *p = sets[s]->params + pi->offset;
            int is_norm_w = strstr(pi->name, norm_marker) && strstr(pi->name, ".weight");
            int is_bias = strstr(pi->name, ".bias") != NULL;
            model_seed_for(&r, seed, pi->name);
            if (is_norm_w) rng_fill_normal(&r, p, (long)pi->numel, 1.0f, 0.1f);
            else rng_fill_normal(&r, p, (long)pi->numel, 0.0f, is_bias ? 0.02f : 0.05f);
        }
}

int model_sets_load(ParamSet *const *sets, int nsets, const SafeTensors *st, const char *path, const char *head_prefix,
                    int skip_head, uint64_t head_seed, WbError *err) {
    int rc = 0;
    const size_t np = strlen(head_prefix);
    for (int s = 0; s < nsets && rc == 0; s++)
        for (int i = 0; i < sets[s]->n && rc == 0; i++) {
            ParamInfo *pi = &sets[s]->info[i];
            float *p = sets[s]->params + pi->offset;
            if (skip_head && !strncmp(pi->name, head_prefix, np)) {
                Rng r; rng_seed(&r, head_seed);
                if (strstr(pi->name, "weight")) rng_fill_normal(&r, p, (long)pi->numel, 0.0f, 0.02f);
                else memset(p, 0, pi->numel * sizeof(float));
                continue;
            }
            rc = st_read(st, pi->name, p, pi->ndim, pi->shape, err);
            if (rc == 0) rc = model_check_finite(path, pi->name, p, pi->numel, err);
        }
    return rc;
}

void model_sets_save(StWriter *w, const ParamSet *const *sets, int nsets) {
    for (int s = 0; s < nsets; s++)
        for (int i = 0; i < sets[s]->n; i++) {
            const ParamInfo *pi = &sets[s]->info[i];
            st_writer_add(w, pi->name, pi->ndim, pi->shape, sets[s]->params + pi->offset);
        }
}

void model_linear_buffers(LinearBuffers *lb, const LinearLayer *lin, int n) {
    lb->n = n;
    lb->W = mem_alloc(sizeof(float *) * (size_t)n, MEM_WORKSPACE);
    lb->b = mem_alloc(sizeof(float *) * (size_t)n, MEM_WORKSPACE);
    for (int i = 0; i < n; i++) {
        lb->W[i] = mem_alloc_floats((size_t)lin[i].O * lin[i].I, MEM_WORKSPACE);
        lb->b[i] = mem_alloc_floats((size_t)lin[i].O, MEM_WORKSPACE);
    }
}

void model_linear_buffers_free(LinearBuffers *lb) {
    for (int i = 0; i < lb->n; i++) { mem_free(lb->W[i]); mem_free(lb->b[i]); }
    mem_free(lb->W); mem_free(lb->b);
    memset(lb, 0, sizeof *lb);
}

void model_linears_fill_random(LinearBuffers *lb, const LinearLayer *lin, uint64_t seed) {
    Rng r;
    for (int i = 0; i < lb->n; i++) {
        const LinearLayer *L = &lin[i];
        model_seed_for(&r, seed, L->name);
        rng_fill_normal(&r, lb->W[i], (long)L->O * L->I, 0.0f, 0.05f);
        if (!L->no_bias) rng_fill_normal(&r, lb->b[i], L->O, 0.0f, 0.02f);
    }
}

int model_linears_load(LinearBuffers *lb, const LinearLayer *lin, const SafeTensors *st, const char *path, WbError *err) {
    char nm[sizeof lin->name + 8];   // a linear's name + ".weight"
    int rc = 0;
    for (int i = 0; i < lb->n && rc == 0; i++) {
        const LinearLayer *L = &lin[i];
        snprintf(nm, sizeof nm, "%s.weight", L->name);
        rc = st_read(st, nm, lb->W[i], 2, (int[]){L->O, L->I}, err);
        if (rc == 0) rc = model_check_finite(path, nm, lb->W[i], (size_t)L->O * L->I, err);
        if (rc || L->no_bias) continue;
        snprintf(nm, sizeof nm, "%s.bias", L->name);
        rc = st_read(st, nm, lb->b[i], 1, (int[]){L->O}, err);
        if (rc == 0) rc = model_check_finite(path, nm, lb->b[i], (size_t)L->O, err);
    }
    return rc;
}

void model_linears_init(LinearLayer *lin, const LinearBuffers *lb, const ModelBinding *bind,
                        int (*counted_index)(const void *ctx, int i), const void *ctx) {
    for (int i = 0; i < lb->n; i++) {
        LinearLayer *L = &lin[i];
        if (L->state) L->method->free(L);
        MethodConfig mc = bind->mcfg;
        int ci = counted_index(ctx, i);
        if (ci >= 0 && bind->layer_act_ranks)
            for (int d = 0; d < 4; d++) mc.act_ranks[d] = bind->layer_act_ranks[ci][d];
        const float *b = L->no_bias ? NULL : lb->b[i];   // a bias-free linear has no bias at all
        L->method->init(L, lb->W[i], b, &mc);
    }
}

float *model_linears_save(StWriter *w, const LinearLayer *lin, int n) {
    size_t total = 0;
    for (int i = 0; i < n; i++) total += (size_t)lin[i].O * lin[i].I + (size_t)lin[i].O;
    float *buf = mem_alloc_floats(total, MEM_WORKSPACE), *p = buf;
    char nm[sizeof lin->name + 8];
    for (int i = 0; i < n; i++) {
        const LinearLayer *L = &lin[i];
        float *Wd = p, *bd = p + (size_t)L->O * L->I;
        p += (size_t)L->O * L->I + L->O;
        L->method->export_dense(L, Wd, bd);
        snprintf(nm, sizeof nm, "%s.weight", L->name);
        st_writer_add(w, nm, 2, (int[]){L->O, L->I}, Wd);
        if (L->no_bias) continue;
        snprintf(nm, sizeof nm, "%s.bias", L->name);
        st_writer_add(w, nm, 1, (int[]){L->O}, bd);
    }
    return buf;
}

void model_init_random_all(ParamSet *train, ParamSet *frozen, LinearLayer *lin, int nlin, const ModelBinding *bind,
                           int (*counted_index)(const void *ctx, int i), const void *ctx, uint64_t seed, const char *norm_marker) {
    ParamSet *sets[2] = {train, frozen};
    model_sets_init_random(sets, 2, seed, norm_marker);
    LinearBuffers lb;
    model_linear_buffers(&lb, lin, nlin);
    model_linears_fill_random(&lb, lin, seed);
    model_linears_init(lin, &lb, bind, counted_index, ctx);
    model_linear_buffers_free(&lb);
}

int model_load_named(ParamSet *train, ParamSet *frozen, LinearLayer *lin, int nlin, const ModelBinding *bind,
                     int (*counted_index)(const void *ctx, int i), const void *ctx, const char *path, const char *head_prefix,
                     int skip_head, uint64_t head_seed, WbError *err) {
    SafeTensors st;
    if (st_open(&st, path, err) < 0) return -1;
    ParamSet *sets[2] = {train, frozen};
    int rc = model_sets_load(sets, 2, &st, path, head_prefix, skip_head, head_seed, err);
    LinearBuffers lb;
    model_linear_buffers(&lb, lin, nlin);
    if (rc == 0) rc = model_linears_load(&lb, lin, &st, path, err);
    if (rc == 0) model_linears_init(lin, &lb, bind, counted_index, ctx);
    model_linear_buffers_free(&lb);
    st_close(&st);
    return rc;
}

float *model_param(const ParamSet *train, const ParamSet *frozen, const char *name) {
    int i = params_index(train, name);
    return i >= 0 ? train->params + train->info[i].offset : params_get(frozen, name);
}

float *model_grad(const ParamSet *train, const char *name) {
    int i = params_index(train, name);
    return i >= 0 ? train->grads + train->info[i].offset : NULL;
}

void model_linears_free(LinearLayer *lin, int n) {
    for (int i = 0; i < n; i++)
        if (lin[i].state) lin[i].method->free(&lin[i]);
    mem_free(lin);
}
