// act_store.h: the compressed activation storage shared by hosvd, asi and
// wasi. Forward hands x (dims) to act_store_save, which keeps only the
// Tucker core and factors (category activations) instead of x; backward
// takes dW (or its channel-side factor T) from dy and that storage without
// rebuilding x (core/compress/tucker.h does the algebra).
//
// Two ways to pick the factors (ARCHITECTURE.md "Methods"):
//   ACT_ENERGY  exact truncated HOSVD, per mode the smallest rank holding a
//               fraction >= eps of the energy (hosvd; wasi with act_epsilon)
//   ACT_FIXED   fixed ranks k_n, ONE warm-started subspace-iteration step per
//               mode and forward; the first forward starts from a Gaussian
//               drawn from the store's seed (asi; wasi with act_ranks)
//
// Memory. The Tucker is per layer: for ACT_FIXED it is sized once at init
// from the layer's dims (L->dims, the largest activation it will see) and the
// ranks; for ACT_ENERGY the ranks are data-dependent, so its buffers start at
// rank 1 and grow when a step needs more than every earlier one (so the
// tracked activation bytes are the high-water mark of the data's ranks).
// The scratch (Gram, eigen-decomposition, power-step and contraction
// buffers: a (I,I) Gram and eigenvector matrix alone are 2 I^2 floats) holds
// no state between calls, so ONE workspace per mode count serves every layer
// of the process: each of its buffers is sized at the largest need of THAT
// buffer over the stores alive (hosvd_work_sizes, hosvd_sizes_max; not at the
// elementwise largest dims, which over Swin's stages is several times any
// layer's need) and rebuilt (at init time only) when a layer needs more,
// freed with the last store. It is MEM_WORKSPACE and belongs to no layer's account.
//
// FLOPs: act_store_save runs in PHASE_DECOMPOSITION (it switches and
// restores the phase); the contractions are charged to the caller's phase.
#ifndef WB_ACT_STORE_H
#define WB_ACT_STORE_H

#include <stddef.h>
#include <stdint.h>
#include "core/compress/tucker.h"
#include "core/nn/linear_method.h"

typedef enum { ACT_ENERGY = 1, ACT_FIXED = 2 } ActMode;

typedef struct {
    ActMode mode;
    int nd;                          // modes of the activation (3: B,N,I; 4: B,H,W,C)
    int dims_max[HOSVD_MAX_MODES];   // the largest activation (from L->dims at init)
    float eps[HOSVD_MAX_MODES];      // ACT_ENERGY: energy fraction per mode
    int ranks[HOSVD_MAX_MODES];      // ACT_FIXED: k_n (clipped to d_n when used)
    int O_max;                       // out-features of the contraction
    Tucker t;                        // the saved x: core + factors, category activations
    int saved;                       // 1 after a save, until the next forward without one
} ActStore;

// dims_max (nd) the largest x; O: the layer's out-features (the contraction's
// width; wasi factored contracts dy L, width k <= O). mode ACT_ENERGY reads
// eps (nd), ACT_FIXED reads ranks (nd, each >= 1).
void act_store_init(ActStore *s, int nd, const int *dims_max, int O, ActMode mode, const float *eps,
                    const int *ranks, uint64_t seed);
void act_store_free(ActStore *s);

// Compress x (dims[0..nd-1], last = I) into the store (PHASE_DECOMPOSITION).
void act_store_save(ActStore *s, const float *x, const int *dims, int nd);
// dW (O,I) += dy^T x_hat; dy (rows, O) with rows = prod of the saved token dims.
void act_store_dw(ActStore *s, float *dW, const float *dy, int O);
// T (O, k_last) = the contraction before the channel factor, so that
// dy^T x_hat = T U_last^T (U_last = act_store_channel_factor); overwrites T.
void act_store_contract(ActStore *s, float *T, const float *dy, int O);
// U_last (I, k_last) of the last save, and k_last.
const float *act_store_channel_factor(const ActStore *s, int *k_last);

// Elements saved (core + factors) by the last save; before any save: the
// planned count for dims_max (ACT_FIXED) or 0 (ACT_ENERGY, data-dependent).
double act_store_numel(const ActStore *s);
// Tracked bytes of the saved buffers (capacity, not use).
size_t act_store_bytes(const ActStore *s);
// Ranks in use (last save; ACT_FIXED before a save: the planned ones); returns nd.
int act_store_ranks(const ActStore *s, int *ranks);

// Closed form of the saved elements for ranks k (nd) on dims (nd):
// prod_n min(k_n, d_n) + sum_n d_n min(k_n, d_n).
double tucker_elems(const int *dims, const int *k, int nd);

// Method configuration helper for asi/wasi: reads cfg->act_ranks for a layer
// of nd modes. Returns 1 when all nd ranks are > 0 (fixed ranks), 0 when all
// are 0; dies on a mix or on nonzero ranks beyond mode nd (name: the layer).
int act_ranks_given(const MethodConfig *cfg, int nd, const char *name);

#endif
