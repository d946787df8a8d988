// lora.c: LoRA adapters on a frozen dense linear (see lora.h).
// FLOPs per forward: 2 rows I O + rows O (bias; none with no_bias) + 2 rows I r (u) + 2 rows r O
// (u B^T, scaled inside the gemm); backward: 2 rows O I (dy W) + 2 O r rows
// (dB) + 2 rows r O (du) + 2 r I rows (dA) + 2 rows r I (du A).
#include "baselines/lora.h"
#include "core/linalg/blas.h"
#include "core/runtime/common.h"
#include "core/nn/layers.h"
#include "core/runtime/memory.h"
#include "core/runtime/rng.h"

#include <math.h>
#include <stddef.h>
#include <string.h>

typedef struct {
    ParamSet frozen;  // "weight" (O,I), "bias" (O) (absent with no_bias; b NULL)
    ParamSet ad;      // "lora_A" (r,I), "lora_B" (O,r), trainable
    float *w, *b, *A, *B;
    int r;
    float s;          // alpha / r
    float *x, *u;     // (max_rows,I), (max_rows,r) saved, category activations
    float *du;        // (max_rows,r) backward scratch, category workspace
    int saved;
} Lora;

static uint64_t name_hash(const char *s) {   // FNV-1a
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

void lora_adapter_init(ParamSet *ad, int trainable, int r, int I, int O, uint64_t seed, const char *layer_name) {
    params_init(ad, trainable);
    params_declare(ad, "lora_A", 2, (int[]){r, I});
    params_declare(ad, "lora_B", 2, (int[]){O, r});
    params_alloc(ad);   // B = 0 from the allocator
    Rng rng;
    rng_seed(&rng, seed ^ name_hash(layer_name));
    rng_fill_normal(&rng, params_get(ad, "lora_A"), (long)r * I, 0.0f, (float)(1.0 / sqrt((double)r)));
}

void lora_adapter_forward(int R, int I, int O, int r, float s, const float *x, const float *A, const float *B, float *u,
                          float *out) {
    gemm(0, 1, R, r, I, 1.0f, x, I, A, I, 0.0f, u, r);       // u = x A^T
    gemm(0, 1, R, O, r, s, u, r, B, r, 1.0f, out, O);        // y += s u B^T
}

void lora_adapter_backward(int R, int I, int O, int r, float s, const float *dy, const float *x, const float *u, const float *A,
                           const float *B, float *du, float *dA, float *dB, float *dx) {
    if (dB) gemm(1, 0, O, r, R, s, dy, O, u, r, 1.0f, dB, r);      // dB += s dy^T u
    gemm(0, 0, R, r, O, s, dy, O, B, r, 0.0f, du, r);              // du = s dy B
    if (dA) gemm(1, 0, r, I, R, 1.0f, du, r, x, I, 1.0f, dA, I);   // dA += du^T x
    if (dx) gemm(0, 0, R, I, r, 1.0f, du, r, A, I, 1.0f, dx, I);   // dx += du A
}

static void lora_init(LinearLayer *L, const float *W, const float *b, const MethodConfig *cfg) {
    CHECK(L->max_rows > 0, "%s: max_rows not set before init", L->name);
    linear_check_bias(L, b);
    int r = cfg->lora_rank;
    CHECK(r >= 1 && r <= L->O && r <= L->I, "%s: LoRA rank r=%d outside [1, min(O=%d, I=%d)]", L->name, r, L->O, L->I);
    Lora *d = mem_alloc(sizeof(Lora), MEM_WORKSPACE);
    d->r = r;
    d->s = cfg->lora_alpha / (float)r;
    params_init(&d->frozen, 0);
    params_declare(&d->frozen, "weight", 2, (int[]){L->O, L->I});
    if (!L->no_bias) params_declare(&d->frozen, "bias", 1, (int[]){L->O});
    params_alloc(&d->frozen);
    lora_adapter_init(&d->ad, L->trainable, r, L->I, L->O, cfg->seed, L->name);
    d->w = params_get(&d->frozen, "weight");
    d->b = L->no_bias ? NULL : params_get(&d->frozen, "bias");   // NULL: linear_forward adds none
    d->A = params_get(&d->ad, "lora_A");
    d->B = params_get(&d->ad, "lora_B");
    memcpy(d->w, W, sizeof(float) * (size_t)L->O * L->I);
    if (d->b) memcpy(d->b, b, sizeof(float) * (size_t)L->O);
    if (L->trainable) {
        d->x = linear_saved_input_alloc(L);
        d->u = mem_alloc_floats((size_t)L->max_rows * r, MEM_ACTIVATIONS);
    }
    d->du = mem_alloc_floats((size_t)L->max_rows * r, MEM_WORKSPACE);
    L->state = d;
}

// inp (rows,I) -> out (rows,O); u (rows,r) = x A^T kept for backward.
static void lora_forward(LinearLayer *L, float *out, const float *inp, const int *dims, int ndim, int training) {
    Lora *d = L->state;
    linear_layer_set_dims(L, dims, ndim);
    CHECK(L->rows <= L->max_rows, "%s: %ld rows > max_rows %ld", L->name, L->rows, L->max_rows);
    const int R = (int)L->rows, I = L->I, O = L->O, r = d->r;
    d->saved = training && L->trainable;
    linear_forward(out, inp, d->w, d->b, R, I, O);
    float *u = d->saved ? d->u : d->du;   // not saving: the scratch holds u
    lora_adapter_forward(R, I, O, r, d->s, inp, d->A, d->B, u, out);
    if (d->saved) memcpy(d->x, inp, sizeof(float) * (size_t)R * I);
}

static void lora_backward(LinearLayer *L, float *dinp, const float *dout) {
    Lora *d = L->state;
    const int R = (int)L->rows, I = L->I, O = L->O, r = d->r;
    if (L->trainable) CHECK(d->saved, "%s: backward without a training forward", L->name);
    if (dinp) gemm(0, 0, R, I, O, 1.0f, dout, O, d->w, I, 1.0f, dinp, I);   // dx += dy W
    lora_adapter_backward(R, I, O, r, d->s, dout, d->x, d->u, d->A, d->B, d->du, L->trainable ? params_grad(&d->ad, "lora_A") : NULL,
                          L->trainable ? params_grad(&d->ad, "lora_B") : NULL, dinp);
}

static int lora_param_sets(LinearLayer *L, ParamSet **out) {
    Lora *d = L->state;
    if (!L->trainable) return 0;
    out[0] = &d->ad;
    return 1;
}

static void lora_update(LinearLayer *L, const OptimConfig *oc, float lr) {
    Lora *d = L->state;
    if (L->trainable) optim_step(oc, &d->ad, lr);
}

static void lora_account(const LinearLayer *L, LinearAccount *acc) {
    const Lora *d = L->state;
    memset(acc, 0, sizeof *acc);
    acc->bytes_weights = mem_size(d->frozen.params) + mem_size(d->ad.params);
    acc->bytes_gradients = d->ad.grads ? mem_size(d->ad.grads) : 0;
    acc->bytes_optimizer = (d->ad.opt_m ? mem_size(d->ad.opt_m) : 0) + (d->ad.opt_v ? mem_size(d->ad.opt_v) : 0);
    acc->bytes_activations = linear_saved_input_bytes(L, d->x) + (d->u ? mem_size(d->u) : 0);
    acc->bytes_workspace = mem_size(d->du);
    acc->paper_act_elems = L->trainable ? (double)L->rows * (L->I + d->r) : 0;
    acc->paper_weight_elems = (double)L->O * L->I + (double)d->r * (L->O + L->I);
    acc->weight_rank = d->r;
}

static void lora_export(const LinearLayer *L, float *W, float *b) {
    const Lora *d = L->state;
    memcpy(W, d->w, sizeof(float) * (size_t)L->O * L->I);
    gemm(0, 0, L->O, L->I, d->r, d->s, d->B, d->r, d->A, L->I, 1.0f, W, L->I);  // W + s B A
    linear_export_bias(L, d->b, b);
}

static void lora_free(LinearLayer *L) {
    Lora *d = L->state;
    if (!d) return;
    params_free(&d->frozen);
    params_free(&d->ad);
    linear_saved_input_free(L, d->x); mem_free(d->u); mem_free(d->du);
    mem_free(d);
    L->state = NULL;
}

static void lora_paper_elems(int O, const int *dims, int nd, const MethodConfig *mc, const LayerRanks *lr,
                             double *act_elems, double *weight_elems) {
    (void)lr;
    const int I = dims[nd - 1], r = mc->lora_rank;
    double rows = 1;
    for (int n = 0; n < nd - 1; n++) rows *= dims[n];
    *act_elems = rows * (I + r);
    *weight_elems = (double)O * I + (double)r * (O + I);
}

// The largest rank whose closed-form measure fits (it grows with r); rank 1
// with a warning when even that does not.
static void lora_fit_budget(MethodConfig *mc, const BudgetFit *f) {
    int best = 1;
    double used = 0;
    for (int r = 1; r <= f->max_rank; r++) {
        mc->lora_rank = r;
        double total = f->paper_mb(mc, f->ctx);
        if (total > f->budget_mb) {
            if (r == 1 && f->log) fprintf(f->log, "  warning: %s: budget %.3f MB is below lora at rank 1 (%.3f MB); using rank 1\n",
                                          f->run, f->budget_mb, total);
            if (r == 1) used = total;
            break;
        }
        best = r;
        used = total;
    }
    mc->lora_rank = best;
    if (f->log) fprintf(f->log, "  %s: budget %.3f MB -> lora rank %d (%.3f MB)\n", f->run, f->budget_mb, best, used);
}

static const MethodKey lora_keys[] = {
    {.key = "rank", .type = MKEY_INT, .field = offsetof(MethodConfig, lora_rank), .lo = 1, .hi = 65536, .required = 1,
     .help = "r, the adapters' rank (with budget_mb: the largest r that fits)"},
    {.key = "alpha", .type = MKEY_NUM, .field = offsetof(MethodConfig, lora_alpha), .lo = 0, .hi = INFINITY, .lo_open = 1,
     .default_key = "rank", .help = "scale alpha / r of the adapter path (default: rank, a scale of 1)"},
};

const LinearMethod method_lora = {
    .name = "lora",
    .help = "LoRA: W, b frozen, y += (alpha/r) (x A^T) B^T with A (r,I), B (O,r) trained; x and x A^T saved",
    .keys = lora_keys, .n_keys = 2,
    .ranks_means = "r (key rank): the adapters' rank",
    .flags = METHOD_ADAPTER,
    .paper_elems = lora_paper_elems,
    .fit_budget = lora_fit_budget,
    .init = lora_init, .forward = lora_forward, .backward = lora_backward, .param_sets = lora_param_sets,
    .update = lora_update, .account = lora_account, .export_dense = lora_export, .free = lora_free,
};
