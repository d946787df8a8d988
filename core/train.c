// train.c: the training step and evaluation batch (see train.h).
#include "train.h"
#include "counters.h"
#include "layers.h"

#include <math.h>

StepResult train_step(ViT *m, const float *img, const int *y, int B, const OptimConfig *oc, float lr, float clip) {
    StepResult r;
    Phase prev = phase_set(PHASE_FORWARD);
    vit_zero_grad(m);
    r.loss = vit_forward(m, img, y, B, 1);
    r.correct = count_correct(m->logits, y, B, m->cfg.num_classes);
    phase_set(PHASE_BACKWARD);
    vit_backward(m);
    phase_set(PHASE_UPDATE);
    r.grad_norm = vit_clip_grad(m, clip);
    // A non-finite loss or gradient leaves the weights as they were: the
    // caller marks the run diverged, and no NaN reaches a decomposition.
    if (isfinite(r.loss) && isfinite(r.grad_norm)) vit_update(m, oc, lr);
    phase_set(prev);
    return r;
}

StepResult eval_batch(ViT *m, const float *img, const int *y, int B) {
    StepResult r;
    Phase prev = phase_set(PHASE_INFERENCE);
    r.loss = vit_forward(m, img, y, B, 0) * (float)B;
    r.correct = count_correct(m->logits, y, B, m->cfg.num_classes);
    r.grad_norm = 0;
    phase_set(prev);
    return r;
}
