// hosvd.c: the hosvd method (see hosvd.h): baselines/act_dense.c with the
// exact truncated HOSVD at epsilon on every mode.
#include "baselines/hosvd.h"
#include "baselines/act_dense.h"
#include "core/nn/linear_dense.h"
#include "core/runtime/common.h"

#include <stddef.h>

static void hosvd_init(LinearLayer *L, const float *W, const float *b, const MethodConfig *cfg) {
    CHECK(cfg->epsilon > 0.0f && cfg->epsilon <= 1.0f, "%s: hosvd epsilon %g outside (0, 1]", L->name,
          (double)cfg->epsilon);
    float eps[HOSVD_MAX_MODES];
    for (int n = 0; n < HOSVD_MAX_MODES; n++) eps[n] = cfg->epsilon;
    act_dense_setup(L, W, b, ACT_ENERGY, eps, NULL, cfg->seed);
}

static void hosvd_paper_elems(int O, const int *dims, int nd, const MethodConfig *mc, const LayerRanks *lr,
                              double *act_elems, double *weight_elems) {
    *act_elems = act_tucker_paper_elems("hosvd", dims, nd, mc, lr);
    *weight_elems = (double)O * dims[nd - 1];
}

static const MethodKey hosvd_keys[] = {
    {.key = "epsilon", .type = MKEY_NUM, .field = offsetof(MethodConfig, epsilon), .lo = 0, .hi = 1, .lo_open = 1,
     .required = 1, .missing_hint = "0 < epsilon <= 1", .help = "energy kept per mode of x by the truncated HOSVD"},
};

const LinearMethod method_hosvd = {
    .name = "hosvd",
    .help = "activation-only compression (NeurIPS 2024): x saved as an exact truncated HOSVD each step; W dense, dx exact",
    .keys = hosvd_keys, .n_keys = 1,
    .epsilon_means = "fraction of each mode's energy the saved activation keeps (ranks follow from the data every step)",
    .ranks_means = "k1..k4, the activation ranks: chosen per step from epsilon",
    .flags = METHOD_ACT_TUCKER | METHOD_ACT_ENERGY,
    .paper_elems = hosvd_paper_elems,
    .init = hosvd_init, .forward = act_dense_forward, .backward = act_dense_backward, .param_sets = dense_param_sets,
    .update = dense_update, .account = act_dense_account, .export_dense = dense_export, .free = act_dense_free,
};
