// optim.h: SGD (momentum, dampening, nesterov, weight decay) and AdamW with
// exactly torch.optim's update rules, gradient-norm clipping as
// torch.nn.utils.clip_grad_norm_, and the learning-rate schedule (linear
// warmup, then cosine annealing to eta_min, as torch's LinearLR followed by
// CosineAnnealingLR).
#ifndef WB_OPTIM_H
#define WB_OPTIM_H

#include <stddef.h>
#include "params.h"

typedef enum { OPT_SGD = 0, OPT_ADAMW } OptKind;

typedef struct {
    OptKind kind;
    float weight_decay;   // SGD: L2 added to the gradient; AdamW: decoupled p *= 1 - lr*wd
    float momentum;       // SGD
    float dampening;      // SGD
    int nesterov;         // SGD
    float beta1, beta2;   // AdamW
    float eps;            // AdamW
} OptimConfig;

OptimConfig optim_sgd(float momentum, float weight_decay);
OptimConfig optim_adamw(float beta1, float beta2, float eps, float weight_decay);

// One step on one tensor. step is 1 on the first call (momentum buffers start
// as the gradient, Adam's bias corrections use it). m and v are the state
// buffers the method needs (NULL when unused: SGD without momentum needs none).
void optim_step_tensor(const OptimConfig *oc, float *p, const float *g, float *m, float *v, size_t n,
                       float lr, long step);
// One step on a whole trainable set; allocates its state (category optimizer) on first use.
void optim_step(const OptimConfig *oc, ParamSet *ps, float lr);
int optim_state_buffers(const OptimConfig *oc);   // 0, 1 or 2 floats of state per parameter

// clip_grad_norm_: total = sqrt(sum of squares over every set); if
// max_norm > 0 and total > max_norm, scale every gradient by max_norm/(total+1e-6).
// Returns the total norm before clipping.
double grad_clip_sets(ParamSet **sets, int nsets, float max_norm);

typedef struct {
    float lr;              // base (peak) learning rate
    float eta_min;         // floor of the cosine
    long warmup;           // ticks of linear warmup (0: none)
    float warmup_start;    // start factor of the warmup (torch LinearLR start_factor)
    long total;            // ticks in all (warmup + cosine); cosine T_max = total - warmup
    int cosine;            // 0: constant lr after warmup
} LrSchedule;

// lr at tick t (0-based), as the torch schedulers after t scheduler.step() calls.
float lr_at(const LrSchedule *s, long t);

#endif
