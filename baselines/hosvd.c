// hosvd.c: the hosvd method (see hosvd.h): baselines/act_dense.c with the
// exact truncated HOSVD at epsilon on every mode.
#include "baselines/hosvd.h"
#include "baselines/act_dense.h"
#include "core/linear_dense.h"
#include "core/common.h"

static void hosvd_init(LinearLayer *L, const float *W, const float *b, const MethodConfig *cfg) {
    CHECK(cfg->epsilon > 0.0f && cfg->epsilon <= 1.0f, "%s: hosvd epsilon %g outside (0, 1]", L->name,
          (double)cfg->epsilon);
    float eps[HOSVD_MAX_MODES];
    for (int n = 0; n < HOSVD_MAX_MODES; n++) eps[n] = cfg->epsilon;
    act_dense_setup(L, W, b, ACT_ENERGY, eps, NULL, cfg->seed);
}

const LinearMethod method_hosvd = {
    "hosvd", hosvd_init, act_dense_forward, act_dense_backward, dense_param_sets,
    dense_update, act_dense_account, dense_export, act_dense_free,
};
