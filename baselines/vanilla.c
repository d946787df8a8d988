// vanilla.c: the vanilla method is exactly the engine's dense linear
// (core/linear_dense.c); this file gives it its name among the methods so
// results and configs say "vanilla".
#include "vanilla.h"
#include "core/linear_dense.h"

const LinearMethod method_vanilla = {
    "vanilla", dense_init, dense_forward, dense_backward, dense_param_sets,
    dense_update, dense_account, dense_export, dense_free,
};
