// model_params.c: zero_grad, clip, update, counts and the paper measure over
// a model's trainable sets, shared by the ViT and the Swin (see model_params.h).
#include "core/models/model_params.h"
#include "core/runtime/common.h"
#include "core/runtime/counters.h"
#include "core/nn/linear_dense.h"

#include <math.h>

#define MAX_SETS 1024

int mparams_sets(ModelParams mp, ParamSet **out, int max) {
    int n = 0;
    CHECK(max >= 1, "no room for parameter sets");
    out[n++] = mp.own;
    for (int i = 0; i < mp.nlin; i++) {
        LinearLayer *L = &mp.lin[i];
        ParamSet *s[4];
        int k = L->method->param_sets(L, s);
        for (int j = 0; j < k; j++) { CHECK(n < max, "more than %d parameter sets", max); out[n++] = s[j]; }
    }
    return n;
}

void mparams_zero_grad(ModelParams mp) {
    if (*mp.grads_clear) return;   // the last fused step left them at 0 and no backward ran since
    ParamSet *sets[MAX_SETS];
    int n = mparams_sets(mp, sets, MAX_SETS);
    for (int i = 0; i < n; i++) params_zero_grad(sets[i]);
}

size_t mparams_num_trainable(ModelParams mp) {
    ParamSet *sets[MAX_SETS];
    int n = mparams_sets(mp, sets, MAX_SETS);
    size_t total = 0;
    for (int i = 0; i < n; i++)
        for (int j = 0; j < sets[i]->n; j++) total += sets[i]->info[j].numel;
    return total;
}

double mparams_clip_grad(ModelParams mp, float max_norm) {
    ParamSet *sets[MAX_SETS];
    int n = mparams_sets(mp, sets, MAX_SETS);
    return grad_clip_sets(sets, n, max_norm);
}

double mparams_grad_norm(ModelParams mp) {
    ParamSet *sets[MAX_SETS];
    int n = mparams_sets(mp, sets, MAX_SETS);
    return grad_norm_sets(sets, n);
}

void mparams_update(ModelParams mp, const OptimConfig *oc, float lr) {
    optim_step(oc, mp.own, lr);
    for (int i = 0; i < mp.nlin; i++) {
        LinearLayer *L = &mp.lin[i];
        if (L->trainable) L->method->update(L, oc, lr);
    }
}

// g (numel) *= c over the whole block (padding stays 0); 1 FLOP per trained element.
static void scale_grads(ParamSet *ps, float c) {
    double elems = 0;
    for (int i = 0; i < ps->n; i++) elems += (double)ps->info[i].numel;
    params_scale_grad(ps, c);
    flops_add(elems);   // as grad_clip_sets charges its scaling
}

void mparams_update_clipped(ModelParams mp, const OptimConfig *oc, float lr, double clip_coef) {
    optim_step_clipped(oc, mp.own, lr, clip_coef, 1);
    for (int i = 0; i < mp.nlin; i++) {
        LinearLayer *L = &mp.lin[i];
        ParamSet *s[4];
        int k = L->method->param_sets(L, s);
        if (!L->trainable) {   // frozen: no step; clear whatever sets it reports (none for the shipped methods)
            for (int j = 0; j < k; j++) params_zero_grad(s[j]);
            continue;
        }
        if (L->method->update == dense_update) {   // the update is optim_step on its one set: fuse
            for (int j = 0; j < k; j++) optim_step_clipped(oc, s[j], lr, clip_coef, 1);
            continue;
        }
        if (clip_coef < 1.0)
            for (int j = 0; j < k; j++) scale_grads(s[j], (float)clip_coef);
        L->method->update(L, oc, lr);
        for (int j = 0; j < k; j++) params_zero_grad(s[j]);
    }
    *mp.grads_clear = 1;
}

ModelPaperMemory mparams_paper_memory(const LinearLayer *lin, int nlin, int (*counted)(const void *ctx, int i),
                                    const void *ctx) {
    ModelPaperMemory pm = {0, 0, 0};
    for (int i = 0; i < nlin; i++) {
        const LinearLayer *L = &lin[i];
        if (!counted(ctx, i) || !L->trainable) continue;
        LinearAccount acc;
        L->method->account(L, &acc);
        pm.paper_act_mb += acc.paper_act_elems * 4.0 / 1048576.0;
        pm.paper_weight_mb += acc.paper_weight_elems * 4.0 / 1048576.0;
        pm.n_counted++;
    }
    return pm;
}
