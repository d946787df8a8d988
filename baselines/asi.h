// asi.h: activation subspace iteration (ICML 2025) as a LinearMethod: the
// storage of hosvd, but the ranks k_n are fixed per layer
// (MethodConfig.act_ranks, all > 0: given, or chosen by the rank selection
// of core/compress/rank_calib.h, which re-initialises each layer with its own ranks)
// and each factor comes from ONE warm-started subspace-iteration step per
// training forward: V = X_(n)^T U_prev, U = orth(X_(n) V) (first step: V
// Gaussian from MethodConfig.seed). W dense, plain gradients; dx exact.
#ifndef WB_BASELINES_ASI_H
#define WB_BASELINES_ASI_H

#include "core/nn/linear_method.h"

extern const LinearMethod method_asi;

#endif
