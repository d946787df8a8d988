// act_dense.h: the linear layer of the activation-compression baselines
// (hosvd, asi): W and b dense and trained with plain gradients, x saved
// compressed (core/compress/act_store.h) instead of dense. Forward y = x W^T + b is
// exact; backward dx = dy W is exact; dW is contracted from dy and the
// compressed x; db = sum dy (no b, no db with LinearLayer.no_bias: the
// DenseWeights keeps none). baselines/hosvd.c and baselines/asi.c differ
// only in how act_dense_setup picks the factors.
#ifndef WB_ACT_DENSE_H
#define WB_ACT_DENSE_H

#include "core/compress/act_store.h"
#include "core/nn/linear_method.h"

// Shared init: copy W (O,I), b (O); the store compresses activations of
// L->ndim modes up to L->dims with mode ACT_ENERGY (eps) or ACT_FIXED (ranks).
void act_dense_setup(LinearLayer *L, const float *W, const float *b, ActMode mode, const float *eps,
                     const int *ranks, uint64_t seed);
void act_dense_forward(LinearLayer *L, float *out, const float *inp, const int *dims, int ndim, int training);
void act_dense_backward(LinearLayer *L, float *dinp, const float *dout);
void act_dense_account(const LinearLayer *L, LinearAccount *acc);
void act_dense_free(LinearLayer *L);

// The paper measure shared by the Tucker-saving methods: the activation
// elements prod k_n + sum d_n k_n (NAN when lr is NULL and mc has no ranks).
double act_tucker_paper_elems(const char *method, const int *dims, int nd, const MethodConfig *mc, const LayerRanks *lr);
// The activation key shared by asi and wasi (MKEY_ACT): asi puts its keys in
// the entry, wasi under `activation:` (its epsilon is the weight's).
#define ACT_KEY_HELP "activation ranks: ranks [k1, k2, k3] fixed, or budget_mb/candidates for the DP (default: the minimum budget)"

// param_sets, update and export are core/nn/linear_dense.h's dense_* (the state
// starts with a DenseWeights).

#endif
