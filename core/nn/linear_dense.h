// linear_dense.h: the dense linear layer as a LinearMethod: W (O,I) and b (O)
// in one ParamSet, the input saved for backward, plain gradients. The model
// uses it for every linear that is not bound to a method under study (and
// frozen, for linears before the first trained one); baselines/vanilla.c
// exposes the same functions under the name "vanilla".
#ifndef WB_LINEAR_DENSE_H
#define WB_LINEAR_DENSE_H

#include "core/nn/linear_method.h"

extern const LinearMethod linear_dense_method;

void dense_init(LinearLayer *L, const float *W, const float *b, const MethodConfig *cfg);
void dense_forward(LinearLayer *L, float *out, const float *inp, const int *dims, int ndim, int training);
void dense_backward(LinearLayer *L, float *dinp, const float *dout);
int dense_param_sets(LinearLayer *L, ParamSet **out);
void dense_update(LinearLayer *L, const OptimConfig *oc, float lr);
void dense_account(const LinearLayer *L, LinearAccount *acc);
void dense_export(const LinearLayer *L, float *W, float *b);
void dense_free(LinearLayer *L);

#endif
