// train.c: the training step and evaluation batch (see train.h).
#include "core/train/train.h"
#include "core/runtime/counters.h"
#include "core/train/data_parallel.h"
#include "core/nn/layers.h"

#include <math.h>

StepResult train_step(Model *m, const float *img, const int *y, int B, const OptimConfig *oc, float lr, float clip) {
    return train_step_dp(m, NULL, img, y, B, oc, lr, clip);
}

StepResult train_step_dp(Model *m, DataParallel *dp, const float *img, const int *y, int B, const OptimConfig *oc,
                         float lr, float clip) {
    StepResult r = {0, 0, 0};
    Phase prev = phase_set(PHASE_FORWARD);
    model_zero_grad(m);   // free when the previous step's fused update left them cleared
    if (B > 0) {
        r.loss = model_forward(m, img, y, B, 1);
        r.correct = count_correct(model_logits(m), y, B, model_num_classes(m));
        phase_set(PHASE_BACKWARD);
        model_backward(m);
    }
    // Data-parallel: the global batch's gradient, loss and hits on every rank,
    // before the norm, the clip and the step see them.
    if (dp) {
        phase_set(PHASE_ALLREDUCE);
        dp_allreduce_grads(dp, m, B, &r.loss, &r.correct);
    }
    phase_set(PHASE_UPDATE);
    r.grad_norm = model_grad_norm(m);
    // Clip, step and zero_grad in one pass over weights and gradients (the
    // same weights as clip_grad then update). A non-finite loss or gradient
    // leaves the weights as they were (and the gradients unclipped): the
    // caller marks the run diverged, and no NaN reaches a decomposition.
    if (isfinite(r.loss) && isfinite(r.grad_norm))
        model_update_clipped(m, oc, lr, grad_clip_coef(r.grad_norm, clip));
    phase_set(prev);
    return r;
}

StepResult eval_batch(Model *m, const float *img, const int *y, int B) {
    StepResult r;
    Phase prev = phase_set(PHASE_INFERENCE);
    r.loss = model_forward(m, img, y, B, 0) * (float)B;
    r.correct = count_correct(model_logits(m), y, B, model_num_classes(m));
    r.grad_norm = 0;
    phase_set(prev);
    return r;
}
