// data_parallel.c: the gradient all-reduce of data-parallel training (see data_parallel.h).
#include "core/train/data_parallel.h"
#include "core/runtime/common.h"
#include "core/runtime/dist.h"
#include "core/runtime/memory.h"
#include "core/models/model_params.h"

#include <string.h>

void dp_init(DataParallel *dp, Model *m) {
    memset(dp, 0, sizeof *dp);
    int max = 1 + 4 * model_num_linears(m);   // own set + at most 4 per linear (LinearMethod.param_sets)
    dp->sets = mem_alloc(sizeof(ParamSet *) * (size_t)max, MEM_WORKSPACE);
    dp->nsets = model_param_sets(m, dp->sets, max);
    for (int i = 0; i < dp->nsets; i++)
        if (dp->sets[i]->grads) dp->numel += dp->sets[i]->numel;
    dp->buf = mem_alloc_floats(dp->numel + 3, MEM_GRADIENTS);
}

void dp_free(DataParallel *dp) {
    mem_free(dp->sets);
    mem_free(dp->buf);
    memset(dp, 0, sizeof *dp);
}

int dp_allreduce_grads(DataParallel *dp, Model *m, int B, float *loss, int *correct) {
    if (dist_size() == 1) return B;
    // Pack B_r g_r (g_r is the mean-loss gradient of this rank's B items).
    const float wb = (float)B;
    float *p = dp->buf;
    for (int i = 0; i < dp->nsets; i++) {
        const ParamSet *s = dp->sets[i];
        if (!s->grads) continue;
        for (size_t j = 0; j < s->numel; j++) p[j] = B ? wb * s->grads[j] : 0.0f;
        p += s->numel;
    }
    p[0] = B ? wb * *loss : 0.0f;
    p[1] = (float)*correct;   // hits and batch sizes are exact as floats below 2^24
    p[2] = wb;
    dist_sum_f32(dp->buf, dp->numel + 3);
    const int G = (int)p[2];
    const float inv = G > 0 ? 1.0f / (float)G : 0.0f;
    p = dp->buf;
    for (int i = 0; i < dp->nsets; i++) {
        ParamSet *s = dp->sets[i];
        if (!s->grads) continue;
        for (size_t j = 0; j < s->numel; j++) s->grads[j] = p[j] * inv;
        p += s->numel;
    }
    *loss = p[0] * inv;
    *correct = (int)p[1];
    // The gradients now hold values even where this rank ran no backward (B = 0).
    *model_params(m).grads_clear = 0;
    return G;
}

// FNV-1a over the bytes of n floats.
static uint64_t hash_floats(uint64_t h, const float *x, size_t n) {
    const unsigned char *b = (const unsigned char *)x;
    for (size_t i = 0; i < n * sizeof(float); i++) { h ^= b[i]; h *= 1099511628211ull; }
    return h;
}

int dp_check_identical(DataParallel *dp, Model *m) {
    (void)dp;
    if (dist_size() == 1) return 0;
    // The parameters of every set, and each linear's effective W, b through
    // the method interface (wasi's L R; lora's merged weight), so method
    // state outside the trainable sets is covered too.
    uint64_t h = 1469598103934665603ull;
    ParamSet *own = model_params(m).own;
    h = hash_floats(h, own->params, own->numel);
    size_t cap = 0;
    float *W = NULL;
    for (int i = 0; i < model_num_linears(m); i++) {
        const LinearLayer *L = model_linear(m, i);
        size_t need = (size_t)L->O * (size_t)L->I + (size_t)L->O;
        if (need > cap) { mem_free(W); W = mem_alloc_floats(need, MEM_WORKSPACE); cap = need; }
        L->method->export_dense(L, W, W + (size_t)L->O * L->I);
        h = hash_floats(h, W, need);
    }
    mem_free(W);
    uint64_t h0 = h;
    dist_bcast(&h0, sizeof h0, 0);
    return dist_first_flagged(h0 != h) < 0 ? 0 : -1;
}
