// registry.c: methods by name and the closed-form paper measure (see registry.h).
#include "baselines/registry.h"
#include "baselines/asi.h"
#include "baselines/hosvd.h"
#include "baselines/lora.h"
#include "baselines/vanilla.h"
#include "core/act_store.h"
#include "core/common.h"
#include "core/wasi.h"

#include <string.h>

static const LinearMethod *const all_methods[] = {&method_vanilla, &method_lora, &method_hosvd, &method_asi,
                                                  &method_wasi};

const LinearMethod *method_by_name(const char *name) {
    for (size_t i = 0; i < sizeof all_methods / sizeof all_methods[0]; i++)
        if (!strcmp(all_methods[i]->name, name)) return all_methods[i];
    return NULL;
}

const char *method_names(void) { return "vanilla, lora, hosvd, asi, wasi"; }

void method_paper_elems(const char *method, int O, const int *dims, int nd, const MethodConfig *mcfg,
                        const LayerRanks *lr, double *act_elems, double *weight_elems) {
    CHECK(nd >= 2 && nd <= 4, "activation of %d modes", nd);
    const int I = dims[nd - 1];
    double rows = 1;
    for (int n = 0; n < nd - 1; n++) rows *= dims[n];
    const int *k = lr ? lr->act_ranks : mcfg->act_ranks;
    if (!strcmp(method, "vanilla")) {
        *act_elems = rows * I;
        *weight_elems = (double)O * I;
    } else if (!strcmp(method, "lora")) {
        int r = mcfg->lora_rank;
        *act_elems = rows * (I + r);
        *weight_elems = (double)O * I + (double)r * (O + I);
    } else if (!strcmp(method, "hosvd") || !strcmp(method, "asi") || !strcmp(method, "wasi")) {
        for (int n = 0; n < nd; n++) CHECK(k[n] >= 1, "%s: activation rank k%d = %d", method, n + 1, k[n]);
        *act_elems = tucker_elems(dims, k, nd);
        if (!strcmp(method, "wasi")) {
            CHECK(lr && lr->weight_rank >= 1, "wasi: the closed form needs the weight rank k of every layer");
            int kw = wb_min(lr->weight_rank, wb_min(O, I));
            *weight_elems = (double)kw * (O + I);
        } else {
            *weight_elems = (double)O * I;
        }
    } else {
        die("unknown method '%s' (known: %s)", method, method_names());
    }
}

ViTPaperMemory methods_paper_memory(const ViTConfig *cfg, int B, const ViTBinding *bind, const char *method,
                                    const LayerRanks *ranks) {
    // Counted linears in forward order, as vit.c: per block q, k, v, out, fc1, fc2.
    const int C = cfg->dim, M = cfg->mlp_dim, D = cfg->depth;
    const int N = (cfg->image_size / cfg->patch) * (cfg->image_size / cfg->patch) + 1;
    int counted = 0;
    for (int l = 0; l < D; l++)
        for (int w = 0; w < VIT_NLIN; w++) counted += (w == VIT_FC1 || w == VIT_FC2 || bind->all_linear);
    int n_train = bind->num_finetune < 0 ? counted : bind->num_finetune;
    CHECK(n_train <= counted, "num_finetune %d > %d counted linears", n_train, counted);
    ViTPaperMemory pm = {0, 0, 0};
    int idx = 0;
    for (int l = 0; l < D; l++)
        for (int w = 0; w < VIT_NLIN; w++) {
            if (!(w == VIT_FC1 || w == VIT_FC2 || bind->all_linear)) continue;
            int pos = idx++;
            if (pos < counted - n_train) continue;   // frozen: not part of the measure
            int I = (w == VIT_FC2) ? M : C, O = (w == VIT_FC1) ? M : C;
            int dims[3] = {B, N, I};
            double a, wt;
            method_paper_elems(method, O, dims, 3, &bind->mcfg, ranks ? &ranks[pm.n_counted] : NULL, &a, &wt);
            pm.paper_act_mb += a * 4.0 / 1048576.0;
            pm.paper_weight_mb += wt * 4.0 / 1048576.0;
            pm.n_counted++;
        }
    return pm;
}
