// vanilla.c: the vanilla method is exactly the engine's dense linear
// (core/nn/linear_dense.c); this file declares it among the methods so results
// and configs say "vanilla": no keys, x saved dense, the full-memory
// reference of every comparison.
#include "vanilla.h"
#include "core/nn/linear_dense.h"
#include "core/models/vit_cost.h"

static void vanilla_paper_elems(int O, const int *dims, int nd, const MethodConfig *mc, const LayerRanks *lr,
                                double *act_elems, double *weight_elems) {
    (void)mc; (void)lr;
    double rows = 1;
    for (int n = 0; n < nd - 1; n++) rows *= dims[n];
    *act_elems = rows * dims[nd - 1];
    *weight_elems = (double)O * dims[nd - 1];
}

static void vanilla_flops(const MethodConfig *mc, long rows, int I, int O, int need_dx, int bias, double *fwd, double *bwd) {
    (void)mc;
    FlopCount f = dense_linear_cost(rows, I, O, need_dx, bias);
    *fwd = f.forward;
    *bwd = f.backward;
}

const LinearMethod method_vanilla = {
    .name = "vanilla",
    .help = "plain backprop: x saved dense, W and b trained with their exact gradients",
    .flags = METHOD_NO_BUDGET,
    .paper_elems = vanilla_paper_elems,
    .layer_flops = vanilla_flops,
    .init = dense_init, .forward = dense_forward, .backward = dense_backward, .param_sets = dense_param_sets,
    .update = dense_update, .account = dense_account, .export_dense = dense_export, .free = dense_free,
};
