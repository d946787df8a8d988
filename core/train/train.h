// train.h: one training step and one evaluation batch of a model (ViT or Swin), with the
// phase counters switched around each part (forward, backward, update;
// inference for evaluation), so FLOPs and time land in the right phase.
#ifndef WB_TRAIN_H
#define WB_TRAIN_H

#include "core/train/optim.h"
#include "core/models/model.h"

typedef struct {
    float loss;        // mean cross-entropy of the batch (before the update)
    int correct;       // argmax hits in the batch
    double grad_norm;  // global gradient norm before clipping
} StepResult;

// zero_grad, forward, backward, clip (max_norm <= 0: none), optimizer step
// (skipped when the loss or the gradient norm is not finite). Clip and step
// run fused with the next zero_grad (model_update_clipped): after a step that
// updated, every gradient is 0; after a skipped one they hold the unclipped
// gradients of this batch.
// img (B,Cin,H,W) and y (B) must stay valid for the whole call.
StepResult train_step(Model *m, const float *img, const int *y, int B, const OptimConfig *oc, float lr, float clip);
// The same step as one rank of a data-parallel job (core/train/data_parallel.h):
// between backward and the norm, the gradients, loss and hits become those of
// the global batch (PHASE_ALLREDUCE). B = 0 (a rank with nothing in a short
// last batch) runs no forward. dp NULL: train_step.
struct DataParallel;
StepResult train_step_dp(Model *m, struct DataParallel *dp, const float *img, const int *y, int B,
                         const OptimConfig *oc, float lr, float clip);
// Forward without saving; returns the summed loss over the batch (not the mean) and the hits.
StepResult eval_batch(Model *m, const float *img, const int *y, int B);

#endif
