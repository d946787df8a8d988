// test_layers.c: every layer of core/nn/layers.h. For each layer, through one
// generic driver: per-element central-difference gradient checks of every
// input and parameter on small odd shapes (fake loss L = sum(out * R) in
// double, so dL/dout = R), a directional check on shapes large enough to
// take the OpenMP paths, accumulation (+= into preexisting values, twice
// doubles) and NULL gradient outputs (the driver: tests/gradcheck.h). Plus forward against naive loops,
// cross-entropy by hand, count_correct, the FLOPs the layers charge, and the
// accuracy of vecmath.h (exp, erfc) and GELU against double precision; the
// float16 conversions (half.h) and GELU with its derivative saved as float16.
#include "core/linalg/blas.h"
#include "core/linalg/half.h"
#include "core/runtime/counters.h"
#include "core/nn/layers.h"
#include "core/runtime/memory.h"
#include "core/runtime/rng.h"
#include "core/linalg/vecmath.h"
#include "tests/gradcheck.h"
#include "tests/testlib.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int quick;   // WB_QUICK=1 (sanitizer build): shrink the big cases

// ---------------------------------------------------------------------------
// Layer closures and case builders.

static void lin_fwd(GcCase *c) { linear_forward(c->out, c->t[0], c->t[1], c->t[2], c->B, c->I, c->O); }
static void lin_bwd(GcCase *c, float **g) { linear_backward(g[0], g[1], g[2], c->R, c->t[0], c->t[1], c->B, c->I, c->O); }
static GcCase make_linear(Rng *r, int BN, int I, int O) {
    GcCase c = {.name = "linear", .nt = 3, .tname = {"inp", "w", "b"}, .fwd = lin_fwd, .bwd = lin_bwd, .B = BN, .I = I, .O = O};
    c.tn[0] = (long)BN * I; c.tn[1] = (long)O * I; c.tn[2] = O;
    for (int j = 0; j < 3; j++) c.t[j] = gc_frandn(r, c.tn[j], 1.0f);
    gc_case_outputs(&c, (long)BN * O, r);
    return c;
}

static void ln_fwd(GcCase *c) { layernorm_forward(c->out, c->s[0], c->s[1], c->t[0], c->t[1], c->t[2], c->B, c->C, 1e-6f); }
static void ln_bwd(GcCase *c, float **g) {
    layernorm_backward(g[0], g[1], g[2], c->R, c->t[0], c->t[1], c->s[0], c->s[1], c->B, c->C);
}
static GcCase make_layernorm(Rng *r, int BN, int C) {
    GcCase c = {.name = "layernorm", .nt = 3, .tname = {"inp", "w", "b"}, .fwd = ln_fwd, .bwd = ln_bwd, .B = BN, .C = C};
    c.tn[0] = (long)BN * C; c.tn[1] = C; c.tn[2] = C;
    c.t[0] = gc_frandn(r, c.tn[0], 1.0f);
    for (long i = 0; i < c.tn[0]; i++) c.t[0][i] += 0.5f; // a nonzero mean
    c.t[1] = gc_frandn(r, C, 1.0f);
    c.t[2] = gc_frandn(r, C, 1.0f);
    c.s[0] = gc_falloc(BN); c.s[1] = gc_falloc(BN);
    gc_case_outputs(&c, c.tn[0], r);
    return c;
}

static void gelu_fwd(GcCase *c) { gelu_forward(c->out, c->t[0], c->nout); }
static void gelu_bwd(GcCase *c, float **g) { gelu_backward(g[0], c->t[0], c->R, c->nout); }
static GcCase make_gelu(Rng *r, long n) {
    GcCase c = {.name = "gelu", .nt = 1, .tname = {"inp"}, .fwd = gelu_fwd, .bwd = gelu_bwd};
    c.tn[0] = n;
    c.t[0] = gc_frandn(r, n, 2.0f);
    gc_case_outputs(&c, n, r);
    return c;
}

static void att_fwd(GcCase *c) { attention_forward(c->out, c->s[0], c->t[0], c->t[1], c->t[2], c->B, c->N, c->C, c->NH); }
static void att_bwd(GcCase *c, float **g) {
    attention_backward(g[0], g[1], g[2], c->s[1], c->R, c->t[0], c->t[1], c->t[2], c->s[0], c->B, c->N, c->C, c->NH);
}
static GcCase make_attention(Rng *r, int B, int N, int C, int NH) {
    GcCase c = {.name = "attention", .nt = 3, .tname = {"q", "k", "v"}, .fwd = att_fwd, .bwd = att_bwd,
              .B = B, .N = N, .C = C, .NH = NH};
    for (int j = 0; j < 3; j++) { c.tn[j] = (long)B * N * C; c.t[j] = gc_frandn(r, c.tn[j], 1.0f); }
    c.s[0] = gc_falloc((long)B * NH * N * N); c.s[1] = gc_falloc((long)B * NH * N * N);
    gc_case_outputs(&c, (long)B * N * C, r);
    return c;
}

static void pe_fwd(GcCase *c) {
    patch_embed_forward(c->out, c->s[0], c->aux, c->t[0], c->t[1], c->B, c->Cin, c->H, c->W, c->P, c->C);
}
static void pe_bwd(GcCase *c, float **g) {
    memset(c->s[0], 0xff, (size_t)mem_size(c->s[0])); // NaN garbage: backward must rebuild col
    patch_embed_backward(g[0], g[1], c->s[0], c->R, c->aux, c->B, c->Cin, c->H, c->W, c->P, c->C);
}
static GcCase make_patch_embed(Rng *r, int B, int Cin, int H, int W, int P, int C) {
    GcCase c = {.name = "patch_embed", .nt = 2, .tname = {"w", "b"}, .fwd = pe_fwd, .bwd = pe_bwd,
              .B = B, .Cin = Cin, .H = H, .W = W, .P = P, .C = C};
    int nP = (H / P) * (W / P);
    c.tn[0] = (long)C * Cin * P * P; c.tn[1] = C;
    c.t[0] = gc_frandn(r, c.tn[0], 0.3f); c.t[1] = gc_frandn(r, C, 1.0f);
    c.aux = gc_frandn(r, (long)B * Cin * H * W, 1.0f);
    c.s[0] = gc_falloc((long)B * nP * Cin * P * P);
    gc_case_outputs(&c, (long)B * nP * C, r);
    return c;
}

static void tok_fwd(GcCase *c) { tokens_forward(c->out, c->t[0], c->t[1], c->t[2], c->B, c->N - 1, c->C); }
static void tok_bwd(GcCase *c, float **g) { tokens_backward(g[0], g[1], g[2], c->R, c->B, c->N - 1, c->C); }
static GcCase make_tokens(Rng *r, int B, int N, int C) {
    GcCase c = {.name = "tokens", .nt = 3, .tname = {"patches", "cls", "pos"}, .fwd = tok_fwd, .bwd = tok_bwd,
              .B = B, .N = N, .C = C};
    c.tn[0] = (long)B * (N - 1) * C; c.tn[1] = C; c.tn[2] = (long)N * C;
    for (int j = 0; j < 3; j++) c.t[j] = gc_frandn(r, c.tn[j], 1.0f);
    gc_case_outputs(&c, (long)B * N * C, r);
    return c;
}

static void cls_fwd(GcCase *c) { take_class_token_forward(c->out, c->t[0], c->B, c->N, c->C); }
static void cls_bwd(GcCase *c, float **g) { take_class_token_backward(g[0], c->R, c->B, c->N, c->C); }
static GcCase make_take_class(Rng *r, int B, int N, int C) {
    GcCase c = {.name = "take_class_token", .nt = 1, .tname = {"inp"}, .fwd = cls_fwd, .bwd = cls_bwd, .B = B, .N = N, .C = C};
    c.tn[0] = (long)B * N * C;
    c.t[0] = gc_frandn(r, c.tn[0], 1.0f);
    gc_case_outputs(&c, (long)B * C, r);
    return c;
}

static void res_fwd(GcCase *c) { residual_forward(c->out, c->t[0], c->t[1], c->nout); }
static void res_bwd(GcCase *c, float **g) { residual_backward(g[0], g[1], c->R, c->nout); }
static GcCase make_residual(Rng *r, long n) {
    GcCase c = {.name = "residual", .nt = 2, .tname = {"a", "b"}, .fwd = res_fwd, .bwd = res_bwd};
    c.tn[0] = c.tn[1] = n;
    c.t[0] = gc_frandn(r, n, 1.0f); c.t[1] = gc_frandn(r, n, 1.0f);
    gc_case_outputs(&c, n, r);
    return c;
}

// ---------------------------------------------------------------------------
// Gradient checks: small odd shapes (B=2, N=5, C=12, NH=3 as in the brief).
// Tolerances: atol 5e-4 + rtol 5e-3. Layers linear in their inputs have FD
// errors at float rounding (~1e-5); the nonlinear ones at ~1e-4 with h=1e-2.

static void test_grad_linear(void) {
    Rng r; rng_seed(&r, 11);
    GcCase c = make_linear(&r, 2 * 5, 12, 7);
    gc_run_case(&c, 1e-2f, 5e-4, 5e-3, &r);
    gc_case_free(&c);
}

static void test_grad_layernorm(void) {
    Rng r; rng_seed(&r, 12);
    GcCase c = make_layernorm(&r, 2 * 5, 12);
    gc_run_case(&c, 1e-2f, 5e-4, 5e-3, &r);
    gc_case_free(&c);
}

static void test_grad_gelu(void) {
    Rng r; rng_seed(&r, 13);
    GcCase c = make_gelu(&r, 2 * 5 * 12);
    gc_run_case(&c, 1e-2f, 5e-4, 5e-3, &r);
    gc_case_free(&c);
}

static void test_grad_attention(void) {
    Rng r; rng_seed(&r, 14);
    GcCase c = make_attention(&r, 2, 5, 12, 3);
    gc_run_case(&c, 1e-2f, 5e-4, 5e-3, &r);
    gc_case_free(&c);
}

static void test_grad_patch_embed(void) {
    Rng r; rng_seed(&r, 15);
    GcCase c = make_patch_embed(&r, 2, 3, 8, 8, 4, 6);
    gc_run_case(&c, 1e-2f, 5e-4, 5e-3, &r);
    gc_case_free(&c);
    GcCase d = make_patch_embed(&r, 1, 2, 4, 12, 4, 5); // non-square grid (1 x 3)
    gc_run_case(&d, 1e-2f, 5e-4, 5e-3, &r);
    gc_case_free(&d);
}

static void test_grad_tokens(void) {
    Rng r; rng_seed(&r, 16);
    GcCase c = make_tokens(&r, 2, 5, 12);
    gc_run_case(&c, 1e-2f, 5e-4, 5e-3, &r);
    gc_case_free(&c);
    GcCase d = make_take_class(&r, 2, 5, 12);
    gc_run_case(&d, 1e-2f, 5e-4, 5e-3, &r);
    gc_case_free(&d);
}

static void test_grad_residual(void) {
    Rng r; rng_seed(&r, 17);
    GcCase c = make_residual(&r, 2 * 5 * 12 + 1);
    gc_run_case(&c, 1e-2f, 5e-4, 5e-3, &r);
    gc_case_free(&c);
}

// dlogits against central differences of the mean loss itself.
static void test_grad_crossentropy(void) {
    Rng r; rng_seed(&r, 18);
    int B = 5, K = 7, tg[5] = {0, 6, 3, 3, 1};
    long n = (long)B * K;
    float *x = gc_frandn(&r, n, 2.0f), *probs = gc_falloc(n), *g = gc_falloc(n), *num = gc_falloc(n);
    crossentropy_forward(probs, x, tg, B, K);
    crossentropy_backward(g, probs, tg, B, K);
    const float h = 1e-2f;
    for (long i = 0; i < n; i++) {
        float x0 = x[i], xp = x0 + h, xm = x0 - h;
        x[i] = xp; double Lp = (double)crossentropy_forward(probs, x, tg, B, K);
        x[i] = xm; double Lm = (double)crossentropy_forward(probs, x, tg, B, K);
        x[i] = x0;
        num[i] = (float)((Lp - Lm) / ((double)xp - (double)xm));
    }
    EXPECT_NONZERO("crossentropy dlogits", g, (size_t)n);
    double maxabs = EXPECT_CLOSE("crossentropy dlogits", g, num, (size_t)n, 1e-3, 1e-2);
    printf("  gradcheck crossentropy dlogits n=%ld max|g|=%.3g max abs err %.2e\n", n, tl_max_abs(num, (size_t)n), maxabs);
    // each row of dlogits sums to 0 (softmax minus a one-hot, over B)
    for (int i = 0; i < B; i++) {
        double s = 0; for (int j = 0; j < K; j++) s += (double)g[i * K + j];
        EXPECT(fabs(s) < 1e-6, "row %d of dlogits sums to %g", i, s);
    }
    // accumulation and NULL
    float *acc = gc_falloc(n), *want = gc_falloc(n);
    crossentropy_forward(probs, x, tg, B, K);
    for (long i = 0; i < n; i++) { acc[i] = 0.25f; want[i] = 0.25f + 2.0f * g[i]; }
    crossentropy_backward(acc, probs, tg, B, K);
    crossentropy_backward(acc, probs, tg, B, K);
    EXPECT_CLOSE("crossentropy backward accumulates", acc, want, (size_t)n, 1e-6, 1e-6);
    crossentropy_backward(NULL, probs, tg, B, K);
    mem_free(x); mem_free(probs); mem_free(g); mem_free(num); mem_free(acc); mem_free(want);
}

// Shapes big enough that every OpenMP loop runs threaded (thresholds 2^14..2^16).
static void test_grad_big_directional(void) {
    Rng r; rng_seed(&r, 19);
    int s = quick ? 2 : 1; // WB_QUICK halves batch sizes (still over most thresholds)
    GcCase cs[8];
    cs[0] = make_linear(&r, 512 / s, 96, 160);
    cs[1] = make_layernorm(&r, 800 / s, 96);
    cs[2] = make_gelu(&r, 100003 / s);
    cs[3] = make_attention(&r, 4 / s, 50, 64, 4);
    cs[4] = make_patch_embed(&r, 8 / s, 3, 64, 64, 4, 64);
    cs[5] = make_tokens(&r, 24 / s, 65, 96);
    cs[6] = make_residual(&r, 200001 / s);
    cs[7] = make_take_class(&r, 16, 65, 96);
    for (int i = 0; i < 8; i++) { gc_run_big(&cs[i], &r); gc_case_free(&cs[i]); }
}

// ---------------------------------------------------------------------------
// Forward against naive loops (double accumulation).

static void test_fwd_linear_naive(void) {
    Rng r; rng_seed(&r, 21);
    int BN = 13, I = 17, O = 9;
    float *x = gc_frandn(&r, (long)BN * I, 1), *w = gc_frandn(&r, (long)O * I, 1), *b = gc_frandn(&r, O, 1);
    float *out = gc_falloc((long)BN * O), *ref = gc_falloc((long)BN * O), *ref0 = gc_falloc((long)BN * O);
    for (int i = 0; i < BN; i++)
        for (int o = 0; o < O; o++) {
            double s = 0; for (int k = 0; k < I; k++) s += (double)x[i * I + k] * (double)w[o * I + k];
            ref0[i * O + o] = (float)s; ref[i * O + o] = (float)(s + (double)b[o]);
        }
    linear_forward(out, x, w, b, BN, I, O);
    EXPECT_CLOSE("linear forward vs naive", out, ref, (size_t)BN * O, 1e-5, 1e-5);
    linear_forward(out, x, w, NULL, BN, I, O);
    EXPECT_CLOSE("linear forward (no bias) vs naive", out, ref0, (size_t)BN * O, 1e-5, 1e-5);
    mem_free(x); mem_free(w); mem_free(b); mem_free(out); mem_free(ref); mem_free(ref0);
}

static void test_fwd_layernorm_naive(void) {
    Rng r; rng_seed(&r, 22);
    int BN = 7, C = 33;
    float eps = 1e-6f;
    float *x = gc_frandn(&r, (long)BN * C, 3), *w = gc_frandn(&r, C, 1), *b = gc_frandn(&r, C, 1);
    float *out = gc_falloc((long)BN * C), *ref = gc_falloc((long)BN * C), *mean = gc_falloc(BN), *rstd = gc_falloc(BN);
    float *rm = gc_falloc(BN), *rs = gc_falloc(BN);
    for (int i = 0; i < BN * C; i++) x[i] += 10.0f; // large mean: the two-pass variance must hold up
    for (int i = 0; i < BN; i++) {
        double m = 0, v = 0;
        for (int c = 0; c < C; c++) m += (double)x[i * C + c];
        m /= C;
        for (int c = 0; c < C; c++) v += ((double)x[i * C + c] - m) * ((double)x[i * C + c] - m);
        v /= C; // biased, as torch
        double s = 1.0 / sqrt(v + (double)eps);
        for (int c = 0; c < C; c++) ref[i * C + c] = (float)(((double)x[i * C + c] - m) * s * (double)w[c] + (double)b[c]);
        rm[i] = (float)m; rs[i] = (float)s;
    }
    layernorm_forward(out, mean, rstd, x, w, b, BN, C, eps);
    EXPECT_CLOSE("layernorm forward vs naive", out, ref, (size_t)BN * C, 1e-5, 1e-5);
    EXPECT_CLOSE("layernorm saved mean", mean, rm, (size_t)BN, 1e-5, 1e-6);
    EXPECT_CLOSE("layernorm saved rstd", rstd, rs, (size_t)BN, 1e-6, 1e-5);
    mem_free(x); mem_free(w); mem_free(b); mem_free(out); mem_free(ref); mem_free(mean); mem_free(rstd);
    mem_free(rm); mem_free(rs);
}

static void test_fwd_gelu_values(void) {
    // torch.nn.GELU()(x) for x = -3, -0.5, 0, 1, 2 (exact erf form; the tanh
    // approximation gives 0.841192 at x = 1, outside the tolerance)
    float x[5] = {-3.0f, -0.5f, 0.0f, 1.0f, 2.0f}, out[5];
    float want[5] = {-0.0040496597f, -0.15426877f, 0.0f, 0.84134475f, 1.9544997f};
    gelu_forward(out, x, 5);
    EXPECT_CLOSE("gelu forward known values", out, want, 5, 1e-7, 1e-6);
}

// vecmath.h and GELU on dense grids against double precision (the bounds
// documented in core/linalg/vecmath.h). The grids are big enough for the threaded path.
static void test_vecmath_gelu_accuracy(void) {
    double e_exp = 0, e_erfc4 = 0, e_erfc = 0;
    for (float x = -87.0f; x <= 88.0f; x += 7.3e-4f) {
        double r = exp((double)x), d = fabs((double)exp_vec(x) - r) / r;
        if (d > e_exp) e_exp = d;
    }
    for (float z = 0.0f; z < 9.0f; z += 3.1e-5f) {
        double r = erfc((double)z), d = fabs((double)erfc_vec(z) - r) / r;
        if (z < 4.0f) { if (d > e_erfc4) e_erfc4 = d; }
        else if (d > e_erfc) e_erfc = d;
    }
    printf("  exp_vec max rel err %.2e; erfc_vec max rel err %.2e (z<4), %.2e (4<=z<9)\n", e_exp, e_erfc4, e_erfc);
    EXPECT(e_exp < 1.5e-7, "exp_vec relative error %.3g", e_exp);
    EXPECT(e_erfc4 < 2e-6 && e_erfc < 1e-5, "erfc_vec relative error %.3g / %.3g", e_erfc4, e_erfc);
    EXPECT(exp_vec(0.0f) == 1.0f && exp_vec(-100.0f) == 0.0f && exp_vec(-INFINITY) == 0.0f && isnan(exp_vec(NAN)),
           "exp_vec special values: exp(0)=%g exp(-100)=%g exp(nan)=%g", (double)exp_vec(0.0f), (double)exp_vec(-100.0f),
           (double)exp_vec(NAN));

    long n = 400001; // x in [-12, 12]
    float *x = gc_falloc(n), *y = gc_falloc(n), *dy = gc_falloc(n), *ones = gc_falloc(n);
    for (long i = 0; i < n; i++) { x[i] = -12.0f + 24.0f * (float)i / (float)(n - 1); ones[i] = 1.0f; }
    gelu_forward(y, x, n);
    gelu_backward(dy, x, ones, n);
    double fa = 0, fr = 0, ba = 0;
    for (long i = 0; i < n; i++) {
        double xd = (double)x[i], cdf = 0.5 * erfc(-xd / sqrt(2.0)), ref = xd * cdf;
        double dref = cdf + xd * exp(-0.5 * xd * xd) / sqrt(2.0 * M_PI), sc = fmax(1.0, fabs(xd));
        fa = fmax(fa, fabs((double)y[i] - ref) / sc);
        if (fabs(ref) > 1e-30) fr = fmax(fr, fabs((double)y[i] - ref) / fabs(ref));
        ba = fmax(ba, fabs((double)dy[i] - dref) / sc);
    }
    printf("  gelu forward: max abs err/max(1,|x|) %.2e, max rel err %.2e; backward max abs err/max(1,|x|) %.2e\n", fa, fr, ba);
    EXPECT(fa < 2e-7, "gelu forward abs error %.3g", fa);
    EXPECT(fr < 3e-5, "gelu forward relative error %.3g (the negative tail must not cancel)", fr);
    EXPECT(ba < 4e-7, "gelu backward abs error %.3g", ba);
    mem_free(x); mem_free(y); mem_free(dy); mem_free(ones);
}

static void test_fwd_attention_naive(void) {
    Rng r; rng_seed(&r, 23);
    int B = 2, N = 7, C = 15, NH = 3, hs = C / NH;
    long n = (long)B * N * C;
    float *q = gc_frandn(&r, n, 1), *k = gc_frandn(&r, n, 1), *v = gc_frandn(&r, n, 1);
    float *out = gc_falloc(n), *att = gc_falloc((long)B * NH * N * N), *ref = gc_falloc(n), *refatt = gc_falloc((long)B * NH * N * N);
    double sc[64];
    for (int b = 0; b < B; b++)
        for (int h = 0; h < NH; h++)
            for (int i = 0; i < N; i++) {
                double mx = -1e300, sum = 0;
                for (int j = 0; j < N; j++) {
                    double s = 0;
                    for (int d = 0; d < hs; d++)
                        s += (double)q[(b * N + i) * C + h * hs + d] * (double)k[(b * N + j) * C + h * hs + d];
                    sc[j] = s / sqrt((double)hs);
                    if (sc[j] > mx) mx = sc[j];
                }
                for (int j = 0; j < N; j++) { sc[j] = exp(sc[j] - mx); sum += sc[j]; }
                for (int j = 0; j < N; j++) { sc[j] /= sum; refatt[((b * NH + h) * N + i) * N + j] = (float)sc[j]; }
                for (int d = 0; d < hs; d++) {
                    double s = 0;
                    for (int j = 0; j < N; j++) s += sc[j] * (double)v[(b * N + j) * C + h * hs + d];
                    ref[(b * N + i) * C + h * hs + d] = (float)s;
                }
            }
    attention_forward(out, att, q, k, v, B, N, C, NH);
    EXPECT_CLOSE("attention probabilities vs naive", att, refatt, (size_t)B * NH * N * N, 1e-6, 1e-5);
    EXPECT_CLOSE("attention forward vs naive", out, ref, (size_t)n, 1e-5, 1e-5);
    mem_free(q); mem_free(k); mem_free(v); mem_free(out); mem_free(att); mem_free(ref); mem_free(refatt);
}

// Direct strided convolution on a non-square image (nh != nw): catches a
// transposed patch grid and a wrong (C,Cin,P,P) weight layout.
static void test_fwd_patch_embed_naive(void) {
    Rng r; rng_seed(&r, 24);
    int B = 2, Cin = 3, H = 8, W = 12, P = 4, C = 5, nh = H / P, nw = W / P, nP = nh * nw;
    float *img = gc_frandn(&r, (long)B * Cin * H * W, 1), *w = gc_frandn(&r, (long)C * Cin * P * P, 1), *b = gc_frandn(&r, C, 1);
    float *col = gc_falloc((long)B * nP * Cin * P * P), *out = gc_falloc((long)B * nP * C), *ref = gc_falloc((long)B * nP * C);
    for (int bb = 0; bb < B; bb++)
        for (int oy = 0; oy < nh; oy++)
            for (int ox = 0; ox < nw; ox++)
                for (int o = 0; o < C; o++) {
                    double s = (double)b[o];
                    for (int ci = 0; ci < Cin; ci++)
                        for (int ky = 0; ky < P; ky++)
                            for (int kx = 0; kx < P; kx++)
                                s += (double)w[((o * Cin + ci) * P + ky) * P + kx] *
                                     (double)img[((bb * Cin + ci) * H + oy * P + ky) * W + ox * P + kx];
                    ref[(bb * nP + oy * nw + ox) * C + o] = (float)s; // conv out (B,C,nh,nw) flattened, transposed
                }
    patch_embed_forward(out, col, img, w, b, B, Cin, H, W, P, C);
    EXPECT_CLOSE("patch_embed forward vs direct convolution", out, ref, (size_t)B * nP * C, 1e-5, 1e-5);
    mem_free(img); mem_free(w); mem_free(b); mem_free(col); mem_free(out); mem_free(ref);
}

static void test_fwd_tokens_residual(void) {
    Rng r; rng_seed(&r, 25);
    int B = 2, nP = 4, N = nP + 1, C = 6;
    float *p = gc_frandn(&r, (long)B * nP * C, 1), *cls = gc_frandn(&r, C, 1), *pos = gc_frandn(&r, (long)N * C, 1);
    float *out = gc_falloc((long)B * N * C), *ref = gc_falloc((long)B * N * C), *ct = gc_falloc((long)B * C);
    for (int b = 0; b < B; b++)
        for (int n = 0; n < N; n++)
            for (int c = 0; c < C; c++)
                ref[(b * N + n) * C + c] = (n == 0 ? cls[c] : p[(b * nP + n - 1) * C + c]) + pos[n * C + c];
    tokens_forward(out, p, cls, pos, B, nP, C);
    EXPECT_CLOSE("tokens forward", out, ref, (size_t)B * N * C, 0, 0);
    take_class_token_forward(ct, out, B, N, C);
    for (int b = 0; b < B; b++) EXPECT_CLOSE("take_class_token forward", ct + b * C, ref + b * N * C, (size_t)C, 0, 0);
    float *sum = gc_falloc((long)B * N * C);
    residual_forward(sum, out, ref, (long)B * N * C);
    for (int i = 0; i < B * N * C; i++) ref[i] *= 2.0f;
    EXPECT_CLOSE("residual forward", sum, ref, (size_t)B * N * C, 0, 0);
    mem_free(p); mem_free(cls); mem_free(pos); mem_free(out); mem_free(ref); mem_free(ct); mem_free(sum);
}

// ---------------------------------------------------------------------------
// Loss and accuracy by hand.

static void test_crossentropy_values(void) {
    // rows: [1,2,3] t=2: log(e+e^2+e^3) - 3 = 0.40760596; [1,2,3] t=0: 2.40760596;
    // [1000,0,-1000] t=1: 1000 (naive exp would overflow); [0,0,0] t=1: log 3
    float x[12] = {1, 2, 3, 1, 2, 3, 1000, 0, -1000, 0, 0, 0};
    int tg[4] = {2, 0, 1, 1};
    float probs[12];
    double want = (0.40760596444 + 2.40760596444 + 1000.0 + log(3.0)) / 4.0;
    float L = crossentropy_forward(probs, x, tg, 4, 3);
    EXPECT(fabs((double)L - want) <= 1e-6 * want, "crossentropy %.9g want %.9g", (double)L, want);
    float pw[12] = {0.09003057f, 0.24472847f, 0.66524096f, 0.09003057f, 0.24472847f, 0.66524096f,
                    1.0f, 0.0f, 0.0f, 1.0f / 3, 1.0f / 3, 1.0f / 3};
    EXPECT_CLOSE("crossentropy probs", probs, pw, 12, 1e-7, 1e-6);
    float two[6] = {1, 2, 3, 1, 2, 3};
    int t2[2] = {2, 0};
    L = crossentropy_forward(probs, two, t2, 2, 3);
    EXPECT_NEAR("crossentropy mean of two rows", L, 1.40760596f, 1e-6, 1e-6);
    float g[6] = {0};
    crossentropy_backward(g, probs, t2, 2, 3);
    float gw[6] = {0.09003057f / 2, 0.24472847f / 2, (0.66524096f - 1) / 2, (0.09003057f - 1) / 2, 0.24472847f / 2,
                   0.66524096f / 2};
    EXPECT_CLOSE("crossentropy dlogits by hand", g, gw, 6, 1e-7, 1e-6);
}

static void test_count_correct(void) {
    float x[15] = {0.1f, 0.9f, 0.0f,     // argmax 1
                   5.0f, -1.0f, 4.9f,    // argmax 0
                   -3.0f, -2.0f, -1.0f,  // argmax 2
                   2.0f, 2.0f, 1.0f,     // tie: the first maximum, 0 (torch.argmax)
                   0.0f, 0.0f, 0.5f};    // argmax 2
    int t[5] = {1, 0, 1, 0, 0};
    EXPECT(count_correct(x, t, 5, 3) == 3, "count_correct = %d, want 3", count_correct(x, t, 5, 3));
    int all[5] = {1, 0, 2, 0, 2};
    EXPECT(count_correct(x, all, 5, 3) == 5, "all correct: %d", count_correct(x, all, 5, 3));
    int none[5] = {0, 1, 0, 1, 1};
    EXPECT(count_correct(x, none, 5, 3) == 0, "none correct: %d", count_correct(x, none, 5, 3));
}

// ---------------------------------------------------------------------------
// FLOPs charged to the current phase.

static double flops_of_last(Counters before) {
    Counters d = counters_diff(counters_get(), before);
    return d.flops[phase_get()];
}

static void test_flops(void) {
    Rng r; rng_seed(&r, 31);
    int BN = 10, I = 12, O = 7;
    float *x = gc_frandn(&r, (long)BN * I, 1), *w = gc_frandn(&r, (long)O * I, 1), *b = gc_frandn(&r, O, 1);
    float *out = gc_falloc((long)BN * O), *dx = gc_falloc((long)BN * I), *dw = gc_falloc((long)O * I), *db = gc_falloc(O);
    Counters c0 = counters_get();
    linear_forward(out, x, w, b, BN, I, O);
    double f = flops_of_last(c0);
    // GEMM 2*BN*I*O plus the bias: 1 add per output element
    EXPECT(f == 2.0 * BN * I * O + (double)BN * O, "linear_forward charged %.0f, want %.0f", f, 2.0 * BN * I * O + BN * O);
    c0 = counters_get();
    linear_forward(out, x, w, NULL, BN, I, O);
    f = flops_of_last(c0);
    EXPECT(f == 2.0 * BN * I * O, "linear_forward without bias charged %.0f, want %.0f", f, 2.0 * BN * I * O);
    c0 = counters_get();
    linear_backward(dx, dw, db, out, x, w, BN, I, O);
    f = flops_of_last(c0);
    EXPECT(f == 4.0 * BN * I * O + (double)BN * O, "linear_backward charged %.0f, want %.0f", f, 4.0 * BN * I * O + BN * O);
    c0 = counters_get();
    linear_backward(NULL, NULL, db, out, x, w, BN, I, O);
    f = flops_of_last(c0);
    EXPECT(f == (double)BN * O, "linear_backward (db only) charged %.0f, want %.0f", f, (double)BN * O);
    // attention forward: two GEMMs of 2*N*N*hs per (b,h) + softmax 5/elem + 1/row
    int B = 2, N = 5, C = 12, NH = 3, hs = C / NH;
    float *q = gc_frandn(&r, (long)B * N * C, 1), *att = gc_falloc((long)B * NH * N * N), *ao = gc_falloc((long)B * N * C);
    c0 = counters_get();
    attention_forward(ao, att, q, q, q, B, N, C, NH);
    f = flops_of_last(c0);
    double want = 4.0 * B * NH * N * N * hs + 5.0 * B * NH * N * N + (double)B * NH * N;
    EXPECT(f == want, "attention_forward charged %.0f, want %.0f", f, want);
    // gelu 5/elem forward, residual 1/elem
    c0 = counters_get();
    gelu_forward(ao, q, (long)B * N * C);
    f = flops_of_last(c0);
    EXPECT(f == 5.0 * B * N * C, "gelu_forward charged %.0f", f);
    c0 = counters_get();
    residual_forward(ao, q, q, (long)B * N * C);
    f = flops_of_last(c0);
    EXPECT(f == (double)B * N * C, "residual_forward charged %.0f", f);
    mem_free(x); mem_free(w); mem_free(b); mem_free(out); mem_free(dx); mem_free(dw); mem_free(db);
    mem_free(q); mem_free(att); mem_free(ao);
}

static void test_no_leaks(void) {
    MemStats s = mem_stats();
    EXPECT(s.current[MEM_WORKSPACE] == 0, "workspace bytes still allocated: %zu", s.current[MEM_WORKSPACE]);
}

// half.h: f16 -> f32 for every pattern against the IEEE formula (m 2^(e-25)
// or subnormal m 2^-24), the round trip f16 -> f32 -> f16 the identity (NaN
// stays NaN), and f32 -> f16 equal to the compiler's _Float16 conversion on
// every float in [2^-26, 2^17) of both signs (strided under WB_QUICK):
// rounding to nearest even, subnormals, overflow.
static void test_half_conversions(void) {
    long bad = 0, bad_rt = 0;
    for (uint32_t h = 0; h < 65536; h++) {
        uint32_t e = (h >> 10) & 0x1f, m = h & 0x3ff;
        double want = e == 0 ? ldexp(m, -24) : e == 31 ? (m ? (double)NAN : (double)INFINITY) : ldexp(m + 1024.0, (int)e - 25);
        if (h & 0x8000) want = -want;
        float got = f16_to_f32((uint16_t)h);
        if (isnan(want) ? !isnan(got) : got != (float)want) bad++;
        uint16_t back = f32_to_f16(got);
        if (isnan(want) ? ((back & 0x7c00) != 0x7c00 || !(back & 0x3ff)) : back != h) bad_rt++;
    }
    EXPECT(bad == 0, "%ld f16 patterns convert wrongly", bad);
    EXPECT(bad_rt == 0, "%ld f16 patterns do not round-trip", bad_rt);
#ifdef __FLT16_MAX__
    long bad_rn = 0, n = 0;
    const uint32_t step = quick ? 97 : 1;
    for (uint32_t sign = 0; sign < 2; sign++)
        for (uint32_t b = 0x32800000u; b < 0x48000000u; b += (sign ? 1013 : step)) {
            uint32_t bits = b | (sign << 31);
            float x;
            memcpy(&x, &bits, 4);
            _Float16 r = (_Float16)x;
            uint16_t want;
            memcpy(&want, &r, 2);
            bad_rn += f32_to_f16(x) != want;
            n++;
        }
    printf("  f32 -> f16 on %ld floats: %ld differ from _Float16\n", n, bad_rn);
    EXPECT(bad_rn == 0, "%ld of %ld floats round differently from _Float16", bad_rn, n);
#else
    printf("  (no _Float16 in this compiler: the rounding is checked by the round trip only)\n");
#endif
    float src[7] = {0.0f, -1.5f, 65504.0f, 1e-7f, 3.14159f, 70000.0f, -2.5e-5f}, dst[7];
    uint16_t p[7];
    half_pack(p, src, 7);
    half_unpack(dst, p, 7);
    for (int i = 0; i < 7; i++) EXPECT(p[i] == f32_to_f16(src[i]) && dst[i] == f16_to_f32(p[i]), "bulk %d", i);
}

// memory.gelu_f16: the forward is bit-identical to gelu_forward, and the
// input gradient from the float16 derivative is within binary16's rounding
// (2^-11 relative per element, 2^-25 absolute in the subnormal range, times
// dout) of gelu_backward's.
static void test_gelu_f16grad(void) {
    const long n = 100003;
    Rng r;
    rng_seed(&r, 11);
    float *x = mem_alloc_floats(n, MEM_WORKSPACE), *dy = mem_alloc_floats(n, MEM_WORKSPACE);
    float *y0 = mem_alloc_floats(n, MEM_WORKSPACE), *y1 = mem_alloc_floats(n, MEM_WORKSPACE);
    float *g0 = mem_alloc_floats(n, MEM_WORKSPACE), *g1 = mem_alloc_floats(n, MEM_WORKSPACE);
    uint16_t *d16 = mem_alloc(sizeof(uint16_t) * (size_t)n, MEM_WORKSPACE);
    rng_fill_normal(&r, x, n, 0, 3);
    rng_fill_normal(&r, dy, n, 0, 1);
    memset(g0, 0, sizeof(float) * (size_t)n);
    memset(g1, 0, sizeof(float) * (size_t)n);
    gelu_forward(y0, x, n);
    gelu_forward_f16grad(y1, d16, x, n);
    gelu_backward(g0, x, dy, n);
    gelu_backward_f16grad(g1, d16, dy, n);
    EXPECT_CLOSE("gelu_f16 forward", y1, y0, (size_t)n, 0, 0);
    double worst = 0;
    long bad = 0;
    for (long i = 0; i < n; i++) {
        // relative 2^-11 in float16's normal range; below 2^-14 the subnormal spacing 2^-24 (half of it at most)
        double e = fabs((double)g1[i] - (double)g0[i]), ad = fabs((double)dy[i]);
        double lim = (1.0 / 2048 + 2e-7) * fabs((double)g0[i]) + ldexp(1.0, -25) * ad;
        if (fabs((double)g0[i]) > ldexp(1.0, -14) * ad) worst = fmax(worst, e / fabs((double)g0[i]));
        bad += e > lim;
    }
    printf("  gelu_f16: input gradient max relative error %.3g (binary16 rounding 2^-11 = %.3g)\n", worst, 1.0 / 2048);
    EXPECT(bad == 0, "%ld of %ld gradients beyond 2^-11 relative", bad, n);
    EXPECT(worst > 0, "the float16 derivative changed nothing: not exercised");
    mem_free(x); mem_free(dy); mem_free(y0); mem_free(y1); mem_free(g0); mem_free(g1); mem_free(d16);
}

int main(int argc, char **argv) {
    tl_init(argc, argv);
    const char *q = getenv("WB_QUICK");
    quick = q && q[0] == '1';
    threads_set(0); // all cores: the OpenMP loops of the big cases run threaded
    RUN(test_grad_linear);
    RUN(test_grad_layernorm);
    RUN(test_grad_gelu);
    RUN(test_grad_attention);
    RUN(test_grad_patch_embed);
    RUN(test_grad_tokens);
    RUN(test_grad_residual);
    RUN(test_grad_crossentropy);
    RUN(test_grad_big_directional);
    RUN(test_fwd_linear_naive);
    RUN(test_fwd_layernorm_naive);
    RUN(test_fwd_gelu_values);
    RUN(test_vecmath_gelu_accuracy);
    RUN(test_half_conversions);
    RUN(test_gelu_f16grad);
    RUN(test_fwd_attention_naive);
    RUN(test_fwd_patch_embed_naive);
    RUN(test_fwd_tokens_residual);
    RUN(test_crossentropy_values);
    RUN(test_count_correct);
    RUN(test_flops);
    RUN(test_no_leaks);
    return tl_finish();
}
