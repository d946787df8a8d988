// dense_weights.h: W (O,I) and b (O) of a linear layer kept dense in one
// ParamSet and trained with plain gradients: the part that the dense
// linear (vanilla) and the activation-compression baselines (hosvd, asi)
// share. A method whose state struct starts with a DenseWeights can use
// dense_param_sets, dense_update and dense_export (core/nn/linear_dense.h)
// as its own.
#ifndef WB_DENSE_WEIGHTS_H
#define WB_DENSE_WEIGHTS_H

#include "core/nn/linear_method.h"
#include "core/train/params.h"

typedef struct {
    ParamSet p;     // "weight" (O,I), "bias" (O) (absent with L->no_bias); grads when trainable
    float *w, *b;   // views into p (b NULL with no_bias)
    float *dw, *db; // views into p.grads (NULL when frozen; db NULL with no_bias)
} DenseWeights;

// Copy W (O,I), b (O) of layer L into d (gradients only if L is trainable;
// L->no_bias: no bias tensor, b may be NULL).
void dense_weights_init(DenseWeights *d, const LinearLayer *L, const float *W, const float *b);
// Bytes of weights, gradients, optimizer state; paper weight elements O*I.
void dense_weights_account(const DenseWeights *d, const LinearLayer *L, LinearAccount *acc);
void dense_weights_free(DenseWeights *d);

#endif
