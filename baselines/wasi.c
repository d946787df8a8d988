// wasi.c: the WASI linear layer, dense and factored storage (see wasi.h).
// FLOPs (rows = tokens of the batch, kl = the channel rank of the saved x):
//   forward   2 rows I k (x R^T) + 2 rows k O (. L^T) + rows O (bias; the rows O
//             terms and the bias' SGD are absent with LinearLayer.no_bias)
//             [+ the compression, PHASE_DECOMPOSITION]
//   backward  2 rows O k (dy L) + 2 rows k I (. R) + rows O (db)
//             + dense: tucker_dw (core/compress/tucker.h); factored: tucker_contract_dy + O kl (the += into T)
//   update    dense: optimizer on O I + O, then weight_subspace_step (linalg.h)
//             factored: 2 O kl k + 2 I kl k (Q's G part) + 2 I k (c R^T added)
//             + 2 k I k (R Q) + 2 O k k (c L RQ) + 2 I kl k + 2 O kl k (G Q) + orth (O,k)
//             + current: 2 O k k (L_new^T L) + 2 O kl k (T^T L_new) + 2 k k I + 2 k kl I
//             + SGD on the bias (2, +2 with weight decay, per element)
//   weight_update svd (dense storage), instead of weight_subspace_step:
//             sgesdd (jobz 'S') of the (O,I) W, counted as the textbook R-SVD
//             6 m n^2 + 20 n^3 (m = max(O,I), n = min(O,I); GVL Table 5.4.1,
//             core/linalg/linalg.c svd_compute) + k I (R = Sigma_k V_k^T), in the
//             caller's phase (PHASE_UPDATE), as the subspace step it replaces
//   wsi (x saved dense, baselines/wsi.h): forward saves no Tucker (no
//             PHASE_DECOMPOSITION); backward's dW is 2 rows O I (dy^T x)
#include "baselines/wasi.h"
#include "core/compress/act_store.h"
#include "core/linalg/blas.h"
#include "core/runtime/common.h"
#include "core/runtime/counters.h"
#include "core/nn/layers.h"
#include "core/linalg/linalg.h"
#include "core/runtime/memory.h"
#include "core/train/optim.h"
#include "core/compress/rank_calib.h"
#include "baselines/act_dense.h"

#include <math.h>
#include <stddef.h>
#include <string.h>

typedef struct {
    int k;             // weight rank
    int factored, r_previous;
    ParamSet p;        // trainable: dense {"weight" (O,I), "bias" (O)}; factored {"bias" (O), "weight_grad_T" (O,kT)};
                       // no "bias" with L->no_bias (b NULL)
    ParamSet f;        // {"L" (O,k), "R" (k,I)}, no gradients
    float *W, *b, *Lf, *Rf;
    float *gT;         // factored: gradient factor T (O,kl) packed with row stride kl (grads of weight_grad_T)
    int kT;            // factored: width reserved for T
    ActStore act;      // compressed x (trainable layers; wasi)
    int act_dense;     // wsi: x saved as is, in x (max_rows,I)
    float *x;
    float epsilon;     // the weight's (weight_update svd re-applies it)
    int svd_update;    // weight_update svd: L, R sized for rank min(O,I), sw kept
    SvdWork *sw;
    long bias_step;
    int saved;
} Wasi;

// Scratch shared by every wasi layer of the process: layers run one at a
// time and keep nothing in it between calls, so one set of buffers, each
// sized at its largest need over the layers alive, serves all of them
// (per-layer buffers were ~361 MB at vit_b_32 batch 32). Rebuilt (at init
// only) when a layer needs more, freed with the last layer; MEM_WORKSPACE,
// in no layer's account (as the HOSVD workspace of act_store.c).
typedef struct {
    size_t tmp;        // (max_rows,k) x R^T in forward, dy L in backward
    size_t T1;         // factored: (O,kT) one backward's T before it is added
    size_t Q;          // (I,k) Q of the subspace step (dense: weight_subspace_step's, factored: ours)
    size_t Rn, Ln;     // factored: (k,I), (O,k)
    size_t kk, sm;     // factored: (k,k), (kT,k)
    int orth_m, orth_k;  // orth of (O,k) (0: none)
} WasiNeed;

static struct {
    WasiNeed need;
    float *tmp, *T1, *Q, *Rn, *Ln, *kk, *sm;
    OrthWork orth;
    int refs, built;
} scratch;

static float *scratch_buf(size_t n) { return n ? mem_alloc_floats(n, MEM_WORKSPACE) : NULL; }

static void scratch_free(void) {
    mem_free(scratch.tmp); mem_free(scratch.T1); mem_free(scratch.Q); mem_free(scratch.Rn);
    mem_free(scratch.Ln); mem_free(scratch.kk); mem_free(scratch.sm);
    if (scratch.need.orth_k) orth_work_free(&scratch.orth);
}

#define NEED_MAX(f) m.f = m.f > n->f ? m.f : n->f
static void scratch_acquire(const WasiNeed *n) {
    WasiNeed m = scratch.need;
    NEED_MAX(tmp); NEED_MAX(T1); NEED_MAX(Q); NEED_MAX(Rn); NEED_MAX(Ln); NEED_MAX(kk); NEED_MAX(sm);
    NEED_MAX(orth_m); NEED_MAX(orth_k);
    scratch.refs++;
    if (scratch.built && !memcmp(&m, &scratch.need, sizeof m)) return;
    if (scratch.built) scratch_free();
    scratch.need = m;
    scratch.tmp = scratch_buf(m.tmp); scratch.T1 = scratch_buf(m.T1); scratch.Q = scratch_buf(m.Q);
    scratch.Rn = scratch_buf(m.Rn); scratch.Ln = scratch_buf(m.Ln); scratch.kk = scratch_buf(m.kk); scratch.sm = scratch_buf(m.sm);
    if (m.orth_k) orth_work_init(&scratch.orth, m.orth_m, m.orth_k);
    scratch.built = 1;
}
#undef NEED_MAX

static void scratch_release(void) {
    CHECK(scratch.refs > 0, "wasi scratch released more often than acquired");
    if (--scratch.refs > 0) return;
    scratch_free();
    memset(&scratch, 0, sizeof scratch);
}

void wasi_setup(LinearLayer *L, const float *W, const float *b, const MethodConfig *cfg, int act_dense) {
    const char *meth = act_dense ? "wsi" : "wasi";
    CHECK(L->max_rows > 0, "%s: max_rows not set before init", L->name);
    CHECK(cfg->epsilon > 0.0f && cfg->epsilon <= 1.0f, "%s: %s epsilon %g outside (0, 1]", L->name, meth, (double)cfg->epsilon);
    linear_check_bias(L, b);
    CHECK(!cfg->factored || (!act_dense && !cfg->weight_update_svd),
          "%s: %s storage factored runs only with the activations compressed and weight_update iteration", L->name, meth);
    CHECK(L->ndim >= 2 && L->ndim <= HOSVD_MAX_MODES && L->dims[L->ndim - 1] == L->I,
          "%s: init needs the activation modes (ndim %d, I %d)", L->name, L->ndim, L->I);
    const int O = L->O, I = L->I, nd = L->ndim;
    Wasi *d = mem_alloc(sizeof(Wasi), MEM_WORKSPACE);
    d->factored = cfg->factored != 0;
    d->r_previous = cfg->r_update_previous != 0;
    d->act_dense = act_dense;
    d->svd_update = cfg->weight_update_svd != 0;
    d->epsilon = cfg->epsilon;

    // 1. full SVD, energy rank, L = U_k, R = Sigma_k V_k^T; with
    // weight_update svd, k may grow later: L, R hold rank min(O,I) and the
    // SVD workspace stays (one per layer, in its bytes_workspace)
    Phase prev = phase_set(PHASE_DECOMPOSITION);
    SvdWork *sw = mem_alloc(sizeof(SvdWork), MEM_WORKSPACE);
    svd_work_init(sw, O, I);
    svd_compute(sw, W);
    int k = d->k = svd_energy_rank(sw->s, sw->mn, cfg->epsilon);
    const int kcap = d->svd_update ? sw->mn : k;
    params_init(&d->f, 0);
    params_declare(&d->f, "L", 2, (int[]){O, kcap});
    params_declare(&d->f, "R", 2, (int[]){kcap, I});
    params_alloc(&d->f);
    d->Lf = params_get(&d->f, "L");
    d->Rf = params_get(&d->f, "R");
    svd_factors(d->Lf, d->Rf, sw, k);
    if (d->svd_update && L->trainable) d->sw = sw;
    else { svd_work_free(sw); mem_free(sw); }
    phase_set(prev);

    // activation storage: wsi dense; wasi fixed ranks or energy at act_epsilon
    int fixed = act_dense || act_ranks_given(cfg, nd, L->name);
    CHECK(fixed || cfg->act_epsilon > 0.0f,
          "%s: wasi needs activation ranks (act_ranks k1..k%d) or act_epsilon > 0; or rank calibration (core/compress/rank_calib.h)",
          L->name, nd);
    float eps[HOSVD_MAX_MODES];
    for (int n = 0; n < HOSVD_MAX_MODES; n++) eps[n] = cfg->act_epsilon;
    d->kT = fixed && !act_dense ? wb_min(cfg->act_ranks[nd - 1], I) : I;

    params_init(&d->p, L->trainable);
    if (!d->factored) params_declare(&d->p, "weight", 2, (int[]){O, I});
    if (!L->no_bias) params_declare(&d->p, "bias", 1, (int[]){O});
    if (d->factored && L->trainable) params_declare(&d->p, "weight_grad_T", 2, (int[]){O, d->kT});
    params_alloc(&d->p);   // (factored, frozen, no_bias: nothing declared, nothing allocated)
    if (!L->no_bias) {
        d->b = params_get(&d->p, "bias");
        memcpy(d->b, b, sizeof(float) * (size_t)O);
    }
    if (!d->factored) {
        d->W = params_get(&d->p, "weight");
        memcpy(d->W, W, sizeof(float) * (size_t)O * I);
    }
    WasiNeed need;
    memset(&need, 0, sizeof need);
    need.tmp = (size_t)L->max_rows * kcap;
    if (L->trainable) {
        if (act_dense) d->x = linear_saved_input_alloc(L);
        else act_store_init(&d->act, nd, L->dims, O, fixed ? ACT_FIXED : ACT_ENERGY, eps, cfg->act_ranks, cfg->seed);
        if (!d->svd_update) {
            need.Q = (size_t)I * k;
            need.orth_m = O; need.orth_k = k;
        }
        if (d->factored) {
            d->gT = params_grad(&d->p, "weight_grad_T");
            need.T1 = (size_t)O * d->kT;
            need.Rn = (size_t)k * I;
            need.Ln = (size_t)O * k;
            need.kk = (size_t)k * k;
            need.sm = (size_t)d->kT * k;
        }
    }
    scratch_acquire(&need);
    L->state = d;
}

static void wasi_init(LinearLayer *L, const float *W, const float *b, const MethodConfig *cfg) { wasi_setup(L, W, b, cfg, 0); }

// inp (rows,I) -> out (rows,O) = (inp R^T) L^T + b
void wasi_forward(LinearLayer *L, float *out, const float *inp, const int *dims, int ndim, int training) {
    Wasi *d = L->state;
    linear_layer_set_dims(L, dims, ndim);
    CHECK(L->rows <= L->max_rows, "%s: %ld rows > max_rows %ld", L->name, L->rows, L->max_rows);
    const int R = (int)L->rows, k = d->k;
    const int O = L->O;
    float *tmp = scratch.tmp;
    gemm(0, 1, R, k, L->I, 1.0f, inp, L->I, d->Rf, L->I, 0.0f, tmp, k);     // t = x R^T
    if (!d->b) {   // no_bias: y = t L^T
        gemm(0, 1, R, O, k, 1.0f, tmp, k, d->Lf, k, 0.0f, out, O);
    } else {
        // y = b + t L^T: the bias written first and the product added (beta 1)
        // saves the pass that zeroes y (OpenBLAS's beta 0) and the pass adding b.
        bias_fill(out, d->b, R, O);
        gemm(0, 1, R, O, k, 1.0f, tmp, k, d->Lf, k, 1.0f, out, O);
        flops_add((double)R * O);   // bias: 1 add per output element (inside the beta-1 product)
    }
    d->saved = training && L->trainable;
    if (d->saved && d->act_dense) memcpy(d->x, inp, sizeof(float) * (size_t)R * L->I);
    else if (d->saved) act_store_save(&d->act, inp, dims, ndim);
}

void wasi_backward(LinearLayer *L, float *dinp, const float *dout) {
    Wasi *d = L->state;
    const int R = (int)L->rows, k = d->k, O = L->O, I = L->I;
    if (dinp) {
        gemm(0, 0, R, k, O, 1.0f, dout, O, d->Lf, k, 0.0f, scratch.tmp, k);   // g = dy L
        gemm(0, 0, R, I, k, 1.0f, scratch.tmp, k, d->Rf, I, 1.0f, dinp, I);   // dx += g R
    }
    if (!L->trainable) return;
    CHECK(d->saved, "%s: backward without a training forward", L->name);
    if (d->b) bias_grad_accumulate(params_grad(&d->p, "bias"), dout, R, O);             // db += sum dy
    if (d->act_dense) {
        gemm(1, 0, O, I, R, 1.0f, dout, O, d->x, I, 1.0f, params_grad(&d->p, "weight"), I);   // dW += dy^T x
        return;
    }
    if (!d->factored) {
        act_store_dw(&d->act, params_grad(&d->p, "weight"), dout, O);         // dW += dy^T x_hat
        return;
    }
    int kl;
    act_store_channel_factor(&d->act, &kl);
    CHECK(kl <= d->kT, "%s: channel rank %d exceeds the gradient factor's %d", L->name, kl, d->kT);
    float *T1 = scratch.T1;
    act_store_contract(&d->act, T1, dout, O);                                 // T1 (O,kl)
    size_t n = (size_t)O * kl;
    for (size_t i = 0; i < n; i++) d->gT[i] += T1[i];
    flops_add((double)n);   // 1 add per element of T
}

int wasi_param_sets(LinearLayer *L, ParamSet **out) {
    Wasi *d = L->state;
    if (!L->trainable) return 0;
    out[0] = &d->p;
    return 1;
}

// W' = c L R - lr T U^T enters only through products (see wasi.h).
static void factored_update(LinearLayer *L, Wasi *d, const OptimConfig *oc, float lr) {
    CHECK(oc->kind == OPT_SGD && oc->momentum == 0.0f && !oc->nesterov,
          "%s: wasi factored storage runs plain SGD (optionally with weight decay); momentum, nesterov and AdamW "
          "need a dense optimizer state: use storage dense", L->name);
    const int O = L->O, I = L->I, k = d->k;
    int kl;
    const float *U = act_store_channel_factor(&d->act, &kl);   // (I,kl)
    const float *T = d->gT;                                     // (O,kl)
    const float c = 1.0f - lr * oc->weight_decay;
    float *Lp = d->Lf, *R = d->Rf, *Q = scratch.Q, *sm = scratch.sm, *kk = scratch.kk, *Ln = scratch.Ln, *Rn = scratch.Rn;
    // Q (I,k) = c R^T - lr U (T^T L_prev)
    gemm(1, 0, kl, k, O, 1.0f, T, kl, Lp, k, 0.0f, sm, k);
    gemm(0, 0, I, k, kl, -lr, U, kl, sm, k, 0.0f, Q, k);
    for (int i = 0; i < I; i++)
        for (int j = 0; j < k; j++) Q[(size_t)i * k + j] += c * R[(size_t)j * I + i];
    flops_add(2.0 * I * k);   // c*R and + per element of Q
    // L_new = orth(c L (R Q) - lr T (U^T Q))
    gemm(0, 0, k, k, I, 1.0f, R, I, Q, k, 0.0f, kk, k);
    gemm(0, 0, O, k, k, c, Lp, k, kk, k, 0.0f, Ln, k);
    gemm(1, 0, kl, k, I, 1.0f, U, kl, Q, k, 0.0f, sm, k);
    gemm(0, 0, O, k, kl, -lr, T, kl, sm, k, 1.0f, Ln, k);
    orth_inplace(Ln, O, k, &scratch.orth);
    if (d->r_previous) {   // R_new = Q^T = L_prev^T W' (a copy)
        for (int j = 0; j < k; j++)
            for (int i = 0; i < I; i++) R[(size_t)j * I + i] = Q[(size_t)i * k + j];
    } else {               // R_new = c (L_new^T L_prev) R - lr (T^T L_new)^T U^T
        gemm(1, 0, k, k, O, 1.0f, Ln, k, Lp, k, 0.0f, kk, k);
        gemm(1, 0, kl, k, O, 1.0f, T, kl, Ln, k, 0.0f, sm, k);
        gemm(0, 0, k, I, k, c, kk, k, R, I, 0.0f, Rn, I);
        gemm(1, 1, k, I, kl, -lr, sm, k, U, kl, 1.0f, Rn, I);
        memcpy(R, Rn, sizeof(float) * (size_t)k * I);
    }
    memcpy(Lp, Ln, sizeof(float) * (size_t)O * k);
    d->bias_step++;
    if (d->b) optim_step_tensor(oc, d->b, params_grad(&d->p, "bias"), NULL, NULL, (size_t)O, lr, d->bias_step);
    d->p.step = d->bias_step;
}

void wasi_update(LinearLayer *L, const OptimConfig *oc, float lr) {
    Wasi *d = L->state;
    if (!L->trainable) return;
    if (d->factored) { factored_update(L, d, oc, lr); return; }
    optim_step(oc, &d->p, lr);                                                       // W, b
    if (d->svd_update) {   // a fresh truncated SVD at epsilon: k may change
        svd_compute(d->sw, d->W);
        d->k = svd_energy_rank(d->sw->s, d->sw->mn, d->epsilon);
        svd_factors(d->Lf, d->Rf, d->sw, d->k);
        return;
    }
    WsiWork wsi = {L->O, L->I, d->k, scratch.Q, scratch.orth};   // a view of the shared scratch
    weight_subspace_step(d->Lf, d->Rf, d->W, L->O, L->I, d->k, d->r_previous, &wsi);    // re-project
}

static size_t msz(const void *p) { return p ? mem_size(p) : 0; }

void wasi_account(const LinearLayer *L, LinearAccount *acc) {
    const Wasi *d = L->state;
    memset(acc, 0, sizeof *acc);
    acc->bytes_weights = msz(d->p.params) + msz(d->f.params);
    acc->bytes_gradients = msz(d->p.grads);
    acc->bytes_optimizer = msz(d->p.opt_m) + msz(d->p.opt_v);
    // the scratch is shared by all wasi layers (see scratch above); the
    // SVD workspace of weight_update svd is this layer's
    acc->bytes_workspace = d->sw ? msz(d->sw) + msz(d->sw->a) + msz(d->sw->s) + msz(d->sw->u) + msz(d->sw->vt) +
                                       msz(d->sw->work) + msz(d->sw->iwork)
                                 : 0;
    acc->paper_weight_elems = (double)d->k * (L->O + L->I);
    acc->weight_rank = d->k;
    if (!L->trainable) return;
    if (d->act_dense) {   // x as is: what vanilla saves
        acc->bytes_activations = linear_saved_input_bytes(L, d->x);
        acc->paper_act_elems = (double)L->rows * L->I;
        return;
    }
    acc->bytes_activations = act_store_bytes(&d->act);
    acc->paper_act_elems = act_store_numel(&d->act);
    acc->act_ndim = act_store_ranks(&d->act, acc->act_ranks);
}

void wasi_export(const LinearLayer *L, float *W, float *b) {
    const Wasi *d = L->state;
    gemm(0, 0, L->O, L->I, d->k, 1.0f, d->Lf, d->k, d->Rf, L->I, 0.0f, W, L->I);  // L R
    linear_export_bias(L, d->b, b);
}

void wasi_free(LinearLayer *L) {
    Wasi *d = L->state;
    if (!d) return;
    params_free(&d->p);
    params_free(&d->f);
    if (L->trainable && !d->act_dense) act_store_free(&d->act);
    linear_saved_input_free(L, d->x);
    if (d->sw) { svd_work_free(d->sw); mem_free(d->sw); }
    scratch_release();
    mem_free(d);
    L->state = NULL;
}

const char *wasi_storage(const LinearLayer *L) {
    const Wasi *d = L->state;
    return d->factored ? "factored" : "dense";
}

int wasi_weight_rank(const LinearLayer *L) { return ((const Wasi *)L->state)->k; }

void wasi_factors(const LinearLayer *L, const float **Lf, const float **Rf) {
    const Wasi *d = L->state;
    *Lf = d->Lf;
    *Rf = d->Rf;
}

void wasi_weight_grad(const LinearLayer *L, float *dW) {
    const Wasi *d = L->state;
    CHECK(L->trainable, "%s: frozen layer has no gradient", L->name);
    if (!d->factored) {
        memcpy(dW, params_grad(&d->p, "weight"), sizeof(float) * (size_t)L->O * L->I);
        return;
    }
    int kl;
    const float *U = act_store_channel_factor(&d->act, &kl);
    gemm(0, 1, L->O, L->I, kl, 1.0f, d->gT, kl, U, kl, 0.0f, dW, L->I);  // G = T U^T
}

static void wasi_paper_elems(int O, const int *dims, int nd, const MethodConfig *mc, const LayerRanks *lr, double *act_elems,
                             double *weight_elems) {
    const int I = dims[nd - 1];
    *act_elems = act_tucker_paper_elems("wasi", dims, nd, mc, lr);
    if (!lr) { *weight_elems = NAN; return; }   // k comes from the SVD of the pretrained W
    CHECK(lr->weight_rank >= 1, "wasi: the closed form needs the weight rank k of every layer");
    *weight_elems = (double)wb_min(lr->weight_rank, wb_min(O, I)) * (O + I);
}

// Weight elements at epsilon for every calibrated layer, from the singular
// values of the layers' dense weights (spectra computed once).
static double weight_elems_at(const RankCalib *rc, float *const *sigma, float eps) {
    double total = 0;
    for (int i = 0; i < rc->n_layers; i++) {
        const LinearLayer *L = rc->lin[i];
        total += (double)svd_energy_rank(sigma[i], wb_min(L->O, L->I), eps) * (L->O + L->I);
    }
    return total;
}

// The largest epsilon (<= the configured one, on a 0.01 grid) whose weights
// plus the minimum activation memory fit; the activations get the rest.
static int64_t wasi_budget_act_elems(MethodConfig *mc, const BudgetFit *f, const RankCalib *rc) {
    double budget = f->budget_mb * 1048576.0 / 4.0, MB = 4.0 / 1048576.0;   // elements
    float **sigma = mem_alloc(sizeof(float *) * (size_t)rc->n_layers, MEM_WORKSPACE);
    for (int i = 0; i < rc->n_layers; i++) {
        const LinearLayer *L = rc->lin[i];
        float *W = mem_alloc_floats((size_t)L->O * L->I, MEM_WORKSPACE), *b = mem_alloc_floats((size_t)L->O, MEM_WORKSPACE);
        L->method->export_dense(L, W, b);
        SvdWork sw;
        svd_work_init(&sw, L->O, L->I);
        svd_compute(&sw, W);
        int n = wb_min(L->O, L->I);
        sigma[i] = mem_alloc_floats((size_t)n, MEM_WORKSPACE);
        memcpy(sigma[i], sw.s, sizeof(float) * (size_t)n);
        svd_work_free(&sw);
        mem_free(W); mem_free(b);
    }
    float eps = mc->epsilon;
    double w = weight_elems_at(rc, sigma, eps);
    while (eps > 0.015f && w + (double)rc->min_budget > budget) {
        eps -= 0.01f;
        w = weight_elems_at(rc, sigma, eps);
    }
    if (w + (double)rc->min_budget > budget && f->log)
        fprintf(f->log, "  warning: %s: budget %.3f MB is below wasi's smallest setting (%.3f MB)\n", f->run, f->budget_mb,
                (w + (double)rc->min_budget) * MB);
    for (int i = 0; i < rc->n_layers; i++) mem_free(sigma[i]);
    mem_free(sigma);
    mc->epsilon = eps;
    double act = budget - w;
    if (f->log) fprintf(f->log, "  %s: budget %.3f MB -> wasi epsilon %.2f (weights %.3f MB), activations %.3f MB\n", f->run,
                        f->budget_mb, (double)eps, w * MB, (act > 0 ? act : 0) * MB);
    return act > 1 ? (int64_t)act : 1;
}

// Factored storage keeps no dense W to hold optimizer state for: plain SGD only.
int wasi_check(const MethodConfig *mc, const OptimConfig *oc, const char **key, char *msg, size_t cap) {
    if (mc->factored && mc->weight_update_svd) {   // the SVD needs the dense W' (O,I) the factored storage never forms
        *key = "weight_update";
        snprintf(msg, cap, "weight_update svd takes the SVD of the dense weight, which storage factored does not keep; "
                 "use storage: dense (or weight_update: iteration)");
        return -1;
    }
    if (!mc->factored || optim_state_buffers(oc) == 0) return 0;
    char why[96];
    if (oc->kind != OPT_SGD) snprintf(why, sizeof why, "training.optimizer is adamw");
    else if (oc->nesterov) snprintf(why, sizeof why, "training.nesterov is true");
    else snprintf(why, sizeof why, "training.momentum is %g", (double)oc->momentum);
    *key = "storage";
    snprintf(msg, cap, "factored wasi trains with plain SGD only (optimizer sgd, momentum 0, no nesterov; "
             "weight decay is fine), but %s; use storage: dense", why);
    return -1;
}

static const char *const storage_names[] = {"dense", "factored"};
const char *const wasi_rupdate_names[] = {"current", "previous"};
const char *const wasi_wupdate_names[] = {"iteration", "svd"};
static const MethodKey wasi_keys[] = {
    WASI_KEY_EPSILON,
    {.key = "storage", .type = MKEY_ENUM, .field = offsetof(MethodConfig, factored), .names = storage_names, .n_names = 2,
     .help = "dense keeps the master W and its optimizer state; factored keeps only L, R (plain SGD)"},
    WASI_KEY_R_UPDATE,
    WASI_KEY_WEIGHT_UPDATE,
    {.key = "activation", .type = MKEY_ACT, .nested = 1, .act_epsilon = 1,
     .help = "activation ranks: {ranks: [k1, k2, k3]}, {epsilon: x} per mode, or {budget_mb, candidates} for the DP (default)"},
};

const LinearMethod method_wasi = {
    .name = "wasi",
    .help = "weight-activation subspace iteration (ICLR 2026): W kept at rank k as L R, x saved as in asi",
    .keys = wasi_keys, .n_keys = 5,
    .epsilon_means = "energy of W's singular values kept: the weight rank k, fixed after the first step "
                     "(with budget_mb: the largest epsilon that fits, at most this one)",
    .ranks_means = "k, the weight rank (from epsilon); k1..k4, the activation ranks (as asi, or per-mode energy)",
    .flags = METHOD_ACT_TUCKER | METHOD_WEIGHT_LOWRANK | METHOD_CALIBRATES,
    .paper_elems = wasi_paper_elems,
    .budget_act_elems = wasi_budget_act_elems,
    .check = wasi_check,
    .init = wasi_init, .forward = wasi_forward, .backward = wasi_backward, .param_sets = wasi_param_sets,
    .update = wasi_update, .account = wasi_account, .export_dense = wasi_export, .free = wasi_free,
};
