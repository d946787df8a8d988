// model_params.h: the trainable parameters of a model, i.e. its own ParamSet
// plus every linear's (LinearMethod.param_sets), and the whole-model
// operations over them that the ViT and the Swin share: zero_grad, the
// gradient norm and clip, the optimizer step, the trainable count and the
// paper's memory measure. vit_params / swin_params / model_params describe a
// model as a ModelParams (a few pointers, passed by value):
//   mparams_zero_grad(vit_params(&m));   mparams_update(model_params(&m), &oc, lr);
//
// Gradients. Backward accumulates (+=) into every gradient and zero_grad
// clears them. The fused step (mparams_update_clipped: clip, optimizer step
// and clear in one pass over w and g) leaves every gradient at 0 and sets the
// model's grads_clear flag; the model's backward resets the flag; zero_grad
// returns at once while it is set. So model_zero_grad stays correct to call
// at any time and costs nothing after a fused step. Code that writes
// gradients other than through the model's backward (calling a method's
// backward directly) must not rely on the flag: zero the sets itself.
#ifndef WB_MODEL_PARAMS_H
#define WB_MODEL_PARAMS_H

#include <stddef.h>
#include "core/nn/linear_method.h"
#include "core/train/optim.h"
#include "core/train/params.h"
#include "core/models/model_binding.h"

typedef struct ModelParams {
    ParamSet *own;      // the model's own trainable set (always trainable)
    LinearLayer *lin;   // (nlin) every linear of the model, in forward order
    int nlin;
    int *grads_clear;   // the model's flag (see above)
} ModelParams;

// The trainable sets: own first, then each linear's; returns the count (<= max, dies beyond).
int mparams_sets(ModelParams mp, ParamSet **out, int max);
void mparams_zero_grad(ModelParams mp);         // no-op while *grads_clear
size_t mparams_num_trainable(ModelParams mp);   // parameters (padding excluded)
// clip_grad_norm_ over every set (grad_clip_sets); returns the total norm.
double mparams_clip_grad(ModelParams mp, float max_norm);
// One optimizer step everywhere: own set, then each trainable linear's method->update.
void mparams_update(ModelParams mp, const OptimConfig *oc, float lr);
// The total gradient norm (grad_norm_sets), without clipping.
double mparams_grad_norm(ModelParams mp);
// Clip (gradients times clip_coef when < 1, see grad_clip_coef), step and
// zero_grad; the same parameters, bit for bit, as mparams_clip_grad then
// mparams_update then mparams_zero_grad. Sets whose update is the plain dense
// step (the own set; linears whose method update is dense_update: vanilla,
// asi, hosvd) take one fused pass (optim_step_clipped); other methods (lora,
// wasi re-projecting) get their gradients scaled, their own update, then a clear.
void mparams_update_clipped(ModelParams mp, const OptimConfig *oc, float lr, double clip_coef);

// The paper measure summed over the linears i with counted(ctx, i) != 0 that are trainable.
ModelPaperMemory mparams_paper_memory(const LinearLayer *lin, int nlin, int (*counted)(const void *ctx, int i),
                                    const void *ctx);

#endif
