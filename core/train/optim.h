// optim.h: SGD (momentum, dampening, nesterov, weight decay) and AdamW with
// exactly torch.optim's update rules, gradient-norm clipping as
// torch.nn.utils.clip_grad_norm_, and the learning-rate schedule (linear
// warmup, then cosine annealing to eta_min, as torch's LinearLR followed by
// CosineAnnealingLR).
//
// FLOPs (charged to the current phase per trained element, padding of the
// block excluded; every +, -, *, /, sqrt counts 1):
//   SGD    2 weight decay (g + wd*p, if wd != 0) + 3 momentum (m*buf + (1-d)*g,
//          none on the first step, which copies) + 2 nesterov (g + m*buf)
//          + 2 update (p - lr*g)
//   AdamW  1 decay (p*(1-lr*wd)) + 3 first moment + 4 second moment
//          + 3 denominator (sqrt(v)/sqrt(bc2) + eps) + 3 update (p - s*m/denom) = 14
//   clip   2 per element for the norm (x*x, +) and 1 for the scaling when it applies
//          (also when optim_step_clipped folds it into the step)
// Large blocks run in parallel with OpenMP (threads_set); results do not
// depend on the thread count (element-wise, and the clip norm sums fixed chunks).
#ifndef WB_OPTIM_H
#define WB_OPTIM_H

#include <stddef.h>
#include "core/train/params.h"

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
// One step on a whole trainable set: increments ps->step, then one loop over
// the whole block (padding has zero grad and stays zero); allocates opt_m /
// opt_v (category optimizer) on first use. Dies on a frozen set and on
// nesterov with momentum <= 0 or dampening != 0 (torch refuses those too).
void optim_step(const OptimConfig *oc, ParamSet *ps, float lr);
// optim_step fused with the gradient clip and zero_grad, one pass over p and
// g instead of three: the step sees g * (float)clip_coef when clip_coef < 1
// (grad_clip_coef; exactly what grad_clip_sets then optim_step compute, bit
// for bit) and, with clear_grads, leaves every gradient of the set at 0.
void optim_step_clipped(const OptimConfig *oc, ParamSet *ps, float lr, double clip_coef, int clear_grads);
int optim_state_buffers(const OptimConfig *oc);   // 0, 1 or 2 floats of state per parameter
// FLOPs per element of one step number `step` (see the table above).
double optim_flops_per_element(const OptimConfig *oc, long step);

// torch.nn.utils.clip_grad_norm_(params, max_norm) (norm_type 2): total =
// sqrt(sum of squares of every gradient of every set; frozen sets skipped),
// accumulated in double; coef = max_norm / (total + 1e-6); if max_norm > 0 and
// coef < 1 every gradient is multiplied by (float)coef (torch multiplies by
// min(coef, 1), the same thing). Returns the total norm before clipping; a
// non-finite total leaves the gradients untouched (the caller flags divergence).
double grad_clip_sets(ParamSet **sets, int nsets, float max_norm);
// The two halves of grad_clip_sets: the total norm (frozen sets skipped; 2
// FLOPs per element) and the coefficient the gradients are multiplied by,
// max_norm / (total + 1e-6) when clipping applies (< 1), else exactly 1.
double grad_norm_sets(ParamSet **sets, int nsets);
double grad_clip_coef(double total, float max_norm);

typedef struct {
    float lr;              // base (peak) learning rate
    float eta_min;         // floor of the cosine
    long warmup;           // ticks of linear warmup (0: none)
    float warmup_start;    // start factor of the warmup (torch LinearLR start_factor)
    long total;            // ticks in all (warmup + cosine); cosine T_max = total - warmup
    int cosine;            // 0: constant lr after warmup
} LrSchedule;

// lr at tick t (0-based), as the torch schedulers after t scheduler.step() calls:
//   W = warmup, T = total - W, f = warmup_start
//   t < W:   lr * (f + (1 - f) * t / W)
//   t >= W:  cosine: eta_min + (lr - eta_min) * (1 + cos(pi * (t - W) / T)) / 2
//            (t clamped to total, where it reaches eta_min; T = 0 gives lr)
//            no cosine: lr
// This equals, for 0 <= t <= total (tests/ref_optim.py checks it):
//   lin = LinearLR(opt, start_factor=f, end_factor=1.0, total_iters=W)
//   cos = CosineAnnealingLR(opt, T_max=T, eta_min=eta_min)
//   SequentialLR(opt, [lin, cos], milestones=[W])            W > 0, cosine
//   CosineAnnealingLR(opt, T_max=total, eta_min=eta_min)      W = 0, cosine
//   LinearLR(opt, start_factor=f, end_factor=1.0, total_iters=W)   no cosine
// (torch computes the cosine recursively; it agrees with the closed form to
// ~1e-15 relative.) Beyond total torch's cosine rises again; we hold eta_min.
// With W = 0 we deliberately do not mimic SequentialLR(milestones=[0]), which
// in torch 1.13 keeps lr*f for ticks 0 and 1 and scales the whole cosine by f.
float lr_at(const LrSchedule *s, long t);

#endif
