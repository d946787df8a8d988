// subspace_track.h: the stable-subspace log (issue 15 item 4; the paper's
// Fig. 3a hypothesis): per followed linear and epoch, the rank epsilon gives
// on the current dense-equivalent weight, and the largest principal angle
// between the initial and the current top-K right singular subspaces
// (K = the initial rank: the method's own weight rank when it has one, else
// the epsilon rank of the initial W). The runner calls init after the model
// holds its starting weights and epoch after every epoch.
//
// The weight is read through the method interface: its optional
// subspace_weight hook (core/nn/linear_method.h), else export_dense. Costs:
// one thin SVD of (O,I) per layer and call, charged to PHASE_OTHER so the
// training phases' FLOPs and times are not touched. Memory: V0 (K,I) per
// layer for the whole run, and an (O,I) copy plus its SVD workspace during a
// call, all MEM_WORKSPACE (so they appear in the tracked peak; the paper
// measure is unaffected).
#ifndef WB_SUBSPACE_TRACK_H
#define WB_SUBSPACE_TRACK_H

#include "core/nn/linear_method.h"

// One row of the log (the results file's 'subspace' table).
typedef struct {
    int32_t epoch;      // 0 = the starting weights, then 1..epochs
    int32_t layer;      // index into the run's counted linears ('layers' table row)
    int32_t eps_rank;   // smallest rank holding a fraction >= epsilon of sum sigma^2 of the current W
    int32_t k;          // K: the size of the followed subspace (fixed from epoch 0)
    double max_angle;   // radians in [0, pi/2]: acos(sigma_min(V0 V^T)), linalg.h subspace_max_angle
} SubspaceRow;

typedef struct {
    int n;                 // layers followed
    LinearLayer **layers;  // (n) not owned
    int *k;                // (n) K per layer
    float **v0;            // (n) each (k, I): the initial top-K right singular vectors
    float epsilon;
    int max_oi, max_o;     // largest O*I and O among the layers (workspace sizes)
} SubspaceTrack;

// Follow layers[0..n-1] (their current weights are the reference). Returns
// the n rows of epoch 0 in rows (n entries).
void subspace_track_init(SubspaceTrack *t, LinearLayer *const *layers, int n, float epsilon, SubspaceRow *rows);
// The n rows of `epoch` for the current weights.
void subspace_track_epoch(SubspaceTrack *t, int epoch, SubspaceRow *rows);
void subspace_track_free(SubspaceTrack *t);

#endif
