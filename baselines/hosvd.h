// hosvd.h: activation compression by exact truncated HOSVD (NeurIPS 2024) as
// a LinearMethod. Each training forward compresses x (3 or 4 modes) with,
// per mode, the smallest rank holding a fraction >= MethodConfig.epsilon of
// the energy (the header's "hosvd activations" field; act_epsilon is not
// read), and saves (S, U1..Ud) instead of x. W stays dense and trains with
// plain gradients; dx = dy W is exact; dW comes from dy and (S, U).
#ifndef WB_BASELINES_HOSVD_H
#define WB_BASELINES_HOSVD_H

#include "core/nn/linear_method.h"

extern const LinearMethod method_hosvd;

#endif
