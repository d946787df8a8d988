// wasi.h: Weight-Activation Subspace Iteration (the method under study) as a
// LinearMethod (ARCHITECTURE.md "Methods", wasi). Per layer:
//   init     full SVD W = U Sigma V^T (PHASE_DECOMPOSITION); k = smallest
//            count holding a fraction >= MethodConfig.epsilon of sum sigma^2;
//            L = U_k (O,k), R = Sigma_k V_k^T (k,I). k never changes after.
//   forward  y = (x R^T) L^T + b; x saved compressed (core/compress/act_store.h):
//            MethodConfig.act_ranks all > 0: fixed ranks, one warm-started
//            subspace-iteration step per forward (as asi); all 0: exact
//            truncated HOSVD at MethodConfig.act_epsilon per mode (as hosvd;
//            note: act_epsilon, not epsilon, which sets the weight rank).
//            Both 0 is an error (run core/compress/rank_calib.h to get ranks).
//   backward dx = (dy L) R; dW contracted from dy and the compressed x;
//            db = sum dy.
//   update   storage `dense` (MethodConfig.factored = 0): the master W (O,I)
//            and its optimizer state are kept (as the authors' code):
//            W <- optimizer(W, dW), then Q = W^T L_prev, L = orth(W Q),
//            R = L^T W (r_update current) or R = Q^T = L_prev^T W (previous).
//            storage `factored` (factored = 1): only L, R, b are kept and no
//            O x I matrix is ever formed. The gradient is kept as its
//            channel-side factor T (O, k_last) with G = T U_last^T (U_last
//            the saved channel factor of x, orthonormal, so ||G||_F =
//            ||T||_F and gradient clipping sees the true norm). Eq. 11 of
//            the paper, W' = c L R - lr G, enters the subspace iteration only
//            through products (c = 1 - lr wd, see below):
//              Q     = W'^T L_prev = c R^T - lr U (T^T L_prev)   (L^T L_prev = I:
//                      L_prev has orthonormal columns)
//              L_new = orth(W' Q)  = orth(c L (R Q) - lr T (U^T Q))
//              R_new = L_new^T W'  = c (L_new^T L) R - lr (T^T L_new)^T U^T   (current)
//                    = Q^T                                                  (previous)
//            The factored update is plain SGD: weight decay (SGD's L2 term)
//            becomes the exact scaling c = 1 - lr wd of L R; momentum,
//            nesterov and AdamW need a dense state and die at the first
//            update (the optimizer is not known at init). The bias takes the
//            same SGD step.
// The two storages agree on the first update when W starts at exact rank k;
// after that the dense master keeps the residual W - L R and they drift.
// export_dense returns L R and b (the weight the forward uses).
//
// LinearLayer.no_bias: y = (x R^T) L^T, no "bias" tensor in either storage,
// no db, export_dense gives b = 0.
// Parameter sets (for zero_grad, clipping, checkpoint-free inspection):
//   dense:    trainable {"weight" (O,I) master, "bias" (O)}
//   factored: trainable {"bias" (O), "weight_grad_T" (O,kT)}: the second
//             tensor only carries the gradient factor T (its parameter slot
//             is unused), so mparams_num_trainable counts O kT floats there
//             instead of L and R. kT = the fixed channel rank, or I with
//             energy ranks (the rank is data-dependent).
//   both:     L (O,k) and R (k,I) in a set without gradients ("L", "R").
// Scratch (x R^T / dy L rows, the subspace step's Q and orth, the factored
// update's buffers) is one set shared by every wasi layer of the process,
// each buffer at its largest need (layers run one at a time); like the HOSVD
// workspace it is in no layer's account (bytes_workspace = 0).
// Phases: the init SVD and the activation compression are charged to
// PHASE_DECOMPOSITION; the subspace iteration of update stays in the
// caller's phase (the trainer's PHASE_UPDATE: it is the re-projection).
//
// weight_update (MethodConfig.weight_update_svd): `iteration` (default) is
// the warm-started step above; `svd` (dense storage only) replaces it by a
// fresh truncated SVD of the updated master W at epsilon every step (the
// paper's "SVD every iteration" ablation, Fig. 3b), so k may change from
// step to step: L, R are then sized for rank min(O,I) and the layer keeps
// its own SVD workspace (its bytes_workspace). The decomposition FLOPs are
// the R-SVD count of core/linalg/linalg.c (see the FLOP block of wasi.c). The
// per-epoch k is what account() reports (results' layer_ranks_by_epoch).
//
// Where this goes beyond or departs from ARCHITECTURE.md "Methods" (all
// deliberate; listed there too):
//   - factored: L^T L_prev is taken as the identity in Q (exact up to the
//     orthonormality of L, ~1e-7), saving one (k,O)x(O,k) product;
//   - factored: SGD only (weight decay as the exact scaling c); the
//     optimizer arrives with update(), so a wrong one dies there, not at init;
//   - r_update previous gives W_eff = L_new L_prev^T W', which equals W'
//     only when the subspace barely moves (at full rank it is a rotation of
//     W'): that is the authors' choice, kept as an option;
//   - account() cannot say which storage ran (LinearAccount has no field):
//     wasi_storage() does; the bytes differ (dense keeps O I weights + grads).
#ifndef WB_WASI_H
#define WB_WASI_H

#include "core/nn/linear_method.h"

extern const LinearMethod method_wasi;

// --- shared with baselines/wsi.c (the weight part of wasi, x saved dense) ---
// init with the activations compressed (act_dense 0, wasi) or saved as is (1, wsi).
void wasi_setup(LinearLayer *L, const float *W, const float *b, const MethodConfig *cfg, int act_dense);
void wasi_forward(LinearLayer *L, float *out, const float *inp, const int *dims, int ndim, int training);
void wasi_backward(LinearLayer *L, float *dinp, const float *dout);
int wasi_param_sets(LinearLayer *L, ParamSet **out);
void wasi_update(LinearLayer *L, const OptimConfig *oc, float lr);
void wasi_account(const LinearLayer *L, LinearAccount *acc);
void wasi_export(const LinearLayer *L, float *W, float *b);
void wasi_free(LinearLayer *L);
int wasi_check(const MethodConfig *mc, const OptimConfig *oc, const char **key, char *msg, size_t cap);
extern const char *const wasi_rupdate_names[], *const wasi_wupdate_names[];
#define WASI_KEY_EPSILON                                                                                          \
    {.key = "epsilon", .type = MKEY_NUM, .field = offsetof(MethodConfig, epsilon), .lo = 0, .hi = 1, .lo_open = 1, \
     .required = 1, .missing_hint = "the weight rank threshold, 0 < epsilon <= 1",                                \
     .help = "energy of W's singular values kept: sets the weight rank k at the first step (svd: at every step)"}
#define WASI_KEY_R_UPDATE                                                                                          \
    {.key = "r_update", .type = MKEY_ENUM, .field = offsetof(MethodConfig, r_update_previous),                     \
     .names = wasi_rupdate_names, .n_names = 2, .help = "R = L^T W (current) or L_prev^T W (previous, the authors' code)"}
#define WASI_KEY_WEIGHT_UPDATE                                                                                     \
    {.key = "weight_update", .type = MKEY_ENUM, .field = offsetof(MethodConfig, weight_update_svd),                \
     .names = wasi_wupdate_names, .n_names = 2,                                                                    \
     .help = "iteration: one warm-started subspace step per update; svd: a fresh truncated SVD at epsilon (k may change; storage dense)"}

// "dense" or "factored": which storage this layer runs (account() has no field for it).
const char *wasi_storage(const LinearLayer *L);
int wasi_weight_rank(const LinearLayer *L);
// L (O,k) and R (k,I) in use.
void wasi_factors(const LinearLayer *L, const float **Lf, const float **Rf);
// The weight gradient of the last backward before any projection, dW (O,I):
// dense: the master's gradient; factored: T U_last^T formed explicitly
// (for tests and diagnostics; the method itself never forms it).
void wasi_weight_grad(const LinearLayer *L, float *dW);

#endif
