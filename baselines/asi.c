// asi.c: the asi method (see asi.h): baselines/act_dense.c with fixed ranks
// and one warm-started subspace-iteration step per mode and forward.
#include "baselines/asi.h"
#include "baselines/act_dense.h"
#include "core/nn/linear_dense.h"
#include "core/runtime/common.h"
#include "core/compress/rank_calib.h"

#include <stddef.h>

static void asi_init(LinearLayer *L, const float *W, const float *b, const MethodConfig *cfg) {
    CHECK(act_ranks_given(cfg, L->ndim, L->name),
          "%s: asi needs activation ranks k1..k%d (MethodConfig.act_ranks), given or from core/compress/rank_calib.h",
          L->name, L->ndim);
    act_dense_setup(L, W, b, ACT_FIXED, NULL, cfg->act_ranks, cfg->seed);
}

static void asi_paper_elems(int O, const int *dims, int nd, const MethodConfig *mc, const LayerRanks *lr,
                            double *act_elems, double *weight_elems) {
    *act_elems = act_tucker_paper_elems("asi", dims, nd, mc, lr);
    *weight_elems = (double)O * dims[nd - 1];
}

// The weights stay dense: the activations get the budget less O I per layer.
static int64_t asi_budget_act_elems(MethodConfig *mc, const BudgetFit *f, const RankCalib *rc) {
    (void)mc;
    double budget = f->budget_mb * 1048576.0 / 4.0, w = 0;   // elements
    for (int i = 0; i < rc->n_layers; i++) w += (double)rc->lin[i]->O * rc->lin[i]->I;
    double act = budget - w;
    if (f->log) fprintf(f->log, "  %s: budget %.3f MB - dense weights %.3f MB -> activations %.3f MB\n", f->run,
                        f->budget_mb, w * 4.0 / 1048576.0, (act > 0 ? act : 0) * 4.0 / 1048576.0);
    return act > 1 ? (int64_t)act : 1;   // below the minimum: the DP raises it and warns
}

static const MethodKey asi_keys[] = {
    {.key = "activation", .type = MKEY_ACT, .nested = 0, .act_epsilon = 0, .help = ACT_KEY_HELP},
};

const LinearMethod method_asi = {
    .name = "asi",
    .help = "activation subspace iteration (ICML 2025): x saved as Tucker factors at fixed ranks, one warm-started step per forward",
    .keys = asi_keys, .n_keys = 1,
    .ranks_means = "k1..k4, the activation ranks: fixed per layer (given, or by the DP on a calibration batch)",
    .flags = METHOD_ACT_TUCKER | METHOD_CALIBRATES,
    .paper_elems = asi_paper_elems,
    .budget_act_elems = asi_budget_act_elems,
    .init = asi_init, .forward = act_dense_forward, .backward = act_dense_backward, .param_sets = dense_param_sets,
    .update = dense_update, .account = act_dense_account, .export_dense = dense_export, .free = act_dense_free,
};
