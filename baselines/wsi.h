// wsi.h: Weight Subspace Iteration, the weight part of WASI alone (the
// paper's WSI ablation): W kept at rank k as L R exactly as baselines/wasi.h
// (SVD at epsilon at init, then one warm-started subspace-iteration step per
// update, r_update current/previous, weight_update iteration/svd), but x is
// saved for backward uncompressed, as vanilla saves it, so dW = dy^T x is
// exact. Storage dense only: with x dense the gradient is (O,I) anyway, and
// the factored update of wasi needs the channel factor of a compressed x.
// The layer state and operations are wasi.c's (wasi_setup with act_dense 1).
#ifndef WB_WSI_H
#define WB_WSI_H

#include "core/nn/linear_method.h"

extern const LinearMethod method_wsi;

#endif
