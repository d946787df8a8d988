// model_params.h: the trainable parameters of a model, i.e. its own ParamSet
// plus every linear's (LinearMethod.param_sets), and the whole-model
// operations over them that the ViT and the Swin share: zero_grad, the
// gradient norm and clip, the optimizer step, the trainable count and the
// paper's memory measure. vit.c and swin.c describe themselves with a
// ModelParams and forward their vit_* / swin_* plumbing calls here.
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
#include "linear_method.h"
#include "optim.h"
#include "params.h"
#include "vit.h"   // ViTPaperMemory

typedef struct {
    ParamSet *own;      // the model's own trainable set (always trainable)
    LinearLayer *lin;   // (nlin) every linear of the model, in forward order
    int nlin;
    int *grads_clear;   // the model's flag (see above)
} ModelParams;

// The trainable sets: own first, then each linear's; returns the count (<= max, dies beyond).
int mparams_sets(const ModelParams *mp, ParamSet **out, int max);
void mparams_zero_grad(const ModelParams *mp);         // no-op while *grads_clear
size_t mparams_num_trainable(const ModelParams *mp);   // parameters (padding excluded)
// clip_grad_norm_ over every set (grad_clip_sets); returns the total norm.
double mparams_clip_grad(const ModelParams *mp, float max_norm);
// One optimizer step everywhere: own set, then each trainable linear's method->update.
void mparams_update(const ModelParams *mp, const OptimConfig *oc, float lr);
// The total gradient norm (grad_norm_sets), without clipping.
double mparams_grad_norm(const ModelParams *mp);
// Clip (gradients times clip_coef when < 1, see grad_clip_coef), step and
// zero_grad; the same parameters, bit for bit, as mparams_clip_grad then
// mparams_update then mparams_zero_grad. Sets whose update is the plain dense
// step (the own set; linears whose method update is dense_update: vanilla,
// asi, hosvd) take one fused pass (optim_step_clipped); other methods (lora,
// wasi re-projecting) get their gradients scaled, their own update, then a clear.
void mparams_update_clipped(const ModelParams *mp, const OptimConfig *oc, float lr, double clip_coef);

// The plumbing API every model exposes, defined once: in vit.c
// MODEL_PARAMS_API(vit, ViT, vit_model_params) defines vit_zero_grad,
// vit_param_sets, vit_num_trainable, vit_clip_grad, vit_update, vit_grad_norm
// and vit_update_clipped (declared in vit.h), each one call into this file
// on the ModelParams that PARAMS(m) describes.
#define MODEL_PARAMS_API(prefix, Type, PARAMS)                                                          \
    void prefix##_zero_grad(Type *m) { ModelParams mp = PARAMS(m); mparams_zero_grad(&mp); }            \
    int prefix##_param_sets(Type *m, ParamSet **out, int max) {                                         \
        ModelParams mp = PARAMS(m);                                                                      \
        return mparams_sets(&mp, out, max);                                                              \
    }                                                                                                    \
    size_t prefix##_num_trainable(Type *m) { ModelParams mp = PARAMS(m); return mparams_num_trainable(&mp); } \
    double prefix##_clip_grad(Type *m, float max_norm) {                                                \
        ModelParams mp = PARAMS(m);                                                                      \
        return mparams_clip_grad(&mp, max_norm);                                                         \
    }                                                                                                    \
    void prefix##_update(Type *m, const OptimConfig *oc, float lr) {                                    \
        ModelParams mp = PARAMS(m);                                                                      \
        mparams_update(&mp, oc, lr);                                                                     \
    }                                                                                                    \
    double prefix##_grad_norm(Type *m) { ModelParams mp = PARAMS(m); return mparams_grad_norm(&mp); }  \
    void prefix##_update_clipped(Type *m, const OptimConfig *oc, float lr, double clip_coef) {          \
        ModelParams mp = PARAMS(m);                                                                      \
        mparams_update_clipped(&mp, oc, lr, clip_coef);                                                  \
    }

// The paper measure summed over the linears i with counted(ctx, i) != 0 that are trainable.
ViTPaperMemory mparams_paper_memory(const LinearLayer *lin, int nlin, int (*counted)(const void *ctx, int i),
                                    const void *ctx);

#endif
