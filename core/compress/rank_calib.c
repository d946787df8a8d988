// rank_calib.c: the probe linear and the calibration + DP of the activation
// rank selection (see rank_calib.h).
#include "core/compress/rank_calib.h"
#include "core/linalg/blas.h"
#include "core/runtime/common.h"
#include "core/models/model_params.h"
#include "core/compress/tucker.h"
#include "core/nn/layers.h"
#include "core/runtime/memory.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

// --- the probe: a dense linear that records x and dy ---------------------------

typedef struct {
    float *w, *b;    // (O,I), (O) category weights (b NULL with no_bias)
    float *x;        // (max_rows,I) saved input, category activations
    float *dy;       // (max_rows,O) the last backward's dout, category workspace
    int saved, has_dy;
} Probe;

static void probe_init(LinearLayer *L, const float *W, const float *b, const MethodConfig *cfg) {
    (void)cfg;
    CHECK(L->max_rows > 0, "%s: max_rows not set before init", L->name);
    linear_check_bias(L, b);
    Probe *p = mem_alloc(sizeof(Probe), MEM_WORKSPACE);
    p->w = mem_alloc_floats((size_t)L->O * L->I, MEM_WEIGHTS);
    memcpy(p->w, W, sizeof(float) * (size_t)L->O * L->I);
    if (!L->no_bias) {
        p->b = mem_alloc_floats((size_t)L->O, MEM_WEIGHTS);
        memcpy(p->b, b, sizeof(float) * (size_t)L->O);
    }
    if (L->trainable) {
        p->x = mem_alloc_floats((size_t)L->max_rows * L->I, MEM_ACTIVATIONS);
        p->dy = mem_alloc_floats((size_t)L->max_rows * L->O, MEM_WORKSPACE);
    }
    L->state = p;
}

static void probe_forward(LinearLayer *L, float *out, const float *inp, const int *dims, int ndim, int training) {
    Probe *p = L->state;
    linear_layer_set_dims(L, dims, ndim);
    CHECK(L->rows <= L->max_rows, "%s: %ld rows > max_rows %ld", L->name, L->rows, L->max_rows);
    linear_forward(out, inp, p->w, p->b, (int)L->rows, L->I, L->O);
    p->saved = training && L->trainable;
    p->has_dy = 0;
    if (p->saved) memcpy(p->x, inp, sizeof(float) * (size_t)L->rows * L->I);
}

static void probe_backward(LinearLayer *L, float *dinp, const float *dout) {
    Probe *p = L->state;
    linear_backward(dinp, NULL, NULL, dout, NULL, p->w, (int)L->rows, L->I, L->O);
    if (!L->trainable) return;
    CHECK(p->saved, "%s: backward without a training forward", L->name);
    memcpy(p->dy, dout, sizeof(float) * (size_t)L->rows * L->O);
    p->has_dy = 1;
}

static int probe_param_sets(LinearLayer *L, ParamSet **out) { (void)L; (void)out; return 0; }
static void probe_update(LinearLayer *L, const OptimConfig *oc, float lr) { (void)L; (void)oc; (void)lr; }

static void probe_account(const LinearLayer *L, LinearAccount *acc) {
    const Probe *p = L->state;
    memset(acc, 0, sizeof *acc);
    acc->bytes_weights = mem_size(p->w) + (p->b ? mem_size(p->b) : 0);
    acc->bytes_activations = p->x ? mem_size(p->x) : 0;
    acc->bytes_workspace = p->dy ? mem_size(p->dy) : 0;
    acc->paper_act_elems = L->trainable ? (double)L->rows * L->I : 0;
    acc->paper_weight_elems = (double)L->O * L->I;
}

static void probe_export(const LinearLayer *L, float *W, float *b) {
    const Probe *p = L->state;
    memcpy(W, p->w, sizeof(float) * (size_t)L->O * L->I);
    linear_export_bias(L, p->b, b);
}

static void probe_free(LinearLayer *L) {
    Probe *p = L->state;
    if (!p) return;
    mem_free(p->w); mem_free(p->b); mem_free(p->x); mem_free(p->dy);
    mem_free(p);
    L->state = NULL;
}

const LinearMethod rank_probe_method = {
    .name = "probe",
    .init = probe_init, .forward = probe_forward, .backward = probe_backward, .param_sets = probe_param_sets,
    .update = probe_update, .account = probe_account, .export_dense = probe_export, .free = probe_free,
};

const float *rank_probe_input(const LinearLayer *L) {
    CHECK(L->method == &rank_probe_method, "%s: rank_probe_input on a %s layer", L->name, L->method->name);
    const Probe *p = L->state;
    return p && p->saved ? p->x : NULL;
}

// --- calibration --------------------------------------------------------------------

static double frob_diff(const float *a, const float *b, size_t n) {
    double s = 0;
    for (size_t i = 0; i < n; i++) { double d = (double)a[i] - (double)b[i]; s += d * d; }
    return sqrt(s);
}

// The counted trainable linears of either model, forward order: their index
// among all linears into idx (may be NULL) and the layers into lin; returns how many.
static int counted_vit(ViT *m, int *idx, LinearLayer **lin) {
    int n = 0;
    for (int i = 0; i < m->cfg.depth * VIT_NLIN; i++) {
        LinearLayer *L = &m->lin[i];
        if (!vit_is_counted(m, i / VIT_NLIN, i % VIT_NLIN) || !L->trainable) continue;
        if (idx) { idx[n] = i; lin[n] = L; }
        n++;
    }
    return n;
}

static int counted_model(const Model *m, int *idx, LinearLayer **lin) {
    int n = 0;
    for (int i = 0; i < model_num_linears(m); i++) {
        LinearLayer *L = model_linear(m, i);
        if (model_linear_counted_index(m, i) < 0 || !L->trainable) continue;
        if (idx) { idx[n] = i; lin[n] = L; }
        n++;
    }
    return n;
}

// Allocates the table of n layers and checks the candidates and the probes.
static void calib_alloc(RankCalib *rc, int n, const float *cand, int n_cand) {
    CHECK(n_cand >= 1 && n_cand <= RC_MAX_CAND, "%d candidate epsilons (1..%d)", n_cand, RC_MAX_CAND);
    CHECK(n >= 1, "rank calibration: the model has no counted trainable linear");
    memset(rc, 0, sizeof *rc);
    rc->n_cand = n_cand;
    for (int j = 0; j < n_cand; j++) {
        CHECK(cand[j] > 0.0f && cand[j] <= 1.0f, "candidate epsilon %g outside (0, 1]", (double)cand[j]);
        rc->cand[j] = cand[j];
    }
    const int J = n_cand;
    rc->n_layers = n;
    rc->layer = mem_alloc(sizeof(int) * (size_t)n, MEM_WORKSPACE);
    rc->lin = mem_alloc(sizeof(LinearLayer *) * (size_t)n, MEM_WORKSPACE);
    rc->ranks = mem_alloc(sizeof(int) * (size_t)n * J * 4, MEM_WORKSPACE);
    rc->cost = mem_alloc(sizeof(int64_t) * (size_t)n * J, MEM_WORKSPACE);
    rc->err = mem_alloc(sizeof(double) * (size_t)n * J, MEM_WORKSPACE);
    rc->gnorm = mem_alloc(sizeof(double) * (size_t)n, MEM_WORKSPACE);
    rc->choice = mem_alloc(sizeof(int) * (size_t)n, MEM_WORKSPACE);
}

static void check_probes(const RankCalib *rc) {
    for (int l = 0; l < rc->n_layers; l++) {
        const LinearLayer *L = rc->lin[l];
        CHECK(L->method == &rank_probe_method, "%s: rank calibration needs the model built with rank_probe_method (has %s)",
              L->name, L->method->name);
    }
}

// After the training forward/backward: per layer and candidate, the
// truncated HOSVD of the recorded x, its size and the error of its dW.
static void calib_table(RankCalib *rc) {
    const int J = rc->n_cand;
    int dmax[HOSVD_MAX_MODES] = {0}, Omax = 0, nd = 0;
    size_t OImax = 0;
    for (int l = 0; l < rc->n_layers; l++) {
        const LinearLayer *L = rc->lin[l];
        CHECK(nd == 0 || nd == L->ndim, "%s: %d-mode activation among %d-mode ones", L->name, L->ndim, nd);
        nd = L->ndim;
        for (int d = 0; d < nd; d++) dmax[d] = wb_max(dmax[d], L->dims[d]);
        Omax = wb_max(Omax, L->O);
        if ((size_t)L->O * L->I > OImax) OImax = (size_t)L->O * L->I;
    }
    CHECK(nd >= 2 && nd <= HOSVD_MAX_MODES, "%d activation modes", nd);
    rc->nd = nd;
    HosvdWork w;
    hosvd_work_init(&w, nd, dmax, NULL, Omax, HOSVD_EXACT);
    float *dWx = mem_alloc_floats(OImax, MEM_WORKSPACE), *dWl = mem_alloc_floats(OImax, MEM_WORKSPACE);
    int ones[HOSVD_MAX_MODES] = {1, 1, 1, 1};
    for (int l = 0; l < rc->n_layers; l++) {
        LinearLayer *L = rc->lin[l];
        const Probe *p = L->state;
        CHECK(p->has_dy, "%s: the calibration backward did not reach this layer", L->name);
        const int O = L->O, I = L->I, R = (int)L->rows;
        size_t OI = (size_t)O * I;
        gemm(1, 0, O, I, R, 1.0f, p->dy, O, p->x, I, 0.0f, dWx, I);   // dW_exact = dy^T x
        double g2 = 0;
        for (size_t e = 0; e < OI; e++) g2 += (double)dWx[e] * (double)dWx[e];
        rc->gnorm[l] = sqrt(g2);
        Tucker t;
        tucker_init(&t, nd, L->dims, ones, 0);
        for (int j = 0; j < J; j++) {
            float eps[HOSVD_MAX_MODES];
            for (int d = 0; d < HOSVD_MAX_MODES; d++) eps[d] = rc->cand[j];
            hosvd_exact(&t, p->x, L->dims, eps, &w);
            memset(dWl, 0, OI * sizeof(float));
            tucker_dw(dWl, p->dy, O, &t, &w);
            rc->err[l * J + j] = frob_diff(dWl, dWx, OI);
            rc->cost[l * J + j] = (int64_t)tucker_numel(&t);
            int *rk = rc->ranks + ((size_t)l * J + j) * 4;
            for (int d = 0; d < 4; d++) rk[d] = d < nd ? t.ranks[d] : 0;
        }
        tucker_free(&t);
    }
    mem_free(dWx); mem_free(dWl);
    hosvd_work_free(&w);
    int64_t mins = 0;
    for (int l = 0; l < rc->n_layers; l++) {
        int64_t c = rc->cost[l * J];
        for (int j = 1; j < J; j++) if (rc->cost[l * J + j] < c) c = rc->cost[l * J + j];
        mins += c;
    }
    rc->min_budget = mins;
}

void rank_calib_measure_model(RankCalib *rc, Model *m, const float *img, const int *y, int B, const float *cand, int n_cand) {
    calib_alloc(rc, counted_model(m, NULL, NULL), cand, n_cand);
    counted_model(m, rc->layer, rc->lin);
    check_probes(rc);
    // One training step's x and dy of every counted layer.
    model_zero_grad(m);
    model_forward(m, img, y, B, 1);
    model_backward(m);
    model_zero_grad(m);
    calib_table(rc);
}

void rank_calib_measure(RankCalib *rc, ViT *m, const float *img, const int *y, int B, const float *cand, int n_cand) {
    calib_alloc(rc, counted_vit(m, NULL, NULL), cand, n_cand);
    counted_vit(m, rc->layer, rc->lin);
    check_probes(rc);
    mparams_zero_grad(vit_params(m));
    vit_forward(m, img, y, B, 1);
    vit_backward(m);
    mparams_zero_grad(vit_params(m));
    calib_table(rc);
}

RankSelection rank_calib_select(RankCalib *rc, int64_t budget, int nbins, FILE *log) {
    CHECK(rc->n_layers >= 1, "rank_calib_select before rank_calib_measure");
    int64_t asked = budget > 0 ? budget : 0;
    rc->sel = rank_select(rc->choice, rc->cost, rc->err, rc->n_layers, rc->n_cand, asked, nbins);
    if (budget > 0 && rc->sel.raised && log)
        fprintf(log, "warning: rank selection: activation budget %lld elements (%.3f MB) is below the minimum "
                        "%lld (%.3f MB); raised to the minimum\n",
                (long long)budget, (double)budget * 4.0 / 1048576.0, (long long)rc->sel.budget,
                (double)rc->sel.budget * 4.0 / 1048576.0);
    if (!log) return rc->sel;
    fprintf(log, "rank selection: %d layers, budget %lld elements (%.3f MB), used %lld, summed error %.6g\n", rc->n_layers,
           (long long)rc->sel.budget, (double)rc->sel.budget * 4.0 / 1048576.0, (long long)rc->sel.cost_sum,
           rc->sel.err_sum);
    for (int l = 0; l < rc->n_layers; l++) {
        const int *k = rank_calib_chosen(rc, l);
        int j = rc->choice[l];
        fprintf(log, "  layer %2d  eps %.2f  ranks", l, (double)rc->cand[j]);
        for (int d = 0; d < rc->nd; d++) fprintf(log, " %d", k[d]);
        fprintf(log, "  elements %lld  err %.4g (rel %.3g)\n", (long long)rc->cost[l * rc->n_cand + j],
               rc->err[l * rc->n_cand + j], rc->gnorm[l] > 0 ? rc->err[l * rc->n_cand + j] / rc->gnorm[l] : 0.0);
    }
    return rc->sel;
}

const int *rank_calib_chosen(const RankCalib *rc, int i) {
    CHECK(i >= 0 && i < rc->n_layers, "layer %d of %d", i, rc->n_layers);
    return rc->ranks + ((size_t)i * rc->n_cand + rc->choice[i]) * 4;
}

// Re-initialise every calibrated layer with method at its chosen ranks; B is
// the model's batch (the layers' buffers are sized for it, not the calibration's).
static void rebind_layers(const RankCalib *rc, int B, const LinearMethod *method, const MethodConfig *mcfg) {
    size_t OImax = 0;
    int Omax = 0;
    for (int l = 0; l < rc->n_layers; l++) {
        const LinearLayer *L = rc->lin[l];
        if ((size_t)L->O * L->I > OImax) OImax = (size_t)L->O * L->I;
        Omax = wb_max(Omax, L->O);
    }
    float *W = mem_alloc_floats(OImax, MEM_WORKSPACE), *b = mem_alloc_floats(Omax, MEM_WORKSPACE);
    for (int l = 0; l < rc->n_layers; l++) {
        LinearLayer *L = rc->lin[l];
        CHECK(L->method == &rank_probe_method, "%s: rebind of a layer that is not a probe", L->name);
        L->method->export_dense(L, W, b);
        L->method->free(L);
        // The method sizes its buffers from the largest activation: mode 0 is
        // the batch in both models, the other modes do not depend on it.
        L->dims[0] = B;
        long rows = 1;
        for (int d = 0; d < L->ndim - 1; d++) rows *= L->dims[d];
        CHECK(rows == L->max_rows, "%s: %ld rows at batch %d, max_rows %ld", L->name, rows, B, L->max_rows);
        L->rows = L->max_rows;
        MethodConfig c = *mcfg;
        const int *k = rank_calib_chosen(rc, l);
        for (int d = 0; d < 4; d++) c.act_ranks[d] = d < rc->nd ? k[d] : 0;
        L->method = method;
        method->init(L, W, b, &c);
    }
    mem_free(W); mem_free(b);
}

void rank_calib_rebind_model(Model *m, const RankCalib *rc, const LinearMethod *method, const MethodConfig *mcfg) {
    ModelBinding *bind = model_binding(m);
    rebind_layers(rc, model_batch(m), method, mcfg);
    bind->method = method;
    bind->mcfg = *mcfg;
}

void rank_calib_rebind(ViT *m, const RankCalib *rc, const LinearMethod *method, const MethodConfig *mcfg) {
    rebind_layers(rc, m->B, method, mcfg);
    m->bind.method = method;
    m->bind.mcfg = *mcfg;
}

void rank_calib_free(RankCalib *rc) {
    mem_free(rc->layer); mem_free(rc->lin); mem_free(rc->ranks); mem_free(rc->cost); mem_free(rc->err); mem_free(rc->gnorm);
    mem_free(rc->choice);
    memset(rc, 0, sizeof *rc);
}

int64_t rank_calib_mb_to_elems(double mb) { return (int64_t)(mb * 1048576.0 / 4.0); }
