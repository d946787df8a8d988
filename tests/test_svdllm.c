// test_svdllm.c: svdllm_lora (baselines/svdllm_lora.h).
//   0. the whitening against torch.linalg (tests/ref_svdllm.py);
//   1. the whitened truncation: ||(W - B_t A_t) X^T||_F^2 equals the sum of
//      the dropped whitened sigma_i^2 (SVD-LLM's theorem), and is below the
//      error of the plain truncated SVD of W on the same data;
//   2. full rank (epsilon 1): B_t A_t = W, and forward, backward and a step
//      agree with lora's on the same weights (the same adapters);
//   3. rank-deficient inputs: the ridge makes the Cholesky succeed, named;
//   4. a layer trained without the calibration pass calibrates on its first batch;
//   5. the calibration's FLOP count equals the formula of svdllm_lora.h;
//   6. the paper measure: account() equals paper_elems at the K found.
#include "baselines/lora.h"
#include "baselines/svdllm_lora.h"
#include "core/io/safetensors.h"
#include "core/linalg/blas.h"
#include "core/linalg/linalg.h"
#include "core/runtime/counters.h"
#include "core/runtime/memory.h"
#include "core/runtime/rng.h"
#include "tests/testlib.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

enum { B = 4, N = 25, I = 32, O = 48, R = B * N };

// Inputs with correlated channels (x = g M, M (I,I) random): a spectrum the whitening matters for.
static float *correlated_x(Rng *r, int rows) {
    float *g = tl_randn(r, (size_t)rows * I, 1.0f), *M = tl_randn(r, (size_t)I * I, 1.0f);
    for (int i = 0; i < I; i++) M[(size_t)i * I + i] += 3.0f;
    for (int i = 0; i < I / 2; i++)
        for (int j = 0; j < I; j++) M[(size_t)i * I + j] *= 0.05f;   // half the directions weak
    float *x = mem_alloc_floats((size_t)rows * I, MEM_WORKSPACE);
    gemm(0, 0, rows, I, I, 1.0f, g, I, M, I, 0.0f, x, I);
    mem_free(g); mem_free(M);
    return x;
}

// ||(W - W') X^T||_F^2 for W' (O,I), X (rows,I).
static double data_err(const float *W, const float *Wk, const float *x, int rows) {
    float *D = mem_alloc_floats((size_t)O * I, MEM_WORKSPACE), *E = mem_alloc_floats((size_t)rows * O, MEM_WORKSPACE);
    for (size_t i = 0; i < (size_t)O * I; i++) D[i] = W[i] - Wk[i];
    gemm(0, 1, rows, O, I, 1.0f, x, I, D, I, 0.0f, E, O);
    double e = 0;
    for (size_t i = 0; i < (size_t)rows * O; i++) e += (double)E[i] * (double)E[i];
    mem_free(D); mem_free(E);
    return e;
}

// A random layer (W, b) and 2R correlated inputs from one seed.
typedef struct { float *W, *b, *x; } Case;
static Case case_make(uint64_t seed) {
    Rng r;
    rng_seed(&r, seed);
    Case c;
    c.W = tl_randn(&r, (size_t)O * I, 0.2f);
    c.b = tl_randn(&r, O, 0.1f);
    c.x = correlated_x(&r, 2 * R);
    return c;
}
static void case_free(Case *c) { mem_free(c->W); mem_free(c->b); mem_free(c->x); }

static MethodConfig cfg_at(float eps, int K) {
    MethodConfig c = tl_method_config();
    c.epsilon = eps;
    c.trunc_rank = K;
    c.lora_rank = 4;
    c.lora_alpha = 8;
    c.calib_batches = 2;
    return c;
}

// Calibrate L on two batches of x (2R rows).
static void calibrate(LinearLayer *L, const float *x) {
    float *y = mem_alloc_floats((size_t)R * O, MEM_WORKSPACE);
    int dims[3] = {B, N, I};
    for (int t = 0; t < 2; t++) L->method->forward(L, y, x + (size_t)t * R * I, dims, 3, 0);
    L->method->calib_end(L);
    mem_free(y);
}

static void test_whitened_truncation(void) {
    Case cs = case_make(1);
    float *W = cs.W, *b = cs.b, *x = cs.x;
    int ks[] = {4, 8, 16};
    for (int t = 0; t < 3; t++) {
        MethodConfig c = cfg_at(0.9f, ks[t]);
        LinearLayer L;
        tl_layer_make(&L, &method_svdllm_lora, "whiten", B, N, I, O, W, b, &c);
        calibrate(&L, x);
        const int K = svdllm_rank(&L), mn = I < O ? I : O;
        EXPECT(K == ks[t], "truncation_rank %d gives K %d", ks[t], K);
        const float *Bt, *At, *sig = svdllm_sigma(&L);
        svdllm_factors(&L, &Bt, &At);
        float *Wk = mem_alloc_floats((size_t)O * I, MEM_WORKSPACE);
        gemm(0, 0, O, I, K, 1.0f, Bt, K, At, I, 0.0f, Wk, I);
        double e = data_err(W, Wk, x, 2 * R), dropped = 0, total = 0;
        for (int i = 0; i < mn; i++) { total += (double)sig[i] * (double)sig[i]; if (i >= K) dropped += (double)sig[i] * (double)sig[i]; }
        EXPECT(fabs(e - dropped) <= 2e-3 * total, "K=%d: data error %.6g, dropped whitened energy %.6g (total %.6g)", K, e, dropped, total);
        // the plain truncated SVD of W does worse on the data
        SvdWork sw;
        svd_work_init(&sw, O, I);
        svd_compute(&sw, W);
        float *Lf = mem_alloc_floats((size_t)O * K, MEM_WORKSPACE), *Rf = mem_alloc_floats((size_t)K * I, MEM_WORKSPACE);
        svd_factors(Lf, Rf, &sw, K);
        gemm(0, 0, O, I, K, 1.0f, Lf, K, Rf, I, 0.0f, Wk, I);
        double e_plain = data_err(W, Wk, x, 2 * R);
        EXPECT(e < e_plain, "K=%d: whitened %.6g < plain SVD %.6g", K, e, e_plain);
        printf("  K=%2d: ||(W - Wk) X^T||^2 whitened %.5g (dropped sigma^2 %.5g), plain SVD %.5g; ridge %g\n", K, e, dropped, e_plain,
               svdllm_ridge(&L));
        EXPECT(svdllm_ridge(&L) == 0, "full-rank inputs need no ridge (got %g)", svdllm_ridge(&L));
        svd_work_free(&sw);
        mem_free(Lf); mem_free(Rf); mem_free(Wk);
        L.method->free(&L);
    }
    case_free(&cs);
}

// Against torch.linalg (tests/ref_svdllm.py: float64 Cholesky of X^T X, SVD
// of W S, U_K Sigma_K V_K^T S^-1): the whitened spectrum, the truncated
// weight and its error on the data, for K = 4, 8, 16.
static void test_whitening_vs_torch(void) {
    SafeTensors st;
    WbError err;
    if (st_open(&st, "tests/data/ref/svdllm_v1.safetensors", &err) < 0) {
        EXPECT(0, "%s (generate it with: bash tests/make_reference.sh)", err.msg);
        return;
    }
    size_t n;
    float *W = tl_read_tensor(&st, "W", &n), *b = tl_read_tensor(&st, "b", &n), *x = tl_read_tensor(&st, "X", &n);
    float *sig_ref = tl_read_tensor(&st, "sigma", &n);
    EXPECT(n == (size_t)(I < O ? I : O), "sigma has min(O, I) values");
    static const int ks[3] = {4, 8, 16};
    for (int t = 0; t < 3; t++) {
        MethodConfig c = cfg_at(0.9f, ks[t]);
        LinearLayer L;
        tl_layer_make(&L, &method_svdllm_lora, "torch", B, N, I, O, W, b, &c);
        calibrate(&L, x);
        const int K = svdllm_rank(&L);
        if (t == 0) EXPECT_CLOSE("whitened sigma vs torch", svdllm_sigma(&L), sig_ref, n, 1e-4 * (double)sig_ref[0], 1e-3);
        char name[16];
        snprintf(name, sizeof name, "Wk%d", K);
        float *wk_ref = tl_read_tensor(&st, name, &n);
        const float *Bt, *At;
        svdllm_factors(&L, &Bt, &At);
        float *Wk = mem_alloc_floats((size_t)O * I, MEM_WORKSPACE);
        gemm(0, 0, O, I, K, 1.0f, Bt, K, At, I, 0.0f, Wk, I);
        EXPECT_CLOSE("U_K Sigma_K V_K^T S^-1 vs torch", Wk, wk_ref, (size_t)O * I, 1e-3 * tl_max_abs(wk_ref, (size_t)O * I), 0);
        snprintf(name, sizeof name, "err%d", K);
        float *e_ref = tl_read_tensor(&st, name, &n);
        double e = data_err(W, Wk, x, 2 * R), total = 0;
        for (int i = 0; i < (I < O ? I : O); i++) total += (double)sig_ref[i] * (double)sig_ref[i];
        EXPECT(fabs(e - (double)e_ref[0]) <= 1e-3 * total, "K=%d: data error %.6g, torch %.6g", K, e, (double)e_ref[0]);
        printf("  K=%2d vs torch.linalg: sigma_0 %.5g (torch %.5g), error on the data %.5g (torch %.5g)\n", K, (double)svdllm_sigma(&L)[0],
               (double)sig_ref[0], e, (double)e_ref[0]);
        mem_free(wk_ref); mem_free(Wk); mem_free(e_ref);
        L.method->free(&L);
    }
    mem_free(W); mem_free(b); mem_free(x); mem_free(sig_ref);
    st_close(&st);
}

// At epsilon 1, forward, dx, the adapters' gradients and one step's loss agree with lora's.
static void test_full_rank_equals_lora(void) {
    Case cs = case_make(2);
    float *W = cs.W, *b = cs.b, *x = cs.x;
    Rng r;
    rng_seed(&r, 20);
    float *dy = tl_randn(&r, (size_t)R * O, 1.0f);
    MethodConfig c = cfg_at(1.0f, 0);
    LinearLayer S, Lr;
    tl_layer_make(&S, &method_svdllm_lora, "eq", B, N, I, O, W, b, &c);
    tl_layer_make(&Lr, &method_lora, "eq", B, N, I, O, W, b, &c);
    calibrate(&S, x);
    EXPECT(svdllm_rank(&S) == I, "epsilon 1: K = min(O, I) = %d, got %d", I, svdllm_rank(&S));
    const float *Bt, *At;
    svdllm_factors(&S, &Bt, &At);
    float *Wk = mem_alloc_floats((size_t)O * I, MEM_WORKSPACE);
    gemm(0, 0, O, I, svdllm_rank(&S), 1.0f, Bt, svdllm_rank(&S), At, I, 0.0f, Wk, I);
    EXPECT_CLOSE("B_t A_t = W at full rank", Wk, W, (size_t)O * I, 2e-5, 2e-4);
    int dims[3] = {B, N, I};
    float *ys = mem_alloc_floats((size_t)R * O, MEM_WORKSPACE), *yl = mem_alloc_floats((size_t)R * O, MEM_WORKSPACE);
    float *dxs = mem_alloc_floats((size_t)R * I, MEM_WORKSPACE), *dxl = mem_alloc_floats((size_t)R * I, MEM_WORKSPACE);
    OptimConfig oc = optim_sgd(0.0f, 0.0f);
    for (int step = 0; step < 2; step++) {
        S.method->forward(&S, ys, x, dims, 3, 1);
        Lr.method->forward(&Lr, yl, x, dims, 3, 1);
        // W S S^-1 rounds at cond(S) (weak input directions): compare at the outputs' scale
        EXPECT_CLOSE("forward, svdllm_lora eps 1 vs lora", ys, yl, (size_t)R * O, 2e-4 * tl_max_abs(yl, (size_t)R * O), 0);
        memset(dxs, 0, sizeof(float) * (size_t)R * I);
        memset(dxl, 0, sizeof(float) * (size_t)R * I);
        ParamSet *ps[4], *pl[4];
        S.method->param_sets(&S, ps);
        Lr.method->param_sets(&Lr, pl);
        params_zero_grad(ps[0]);
        params_zero_grad(pl[0]);
        S.method->backward(&S, dxs, dy);
        Lr.method->backward(&Lr, dxl, dy);
        EXPECT_CLOSE("dx", dxs, dxl, (size_t)R * I, 2e-4 * tl_max_abs(dxl, (size_t)R * I), 0);
        EXPECT_CLOSE("d lora_A", params_grad(ps[0], "lora_A"), params_grad(pl[0], "lora_A"), (size_t)4 * I,
                     2e-4 * tl_max_abs(params_grad(pl[0], "lora_A"), (size_t)4 * I) + 1e-7, 0);
        EXPECT_CLOSE("d lora_B", params_grad(ps[0], "lora_B"), params_grad(pl[0], "lora_B"), (size_t)O * 4,
                     2e-4 * tl_max_abs(params_grad(pl[0], "lora_B"), (size_t)O * 4), 0);
        if (step == 0) EXPECT(tl_max_abs(params_grad(ps[0], "lora_B"), (size_t)O * 4) > 0, "the adapters get a gradient");
        S.method->update(&S, &oc, 0.05f);
        Lr.method->update(&Lr, &oc, 0.05f);
    }
    mem_free(ys); mem_free(yl); mem_free(dxs); mem_free(dxl); mem_free(Wk); mem_free(dy);
    S.method->free(&S);
    Lr.method->free(&Lr);
    case_free(&cs);
}

// Inputs that span only 8 of the 32 channels: G is singular, the ridge is used and named.
static void test_ridge(void) {
    Rng r;
    rng_seed(&r, 3);
    float *W = tl_randn(&r, (size_t)O * I, 0.2f), *b = tl_randn(&r, O, 0.1f);
    float *g = tl_randn(&r, (size_t)2 * R * 8, 1.0f), *P = tl_randn(&r, (size_t)8 * I, 1.0f);
    float *x = mem_alloc_floats((size_t)2 * R * I, MEM_WORKSPACE);
    gemm(0, 0, 2 * R, I, 8, 1.0f, g, 8, P, I, 0.0f, x, I);
    MethodConfig c = cfg_at(0.99f, 0);
    LinearLayer L;
    tl_layer_make(&L, &method_svdllm_lora, "ridge", B, N, I, O, W, b, &c);
    calibrate(&L, x);
    const float *Bt, *At;
    svdllm_factors(&L, &Bt, &At);
    int K = svdllm_rank(&L), finite = 1;
    for (size_t i = 0; i < (size_t)K * I; i++) finite &= isfinite(At[i]) != 0;
    printf("  rank-8 inputs: ridge %.3g, K %d at eps 0.99\n", svdllm_ridge(&L), K);
    EXPECT(svdllm_ridge(&L) > 0 && finite, "a ridge (%g) and finite factors", svdllm_ridge(&L));
    EXPECT(K <= 8 + 1, "the whitened spectrum has about 8 directions: K %d", K);
    L.method->free(&L);
    mem_free(W); mem_free(b); mem_free(g); mem_free(P); mem_free(x);
}

// No calibration pass: the first training forward calibrates on its batch.
static void test_lazy_calibration(void) {
    Rng r;
    rng_seed(&r, 4);
    float *W = tl_randn(&r, (size_t)O * I, 0.2f), *b = tl_randn(&r, O, 0.1f), *x = correlated_x(&r, R);
    MethodConfig c = cfg_at(1.0f, 0);
    LinearLayer L;
    tl_layer_make(&L, &method_svdllm_lora, "lazy", B, N, I, O, W, b, &c);
    float *y = mem_alloc_floats((size_t)R * O, MEM_WORKSPACE), *yv = mem_alloc_floats((size_t)R * O, MEM_WORKSPACE);
    int dims[3] = {B, N, I};
    L.method->forward(&L, y, x, dims, 3, 1);
    EXPECT(svdllm_rank(&L) == I, "calibrated on the batch: K %d", svdllm_rank(&L));
    gemm(0, 1, R, O, I, 1.0f, x, I, W, I, 0.0f, yv, O);
    for (int i = 0; i < R; i++)
        for (int o = 0; o < O; o++) yv[(size_t)i * O + o] += b[o];
    EXPECT_CLOSE("first forward = the pretrained layer (B = 0)", y, yv, (size_t)R * O, 2e-5, 2e-4);
    L.method->free(&L);
    mem_free(W); mem_free(b); mem_free(x); mem_free(y); mem_free(yv);
}

// The calibration's FLOPs: the Gram per forward (2 R I^2, plus the dense
// forward 2 R I O + R O), then one Cholesky I^3/3, W S 2 O I^2, the SVD's
// textbook 6 m n^2 + 20 n^3, the solve K I^2.
static void test_flop_count(void) {
    Case cs = case_make(5);
    float *W = cs.W, *b = cs.b, *x = cs.x;
    MethodConfig c = cfg_at(0.9f, 10);
    LinearLayer L;
    tl_layer_make(&L, &method_svdllm_lora, "flops", B, N, I, O, W, b, &c);
    counters_reset();
    phase_set(PHASE_DECOMPOSITION);
    calibrate(&L, x);
    phase_set(PHASE_OTHER);
    double got = counters_get().flops[PHASE_DECOMPOSITION];
    double m = O > I ? O : I, n = O < I ? O : I, K = 10;
    double want = 2 * (2.0 * R * I * I + 2.0 * R * I * O + (double)R * O) + (double)I * I * I / 3.0 + 2.0 * O * I * I +
                  (6 * m * n * n + 20 * n * n * n) + K * I * I;
    EXPECT(fabs(got - want) <= 1e-9 * want + 4, "calibration FLOPs %.0f, formula %.0f", got, want);
    L.method->free(&L);
    case_free(&cs);
}

static void test_paper_measure(void) {
    Case cs = case_make(6);
    float *W = cs.W, *b = cs.b, *x = cs.x;
    MethodConfig c = cfg_at(0.8f, 0);
    LinearLayer L;
    tl_layer_make(&L, &method_svdllm_lora, "paper", B, N, I, O, W, b, &c);
    calibrate(&L, x);
    float *y = mem_alloc_floats((size_t)R * O, MEM_WORKSPACE);
    int dims[3] = {B, N, I};
    L.method->forward(&L, y, x, dims, 3, 1);
    LinearAccount acc;
    L.method->account(&L, &acc);
    LayerRanks lr = {svdllm_rank(&L), {0, 0, 0, 0}};
    double a, w;
    method_svdllm_lora.paper_elems(O, dims, 3, &c, &lr, &a, &w);
    EXPECT(acc.paper_act_elems == a && acc.paper_weight_elems == w && acc.weight_rank == lr.weight_rank,
           "account %.0f + %.0f vs closed form %.0f + %.0f (K %d)", acc.paper_act_elems, acc.paper_weight_elems, a, w, lr.weight_rank);
    EXPECT(a == (double)R * (I + lr.weight_rank + 4), "activations: inputs of both sub-layers and LoRA's u");
    method_svdllm_lora.paper_elems(O, dims, 3, &c, NULL, &a, &w);
    EXPECT(isnan(a) && isnan(w), "without K (from the calibration data) the closed form is unknown");
    // tracked: x and u saved (the frozen factors need no input)
    EXPECT(acc.bytes_activations == sizeof(float) * ((size_t)R * I + (size_t)R * 4),
           "tracked activations %zu bytes", acc.bytes_activations);
    L.method->free(&L);
    mem_free(y);
    case_free(&cs);
}

int main(int argc, char **argv) {
    tl_init(argc, argv);
    threads_set(2);
    RUN(test_whitened_truncation);
    RUN(test_whitening_vs_torch);
    RUN(test_full_rank_equals_lora);
    RUN(test_ridge);
    RUN(test_lazy_calibration);
    RUN(test_flop_count);
    RUN(test_paper_measure);
    return tl_finish();
}
