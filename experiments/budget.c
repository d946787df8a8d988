// budget.c: each method picks its settings to fit a memory budget (see budget.h).
#include "budget.h"
#include "baselines/registry.h"
#include "baselines/registry_swin.h"
#include "core/linalg.h"
#include "core/memory.h"

#include <string.h>

static double mb(double elems) { return elems * 4.0 / 1048576.0; }

int budget_lora_rank(const RunSpec *rs, FILE *log, int *over) {
    ViTBinding bind = {0};
    bind.mcfg = rs->mcfg;
    bind.all_linear = rs->all_linear;
    bind.num_finetune = rs->num_finetune;
    int swin = rs->model.kind == MODEL_SWIN;
    int rmax = cfg_lora_rank_max(rs), best = 1;
    double used = 0;
    for (int r = 1; r <= rmax; r++) {   // the measure grows with r
        bind.mcfg.lora_rank = r;
        ViTPaperMemory pm = swin ? swin_methods_paper_memory(&rs->model.swin, rs->batch_size, &bind, "lora", NULL)
                                 : methods_paper_memory(&rs->model.vit, rs->batch_size, &bind, "lora", NULL);
        double total = pm.paper_act_mb + pm.paper_weight_mb;
        if (total > (double)rs->budget_mb) {
            if (r == 1 && log) fprintf(log, "  warning: %s: budget %.3f MB is below lora at rank 1 (%.3f MB); using rank 1\n",
                                       rs->name, (double)rs->budget_mb, total);
            if (r == 1) { used = total; *over = 1; }
            break;
        }
        best = r;
        used = total;
    }
    if (log) fprintf(log, "  %s: budget %.3f MB -> lora rank %d (%.3f MB)\n", rs->name, (double)rs->budget_mb, best, used);
    return best;
}

// Weight elements of wasi at epsilon for every calibrated layer, from the
// singular values of the layers' dense weights (spectra computed once).
static double wasi_weight_elems(const RankCalib *rc, float *const *sigma, float eps) {
    double total = 0;
    for (int i = 0; i < rc->n_layers; i++) {
        const LinearLayer *L = rc->lin[i];
        int k = svd_energy_rank(sigma[i], wb_min(L->O, L->I), eps);
        total += (double)k * (L->O + L->I);
    }
    return total;
}

int64_t budget_activation_elems(const RunSpec *rs, const RankCalib *rc, float *epsilon, FILE *log, int *over) {
    double budget = (double)rs->budget_mb * 1048576.0 / 4.0;   // elements
    if (!strcmp(rs->method, "asi")) {
        double w = 0;
        for (int i = 0; i < rc->n_layers; i++) w += (double)rc->lin[i]->O * rc->lin[i]->I;
        double act = budget - w;
        if (log) fprintf(log, "  %s: budget %.3f MB - dense weights %.3f MB -> activations %.3f MB\n", rs->name,
                         (double)rs->budget_mb, mb(w), mb(act > 0 ? act : 0));
        return act > 1 ? (int64_t)act : 1;   // below the minimum: the DP raises it and warns
    }
    // wasi: spectra of every counted weight, then the largest epsilon that fits.
    float **sigma = mem_alloc(sizeof(float *) * (size_t)rc->n_layers, MEM_WORKSPACE);
    for (int i = 0; i < rc->n_layers; i++) {
        const LinearLayer *L = rc->lin[i];
        float *W = mem_alloc_floats((size_t)L->O * L->I, MEM_WORKSPACE), *b = mem_alloc_floats((size_t)L->O, MEM_WORKSPACE);
        L->method->export_dense(L, W, b);
        SvdWork sw;
        svd_work_init(&sw, L->O, L->I);
        svd_compute(&sw, W);
        int n = wb_min(L->O, L->I);
        sigma[i] = mem_alloc_floats((size_t)n, MEM_WORKSPACE);
        memcpy(sigma[i], sw.s, sizeof(float) * (size_t)n);
        svd_work_free(&sw);
        mem_free(W); mem_free(b);
    }
    float eps = rs->mcfg.epsilon;
    double w = wasi_weight_elems(rc, sigma, eps);
    while (eps > 0.015f && w + (double)rc->min_budget > budget) {
        eps -= 0.01f;
        w = wasi_weight_elems(rc, sigma, eps);
    }
    if (w + (double)rc->min_budget > budget) *over = 1;
    if (w + (double)rc->min_budget > budget && log)
        fprintf(log, "  warning: %s: budget %.3f MB is below wasi's smallest setting (%.3f MB)\n", rs->name,
                (double)rs->budget_mb, mb(w + (double)rc->min_budget));
    for (int i = 0; i < rc->n_layers; i++) mem_free(sigma[i]);
    mem_free(sigma);
    *epsilon = eps;
    double act = budget - w;
    if (log) fprintf(log, "  %s: budget %.3f MB -> wasi epsilon %.2f (weights %.3f MB), activations %.3f MB\n", rs->name,
                     (double)rs->budget_mb, (double)eps, mb(w), mb(act > 0 ? act : 0));
    return act > 1 ? (int64_t)act : 1;
}
