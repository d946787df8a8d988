// svdllm_lora.c: SVD-LLM whitening and truncation, then LoRA on top (see
// svdllm_lora.h).
#include "baselines/svdllm_lora.h"
#include "baselines/lora.h"
#include "core/linalg/blas.h"
#include "core/linalg/linalg.h"
#include "core/nn/layers.h"
#include "core/runtime/common.h"
#include "core/runtime/counters.h"
#include "core/runtime/memory.h"

#include <cblas.h>
#include <lapacke.h>
#undef I   // complex.h's, pulled in by lapacke.h: I is our input width
#include <math.h>
#include <stddef.h>
#include <string.h>

typedef struct {
    ParamSet frozen;   // "trunc_A" (K,I) = V_K^T S^-1, "trunc_B" (O,K) = U_K Sigma_K, "bias" (O) (not with no_bias); set by calib_end
    ParamSet ad;       // "lora_A" (r,I), "lora_B" (O,r), trainable
    float *At, *Bt, *b, *A, *B;
    int K, r;
    float s;           // alpha / r
    float epsilon;     // truncation energy (when trunc_rank is 0)
    int trunc_rank;
    float *x, *u;      // (max_rows,I), (max_rows,r) saved, category activations
    float *z;          // (max_rows,K) scratch: x A_t^T forward, dy B_t backward
    float *du;         // (max_rows,r) scratch
    int saved;
    // until calib_end: the pretrained W and b (NULL with no_bias), the Gram of the inputs seen
    int calibrating;
    float *W, *b0, *G;
    double rows_seen;
    double ridge;
    float *sigma;      // (min(O,I)) whitened spectrum
} SvdLora;

static void svdllm_init(LinearLayer *L, const float *W, const float *b, const MethodConfig *cfg) {
    CHECK(L->max_rows > 0, "%s: max_rows not set before init", L->name);
    const int r = cfg->lora_rank, I = L->I, O = L->O;
    CHECK(r >= 1 && r <= O && r <= I, "%s: LoRA rank r=%d outside [1, min(O=%d, I=%d)]", L->name, r, O, I);
    CHECK(cfg->trunc_rank >= 0, "%s: truncation_rank %d < 0", L->name, cfg->trunc_rank);
    linear_check_bias(L, b);
    SvdLora *d = mem_alloc(sizeof(SvdLora), MEM_WORKSPACE);
    memset(d, 0, sizeof *d);
    d->r = r;
    d->s = cfg->lora_alpha / (float)r;
    d->epsilon = cfg->epsilon;
    d->trunc_rank = cfg->trunc_rank;
    lora_adapter_init(&d->ad, L->trainable, r, I, O, cfg->seed, L->name);
    d->A = params_get(&d->ad, "lora_A");
    d->B = params_get(&d->ad, "lora_B");
    d->calibrating = 1;
    d->W = mem_alloc_floats((size_t)O * I, MEM_WEIGHTS);
    d->G = mem_alloc_floats((size_t)I * I, MEM_WORKSPACE);   // zero from the allocator
    memcpy(d->W, W, sizeof(float) * (size_t)O * I);
    if (!L->no_bias) {
        d->b0 = mem_alloc_floats((size_t)O, MEM_WEIGHTS);
        memcpy(d->b0, b, sizeof(float) * (size_t)O);
    }
    if (L->trainable) {
        d->x = linear_saved_input_alloc(L);
        d->u = mem_alloc_floats((size_t)L->max_rows * r, MEM_ACTIVATIONS);
    }
    d->du = mem_alloc_floats((size_t)L->max_rows * r, MEM_WORKSPACE);
    L->state = d;
}

// S (I,I) row-major = the transpose of G's lower Cholesky factor (G = S^T^T S^T):
// LAPACK's column-major lower factor is the row-major upper triangle. The
// strictly lower part is zeroed. Adds a ridge while G is not positive definite.
static void cholesky_upper(SvdLora *d, const LinearLayer *L, float *S) {
    const int I = L->I;
    double mean_diag = 0;
    for (int i = 0; i < I; i++) mean_diag += (double)d->G[(size_t)i * I + i];
    mean_diag = mean_diag > 0 ? mean_diag / I : 1.0;
    d->ridge = 0;
    for (int attempt = 0;; attempt++) {
        memcpy(S, d->G, sizeof(float) * (size_t)I * I);
        if (d->ridge > 0)
            for (int i = 0; i < I; i++) S[(size_t)i * I + i] += (float)d->ridge;
        int serial = lapack_serial_begin();
        int info = LAPACKE_spotrf_work(LAPACK_COL_MAJOR, 'L', I, S, I);
        lapack_serial_end(serial);
        flops_add((double)I * I * I / 3.0);
        if (info == 0) break;
        CHECK(info > 0, "%s: spotrf argument %d invalid", L->name, -info);
        CHECK(attempt < 8, "%s: the calibration Gram is not positive definite even with a ridge of %.3g (inputs all zero or not finite?)",
              L->name, d->ridge);
        d->ridge = d->ridge > 0 ? d->ridge * 10 : 1e-6 * mean_diag;
    }
    for (int i = 1; i < I; i++) memset(S + (size_t)i * I, 0, sizeof(float) * (size_t)i);
}

static void svdllm_calib_end(LinearLayer *L) {
    SvdLora *d = L->state;
    if (!d->calibrating) return;
    CHECK(d->rows_seen > 0, "%s: svdllm_lora calibration saw no input (calib_batches forwards before calib_end)", L->name);
    const int I = L->I, O = L->O, mn = wb_min(O, I);
    float *S = mem_alloc_floats((size_t)I * I, MEM_WORKSPACE), *WS = mem_alloc_floats((size_t)O * I, MEM_WORKSPACE);
    cholesky_upper(d, L, S);
    gemm(0, 1, O, I, I, 1.0f, d->W, I, S, I, 0.0f, WS, I);   // W S, S = (row-major S)^T
    SvdWork sw;
    svd_work_init(&sw, O, I);
    svd_compute(&sw, WS);
    const int K = d->K = d->trunc_rank > 0 ? wb_min(d->trunc_rank, mn) : svd_energy_rank(sw.s, mn, d->epsilon);
    d->sigma = mem_alloc_floats((size_t)mn, MEM_WORKSPACE);
    memcpy(d->sigma, sw.s, sizeof(float) * (size_t)mn);
    params_init(&d->frozen, 0);
    params_declare(&d->frozen, "trunc_A", 2, (int[]){K, I});
    params_declare(&d->frozen, "trunc_B", 2, (int[]){O, K});
    if (!L->no_bias) params_declare(&d->frozen, "bias", 1, (int[]){O});
    params_alloc(&d->frozen);
    d->At = params_get(&d->frozen, "trunc_A");
    d->Bt = params_get(&d->frozen, "trunc_B");
    if (!L->no_bias) {
        d->b = params_get(&d->frozen, "bias");
        memcpy(d->b, d->b0, sizeof(float) * (size_t)O);
    }
    for (int o = 0; o < O; o++)
        for (int j = 0; j < K; j++) d->Bt[(size_t)o * K + j] = sw.u[(size_t)o * mn + j] * sw.s[j];   // U_K Sigma_K
    memcpy(d->At, sw.vt, sizeof(float) * (size_t)K * I);
    // A_t S = V_K^T with S = (row-major S)^T: a triangular solve from the right
    cblas_strsm(CblasRowMajor, CblasRight, CblasUpper, CblasTrans, CblasNonUnit, K, I, 1.0f, S, I, d->At, I);
    flops_add((double)K * I * I);
    svd_work_free(&sw);
    mem_free(S); mem_free(WS);
    mem_free(d->W); mem_free(d->b0); mem_free(d->G);
    d->W = d->b0 = d->G = NULL;
    d->z = mem_alloc_floats((size_t)L->max_rows * K, MEM_WORKSPACE);
    d->calibrating = 0;
}

static void svdllm_forward(LinearLayer *L, float *out, const float *inp, const int *dims, int ndim, int training) {
    SvdLora *d = L->state;
    linear_layer_set_dims(L, dims, ndim);
    CHECK(L->rows <= L->max_rows, "%s: %ld rows > max_rows %ld", L->name, L->rows, L->max_rows);
    const int R = (int)L->rows, I = L->I, O = L->O, r = d->r;
    if (d->calibrating) {
        gemm(1, 0, I, I, R, 1.0f, inp, I, inp, I, 1.0f, d->G, I);   // G += x^T x
        d->rows_seen += R;
        if (!training) {   // a calibration forward: the pretrained layer
            linear_forward(out, inp, d->W, d->b0, R, I, O);
            return;
        }
        svdllm_calib_end(L);   // training without the runner's calibration: this batch calibrates
    }
    d->saved = training && L->trainable;
    const int K = d->K;
    gemm(0, 1, R, K, I, 1.0f, inp, I, d->At, I, 0.0f, d->z, K);    // z = x A_t^T
    linear_forward(out, d->z, d->Bt, d->b, R, K, O);               // y = z B_t^T + b
    lora_adapter_forward(R, I, O, r, d->s, inp, d->A, d->B, d->saved ? d->u : d->du, out);
    if (d->saved) memcpy(d->x, inp, sizeof(float) * (size_t)R * I);
}

static void svdllm_backward(LinearLayer *L, float *dinp, const float *dout) {
    SvdLora *d = L->state;
    CHECK(!d->calibrating, "%s: backward before calibration", L->name);
    const int R = (int)L->rows, I = L->I, O = L->O, r = d->r, K = d->K;
    if (L->trainable) CHECK(d->saved, "%s: backward without a training forward", L->name);
    if (dinp) {
        gemm(0, 0, R, K, O, 1.0f, dout, O, d->Bt, K, 0.0f, d->z, K);        // dz = dy B_t
        gemm(0, 0, R, I, K, 1.0f, d->z, K, d->At, I, 1.0f, dinp, I);        // dx += dz A_t
    }
    lora_adapter_backward(R, I, O, r, d->s, dout, d->x, d->u, d->A, d->B, d->du, L->trainable ? params_grad(&d->ad, "lora_A") : NULL,
                          L->trainable ? params_grad(&d->ad, "lora_B") : NULL, dinp);
}

static int svdllm_param_sets(LinearLayer *L, ParamSet **out) {
    SvdLora *d = L->state;
    if (!L->trainable) return 0;
    out[0] = &d->ad;
    return 1;
}

static void svdllm_update(LinearLayer *L, const OptimConfig *oc, float lr) {
    SvdLora *d = L->state;
    if (L->trainable) optim_step(oc, &d->ad, lr);
}

static void svdllm_account(const LinearLayer *L, LinearAccount *acc) {
    const SvdLora *d = L->state;
    memset(acc, 0, sizeof *acc);
    acc->bytes_weights = mem_size(d->ad.params) +
                         (d->calibrating ? mem_size(d->W) + (d->b0 ? mem_size(d->b0) : 0) : mem_size(d->frozen.params));
    acc->bytes_gradients = d->ad.grads ? mem_size(d->ad.grads) : 0;
    acc->bytes_optimizer = (d->ad.opt_m ? mem_size(d->ad.opt_m) : 0) + (d->ad.opt_v ? mem_size(d->ad.opt_v) : 0);
    acc->bytes_activations = linear_saved_input_bytes(L, d->x) + (d->u ? mem_size(d->u) : 0);
    acc->bytes_workspace = mem_size(d->du) + (d->z ? mem_size(d->z) : 0) + (d->G ? mem_size(d->G) : 0) + (d->sigma ? mem_size(d->sigma) : 0);
    const int K = d->calibrating ? wb_min(L->O, L->I) : d->K;
    acc->paper_act_elems = L->trainable ? (double)L->rows * (L->I + K + d->r) : 0;
    acc->paper_weight_elems = (double)K * (L->O + L->I) + (double)d->r * (L->O + L->I);
    acc->weight_rank = K;
}

// The truncated product B_t A_t (O,I): what the subspace log follows.
static void svdllm_subspace_weight(const LinearLayer *L, float *W) {
    const SvdLora *d = L->state;
    if (d->calibrating) { memcpy(W, d->W, sizeof(float) * (size_t)L->O * L->I); return; }
    gemm(0, 0, L->O, L->I, d->K, 1.0f, d->Bt, d->K, d->At, L->I, 0.0f, W, L->I);
}

static void svdllm_export(const LinearLayer *L, float *W, float *b) {
    const SvdLora *d = L->state;
    svdllm_subspace_weight(L, W);
    gemm(0, 0, L->O, L->I, d->r, d->s, d->B, d->r, d->A, L->I, 1.0f, W, L->I);   // + s B A
    linear_export_bias(L, d->calibrating ? d->b0 : d->b, b);
}

static void svdllm_free(LinearLayer *L) {
    SvdLora *d = L->state;
    if (!d) return;
    if (!d->calibrating) params_free(&d->frozen);
    params_free(&d->ad);
    linear_saved_input_free(L, d->x); mem_free(d->u); mem_free(d->z); mem_free(d->du);
    mem_free(d->W); mem_free(d->b0); mem_free(d->G); mem_free(d->sigma);
    mem_free(d);
    L->state = NULL;
}

static void svdllm_paper_elems(int O, const int *dims, int nd, const MethodConfig *mc, const LayerRanks *lr,
                               double *act_elems, double *weight_elems) {
    const int I = dims[nd - 1], r = mc->lora_rank;
    double rows = 1;
    for (int n = 0; n < nd - 1; n++) rows *= dims[n];
    int K = mc->trunc_rank > 0 ? wb_min(mc->trunc_rank, wb_min(O, I)) : (lr && lr->weight_rank > 0 ? lr->weight_rank : 0);
    if (!K) { *act_elems = *weight_elems = NAN; return; }   // K from the calibration data
    *act_elems = rows * (I + K + r);
    *weight_elems = (double)K * (O + I) + (double)r * (O + I);
}

double svdllm_ridge(const LinearLayer *L) { return ((const SvdLora *)L->state)->ridge; }
int svdllm_rank(const LinearLayer *L) { return ((const SvdLora *)L->state)->K; }
void svdllm_factors(const LinearLayer *L, const float **Bt, const float **At) {
    const SvdLora *d = L->state;
    *Bt = d->Bt;
    *At = d->At;
}
const float *svdllm_sigma(const LinearLayer *L) { return ((const SvdLora *)L->state)->sigma; }

static const MethodKey svdllm_keys[] = {
    {.key = "epsilon", .type = MKEY_NUM, .field = offsetof(MethodConfig, epsilon), .lo = 0, .hi = 1, .lo_open = 1, .def = 0.9,
     .help = "energy of the whitened spectrum (SVD of W S) the truncation keeps: sets K (unless truncation_rank)"},
    {.key = "truncation_rank", .type = MKEY_INT, .field = offsetof(MethodConfig, trunc_rank), .lo = 0, .hi = 65536, .def = 0,
     .help = "K, the rank of the truncated factors (0: from epsilon)"},
    {.key = "rank", .type = MKEY_INT, .field = offsetof(MethodConfig, lora_rank), .lo = 1, .hi = 65536, .required = 1,
     .help = "r, the LoRA adapters' rank (trained on the frozen factors)"},
    {.key = "alpha", .type = MKEY_NUM, .field = offsetof(MethodConfig, lora_alpha), .lo = 0, .hi = INFINITY, .lo_open = 1,
     .default_key = "rank", .help = "scale alpha / r of the adapter path (default: rank, a scale of 1)"},
    {.key = "calib_batches", .type = MKEY_INT, .field = offsetof(MethodConfig, calib_batches), .lo = 1, .hi = 100000, .def = 8,
     .help = "training batches whose inputs whiten the truncation (X^T X per layer), before training"},
};

const LinearMethod method_svdllm_lora = {
    .name = "svdllm_lora",
    .help = "SVD-LLM + LoRA: W truncated to rank K after data whitening (Cholesky of X^T X on calibration batches), "
            "frozen as two linears, LoRA (rank r) trained on top",
    .keys = svdllm_keys, .n_keys = 5,
    .epsilon_means = "energy of the whitened spectrum kept: the truncation rank K, fixed at calibration",
    .ranks_means = "K, the truncation rank (from epsilon or truncation_rank); r, the LoRA rank (key rank)",
    .flags = METHOD_ADAPTER | METHOD_WEIGHT_LOWRANK | METHOD_DATA_CALIB,
    .paper_elems = svdllm_paper_elems,
    .init = svdllm_init, .forward = svdllm_forward, .backward = svdllm_backward, .param_sets = svdllm_param_sets,
    .update = svdllm_update, .account = svdllm_account, .export_dense = svdllm_export,
    .subspace_weight = svdllm_subspace_weight, .calib_end = svdllm_calib_end, .free = svdllm_free,
};
