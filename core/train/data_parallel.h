// data_parallel.h: data-parallel training of one model over the ranks of
// dist.h. Every rank holds the whole model and trains on its slice of each
// global batch; after backward the gradients of every trainable set are
// packed into one contiguous buffer, summed over ranks by one all-reduce and
// unpacked, so every rank takes the same optimizer step on the same
// gradient and the parameters stay identical without being sent.
//
// What keeps every method's state identical (DESIGN "Scale-out"):
//   - plain gradients (vanilla, lora's A and B, the own set, hosvd/asi's
//     dense W): summed here, then the same update on every rank;
//   - wasi `dense`: the master W takes that same step, and the subspace
//     iteration (Q = W^T L_prev, L = orth(W Q), R = L^T W) runs on identical
//     inputs on every rank, so L and R come out identical (same binary,
//     same threads: the same bits). dp_check_identical verifies it with a
//     checksum at the end of every epoch and stops the run if not;
//   - the activation factors of asi/hosvd/wasi compress each rank's own
//     activations (they are not parameters): a rank's gradient is computed
//     from its compressed slice and then summed. With exact compression
//     (epsilon 1 / full ranks) the sum is the one-process gradient; with
//     truncation it is the sum of per-slice approximations (a different,
//     equally cheap approximation than the one of the whole batch);
//   - wasi `factored` keeps its gradient as T (O,k1) relative to the rank's
//     own activation factor U, so the factors of two ranks cannot be summed:
//     the runner refuses it with more than one rank.
// The loss, the hit count and the batch size of the step travel in the same buffer.
#ifndef WB_DATA_PARALLEL_H
#define WB_DATA_PARALLEL_H

#include "core/models/model.h"
#include "core/train/params.h"

typedef struct DataParallel {
    ParamSet **sets;   // (nsets) the model's trainable sets
    int nsets;
    size_t numel;      // floats of all their gradients
    float *buf;        // (numel + 3) packed gradients, then loss sum, hits, batch size; category gradients
} DataParallel;

void dp_init(DataParallel *dp, Model *m);
void dp_free(DataParallel *dp);
// After backward on this rank's B items (B may be 0: gradients are then 0)
// whose mean loss was *loss and hits *correct: every gradient becomes the
// mean-loss gradient of the global batch (the sum over ranks of B_r g_r, over
// the sum of B_r); *loss, *correct the global batch's. Returns the global batch size.
int dp_allreduce_grads(DataParallel *dp, Model *m, int B, float *loss, int *correct);
// 0 when every rank holds the same parameters and method state (a checksum
// over the parameter blocks of every set, compared across ranks), else -1.
int dp_check_identical(DataParallel *dp, Model *m);

#endif
