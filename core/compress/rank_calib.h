// rank_calib.h: rank selection for asi/wasi activations (ARCHITECTURE.md
// "Rank selection"): on one calibration batch, for each counted linear and each
// candidate epsilon, the truncated HOSVD's ranks, its activation memory
// (elements of core + factors) and the error ||dW_lowrank - dW_exact||_F;
// then one candidate per layer minimising the summed error under a total
// activation budget (the knapsack DP of core/compress/rank_select.h).
//
// Works on any model of core/models/model.h (the ViT: 3-mode activations (B,N,I);
// Swin: 4-mode, (B,nW,T,C) for qkv/proj and (B,H,W,C) for fc1/fc2); the
// ViT* entry points are the same calls for code that holds a bare ViT.
// No hook in the models is needed. The flow (one model, no copy of it):
//   1. bind.method = &rank_probe_method; model_build; model_load (or init_random).
//      The probe is a dense linear whose forward/backward also record x
//      (rows,I) and dy (rows,O) of every counted layer (it trains nothing).
//   2. rank_calib_measure_model(&rc, &m, img, y, B, cands, n): one training
//      forward/backward, then the per-layer, per-candidate table. Gradients
//      of the rest of the model are cleared afterwards.
//   3. rank_calib_select(&rc, budget_elems, nbins, log): the DP; the chosen ranks
//      are printed to log (one line per layer; NULL = silent) and a budget below the minimum is
//      raised with a warning on stderr (budget <= 0 asks for the minimum,
//      as the paper's runs, without a warning).
//   4. rank_calib_rebind_model(&m, &rc, method, &mcfg): every counted layer is
//      re-initialised with `method` (asi, wasi) from the probe's exact W, b,
//      with MethodConfig.act_ranks = its chosen ranks; the probe buffers are
//      freed. Call mem_reset_peaks() after, so calibration is not in the
//      training peak. Do not model_load afterwards (it would init every layer
//      with the shared MethodConfig again).
// FLOPs of the calibration are charged to the caller's phase.
#ifndef WB_RANK_CALIB_H
#define WB_RANK_CALIB_H

#include <stdint.h>
#include <stdio.h>
#include "core/nn/linear_method.h"
#include "core/models/model.h"
#include "core/compress/rank_select.h"

#define RC_MAX_CAND 16

extern const LinearMethod rank_probe_method;
// The input (L->rows, L->I; modes L->dims) a probe layer saved in its last
// training forward, NULL when it saved none (frozen, or an inference forward).
const float *rank_probe_input(const LinearLayer *L);

typedef struct RankCalib {
    int n_layers;          // counted trainable linears, forward order
    int n_cand;
    float cand[RC_MAX_CAND];   // candidate epsilons
    int nd;                // activation modes (3 for ViT, 4 for Swin)
    int *layer;            // (n_layers) index among all linears (model_linear; m->lin of a ViT)
    LinearLayer **lin;     // (n_layers) the layers themselves (pointers into the model)
    int *ranks;            // (n_layers, n_cand, 4) truncated-HOSVD ranks per candidate
    int64_t *cost;         // (n_layers, n_cand) activation elements (core + factors)
    double *err;           // (n_layers, n_cand) ||dW_lowrank - dW_exact||_F
    double *gnorm;         // (n_layers) ||dW_exact||_F, for relative errors
    int *choice;           // (n_layers) chosen candidate (after select)
    int64_t min_budget;    // sum over layers of the cheapest candidate
    RankSelection sel;
} RankCalib;

// cand (n_cand <= RC_MAX_CAND) in (0, 1]. m: built with the probe, weights
// set; img (B,Cin,H,W) with B <= the model's batch.
void rank_calib_measure_model(RankCalib *rc, Model *m, const float *img, const int *y, int B, const float *cand, int n_cand);
void rank_calib_measure(RankCalib *rc, ViT *m, const float *img, const int *y, int B, const float *cand, int n_cand);
// budget in activation elements over all counted layers (<= 0: the minimum).
// nbins: the DP's budget resolution (e.g. 1000). Fills rc->choice and rc->sel.
RankSelection rank_calib_select(RankCalib *rc, int64_t budget, int nbins, FILE *log);
// The chosen ranks (nd entries) of layer i.
const int *rank_calib_chosen(const RankCalib *rc, int i);
// act_ranks[d] of the rebound layers: the chosen ranks for d < nd, 0 beyond.
void rank_calib_rebind_model(Model *m, const RankCalib *rc, const LinearMethod *method, const MethodConfig *mcfg);
void rank_calib_rebind(ViT *m, const RankCalib *rc, const LinearMethod *method, const MethodConfig *mcfg);
void rank_calib_free(RankCalib *rc);

// MB (2^20 bytes of float32) <-> elements, for budgets given in MB.
int64_t rank_calib_mb_to_elems(double mb);

#endif
