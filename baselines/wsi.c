// wsi.c: the wsi method (see wsi.h): wasi's weight subspace with x saved
// dense. FLOPs: wasi.c's block without the compression; backward's dW is
// 2 rows O I (dy^T x).
#include "baselines/wsi.h"
#include "baselines/wasi.h"
#include "core/runtime/common.h"

#include <math.h>
#include <stddef.h>
#include <stdio.h>

static void wsi_init(LinearLayer *L, const float *W, const float *b, const MethodConfig *cfg) { wasi_setup(L, W, b, cfg, 1); }

static void wsi_paper_elems(int O, const int *dims, int nd, const MethodConfig *mc, const LayerRanks *lr, double *act_elems,
                            double *weight_elems) {
    (void)mc;
    const int I = dims[nd - 1];
    double x = 1;
    for (int n = 0; n < nd; n++) x *= dims[n];
    *act_elems = x;   // x saved as is
    if (!lr) { *weight_elems = NAN; return; }   // k comes from the SVD of the pretrained W
    CHECK(lr->weight_rank >= 1, "wsi: the closed form needs the weight rank k of every layer");
    *weight_elems = (double)wb_min(lr->weight_rank, wb_min(O, I)) * (O + I);
}

static const MethodKey wsi_keys[] = {WASI_KEY_EPSILON, WASI_KEY_R_UPDATE, WASI_KEY_WEIGHT_UPDATE};

const LinearMethod method_wsi = {
    .name = "wsi",
    .help = "weight subspace iteration (the WASI paper's ablation): W kept at rank k as L R as in wasi, x saved uncompressed",
    .keys = wsi_keys, .n_keys = 3,
    .epsilon_means = "energy of W's singular values kept: the weight rank k, fixed after the first step "
                     "(weight_update svd: re-applied at every step)",
    .ranks_means = "k, the weight rank (from epsilon); the activations are not compressed",
    .flags = METHOD_WEIGHT_LOWRANK,
    .paper_elems = wsi_paper_elems,
    .check = wasi_check,
    .init = wsi_init, .forward = wasi_forward, .backward = wasi_backward, .param_sets = wasi_param_sets,
    .update = wasi_update, .account = wasi_account, .export_dense = wasi_export, .free = wasi_free,
};
