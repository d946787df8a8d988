// asi.c: the asi method (see asi.h): baselines/act_dense.c with fixed ranks
// and one warm-started subspace-iteration step per mode and forward.
#include "baselines/asi.h"
#include "baselines/act_dense.h"
#include "core/linear_dense.h"
#include "core/common.h"

static void asi_init(LinearLayer *L, const float *W, const float *b, const MethodConfig *cfg) {
    CHECK(act_ranks_given(cfg, L->ndim, L->name),
          "%s: asi needs activation ranks k1..k%d (MethodConfig.act_ranks), given or from core/rank_calib.h",
          L->name, L->ndim);
    act_dense_setup(L, W, b, ACT_FIXED, NULL, cfg->act_ranks, cfg->seed);
}

const LinearMethod method_asi = {
    "asi", asi_init, act_dense_forward, act_dense_backward, dense_param_sets,
    dense_update, act_dense_account, dense_export, act_dense_free,
};
