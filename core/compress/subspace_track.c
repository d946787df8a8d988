// subspace_track.c: the stable-subspace log (see subspace_track.h).
#include "core/compress/subspace_track.h"
#include "core/linalg/linalg.h"
#include "core/runtime/counters.h"
#include "core/runtime/memory.h"

#include <string.h>

// The dense-equivalent W (O,I) of L into W (b: scratch for the bias).
static void current_weight(const LinearLayer *L, float *W, float *b) {
    if (L->method->subspace_weight) L->method->subspace_weight(L, W);
    else L->method->export_dense(L, W, b);
}

// SVD of layer l's current weight into *w (initialised here; the caller frees).
static void layer_svd(const SubspaceTrack *t, int l, SvdWork *w, float *W, float *b) {
    const LinearLayer *L = t->layers[l];
    current_weight(L, W, b);
    svd_work_init(w, L->O, L->I);
    svd_compute(w, W);
}

void subspace_track_init(SubspaceTrack *t, LinearLayer *const *layers, int n, float epsilon, SubspaceRow *rows) {
    memset(t, 0, sizeof *t);
    t->n = n;
    t->epsilon = epsilon;
    if (n == 0) return;
    Phase prev = phase_set(PHASE_OTHER);   // bookkeeping, not training
    t->layers = mem_alloc(sizeof(LinearLayer *) * (size_t)n, MEM_WORKSPACE);
    t->k = mem_alloc(sizeof(int) * (size_t)n, MEM_WORKSPACE);
    t->v0 = mem_alloc(sizeof(float *) * (size_t)n, MEM_WORKSPACE);
    for (int l = 0; l < n; l++) {
        t->layers[l] = layers[l];
        t->max_oi = wb_max(t->max_oi, layers[l]->O * layers[l]->I);
        t->max_o = wb_max(t->max_o, layers[l]->O);
    }
    float *W = mem_alloc_floats((size_t)t->max_oi, MEM_WORKSPACE), *b = mem_alloc_floats((size_t)t->max_o, MEM_WORKSPACE);
    for (int l = 0; l < n; l++) {
        const LinearLayer *L = layers[l];
        SvdWork w;
        layer_svd(t, l, &w, W, b);
        int er = svd_energy_rank(w.s, w.mn, epsilon);
        // K: the method's own weight rank when it keeps one (wasi, wsi,
        // svdllm_lora), else what epsilon gives on the starting weight.
        LinearAccount acc;
        L->method->account(L, &acc);
        int k = acc.weight_rank > 0 && acc.weight_rank <= w.mn ? acc.weight_rank : er;
        t->k[l] = k;
        t->v0[l] = mem_alloc_floats((size_t)k * L->I, MEM_WORKSPACE);
        memcpy(t->v0[l], w.vt, sizeof(float) * (size_t)k * L->I);   // the first k rows of V^T
        rows[l] = (SubspaceRow){0, l, er, k, 0.0};
        svd_work_free(&w);
    }
    mem_free(W);
    mem_free(b);
    phase_set(prev);
}

void subspace_track_epoch(SubspaceTrack *t, int epoch, SubspaceRow *rows) {
    if (t->n == 0) return;
    Phase prev = phase_set(PHASE_OTHER);
    float *W = mem_alloc_floats((size_t)t->max_oi, MEM_WORKSPACE), *b = mem_alloc_floats((size_t)t->max_o, MEM_WORKSPACE);
    for (int l = 0; l < t->n; l++) {
        SvdWork w;
        layer_svd(t, l, &w, W, b);
        int k = t->k[l];
        rows[l] = (SubspaceRow){epoch, l, svd_energy_rank(w.s, w.mn, t->epsilon), k,
                                subspace_max_angle(t->v0[l], w.vt, t->layers[l]->I, k)};
        svd_work_free(&w);
    }
    mem_free(W);
    mem_free(b);
    phase_set(prev);
}

void subspace_track_free(SubspaceTrack *t) {
    for (int l = 0; l < t->n && t->v0; l++) mem_free(t->v0[l]);
    mem_free(t->v0);
    mem_free(t->k);
    mem_free(t->layers);
    memset(t, 0, sizeof *t);
}
