// test_llama_layers.c: every layer of core/nn/llama_layers.h through the
// generic driver of tests/gradcheck.h: per-element central differences of
// every input and parameter on small odd shapes (loss in double), one
// random direction on shapes that take the OpenMP paths, accumulation and
// NULL outputs. The attention runs on a padded batch (lengths T, 3, 1) with
// GQA (NH 4 over NKV 2). Plus forwards against naive double loops written
// from the Hugging Face equations (RMSNorm, rotate_half RoPE, repeat_kv
// attention with the causal and padding masks), the masked probabilities
// exactly 0, a padded sequence equal to the same sequence alone, and the
// FLOPs each layer charges.
#include "core/nn/llama_layers.h"
#include "core/runtime/counters.h"
#include "core/runtime/memory.h"
#include "core/runtime/rng.h"
#include "tests/gradcheck.h"
#include "tests/testlib.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int quick;

static int *ialloc(long n) { return mem_alloc(sizeof(int) * (size_t)n, MEM_WORKSPACE); }

// --- cases ------------------------------------------------------------------------

static void emb_fwd(GcCase *c) { embedding_forward(c->out, c->ints, c->t[0], c->B * c->T, c->V, c->C); }
static void emb_bwd(GcCase *c, float **g) { embedding_backward(g[0], c->R, c->ints, c->B * c->T, c->C); }
static GcCase make_embedding(Rng *r, int B, int T, int V, int C) {
    GcCase c = {.name = "embedding", .nt = 1, .tname = {"wte"}, .fwd = emb_fwd, .bwd = emb_bwd, .B = B, .T = T, .V = V, .C = C};
    c.tn[0] = (long)V * C;
    c.t[0] = gc_frandn(r, c.tn[0], 1.0f);
    c.ints = ialloc((long)B * T);
    for (int i = 0; i < B * T; i++) c.ints[i] = (int)(rng_u64(r) % (uint64_t)V);   // repeats when B*T > V
    c.ints[1] = c.ints[0];                                                        // at least one repeat
    gc_case_outputs(&c, (long)B * T * C, r);
    return c;
}

static void rms_fwd(GcCase *c) { rmsnorm_forward(c->out, c->s[0], c->t[0], c->t[1], c->B, c->C, c->eps); }
static void rms_bwd(GcCase *c, float **g) { rmsnorm_backward(g[0], g[1], c->R, c->t[0], c->t[1], c->s[0], c->B, c->C); }
static GcCase make_rmsnorm(Rng *r, int BT, int C) {
    GcCase c = {.name = "rmsnorm", .nt = 2, .tname = {"inp", "w"}, .fwd = rms_fwd, .bwd = rms_bwd, .B = BT, .C = C, .eps = 1e-5f};
    c.tn[0] = (long)BT * C; c.tn[1] = C;
    c.t[0] = gc_frandn(r, c.tn[0], 1.0f);
    for (long i = 0; i < c.tn[0]; i++) c.t[0][i] += 0.5f;   // a nonzero mean: RMSNorm must not subtract it
    c.t[1] = gc_frandn(r, C, 1.0f);
    c.s[0] = gc_falloc(BT);
    gc_case_outputs(&c, c.tn[0], r);
    return c;
}

// s[0], s[1]: the cos, sin table
static void rope_fwd(GcCase *c) { rope_forward(c->out, c->t[0], c->s[0], c->s[1], c->B, c->T, c->NH, c->hd); }
static void rope_bwd(GcCase *c, float **g) { rope_backward(g[0], c->R, c->s[0], c->s[1], c->B, c->T, c->NH, c->hd); }
static GcCase make_rope(Rng *r, int B, int T, int H, int hd, float theta) {
    GcCase c = {.name = "rope", .nt = 1, .tname = {"inp"}, .fwd = rope_fwd, .bwd = rope_bwd, .B = B, .T = T, .NH = H, .hd = hd};
    c.tn[0] = (long)B * T * H * hd;
    c.t[0] = gc_frandn(r, c.tn[0], 1.0f);
    c.s[0] = gc_falloc((long)T * hd / 2); c.s[1] = gc_falloc((long)T * hd / 2);
    rope_table(c.s[0], c.s[1], T, hd, theta);
    gc_case_outputs(&c, c.tn[0], r);
    return c;
}

// ints: len (B); s[0] att, s[1] scratch
static void gqa_fwd(GcCase *c) {
    gqa_attention_forward(c->out, c->s[0], c->t[0], c->t[1], c->t[2], c->ints, c->B, c->T, c->NH, c->NKV, c->hd);
}
static void gqa_bwd(GcCase *c, float **g) {
    gqa_attention_backward(g[0], g[1], g[2], c->s[1], c->R, c->t[0], c->t[1], c->t[2], c->s[0], c->B, c->T, c->NH,
                           c->NKV, c->hd);
}
static GcCase make_gqa(Rng *r, int B, int T, int NH, int NKV, int hd, const int *len) {
    GcCase c = {.name = "gqa_attention", .nt = 3, .tname = {"q", "k", "v"}, .fwd = gqa_fwd, .bwd = gqa_bwd,
                .B = B, .T = T, .NH = NH, .NKV = NKV, .hd = hd};
    c.tn[0] = (long)B * T * NH * hd; c.tn[1] = c.tn[2] = (long)B * T * NKV * hd;
    for (int j = 0; j < 3; j++) c.t[j] = gc_frandn(r, c.tn[j], 1.0f);
    c.ints = ialloc(B);
    for (int b = 0; b < B; b++) c.ints[b] = len[b];
    c.s[0] = gc_falloc((long)B * NH * T * T); c.s[1] = gc_falloc((long)B * NH * T * T);
    gc_case_outputs(&c, c.tn[0], r);
    return c;
}

static void swiglu_fwd(GcCase *c) { swiglu_forward(c->out, c->t[0], c->t[1], c->nout); }
static void swiglu_bwd(GcCase *c, float **g) { swiglu_backward(g[0], g[1], c->R, c->t[0], c->t[1], c->nout); }
static GcCase make_swiglu(Rng *r, long n) {
    GcCase c = {.name = "swiglu", .nt = 2, .tname = {"gate", "up"}, .fwd = swiglu_fwd, .bwd = swiglu_bwd};
    c.tn[0] = c.tn[1] = n;
    c.t[0] = gc_frandn(r, n, 2.0f); c.t[1] = gc_frandn(r, n, 1.0f);
    gc_case_outputs(&c, n, r);
    return c;
}

static void last_fwd(GcCase *c) { last_token_forward(c->out, c->t[0], c->ints, c->B, c->T, c->C); }
static void last_bwd(GcCase *c, float **g) { last_token_backward(g[0], c->R, c->ints, c->B, c->T, c->C); }
static GcCase make_last_token(Rng *r, int B, int T, int C) {
    GcCase c = {.name = "last_token", .nt = 1, .tname = {"inp"}, .fwd = last_fwd, .bwd = last_bwd, .B = B, .T = T, .C = C};
    c.tn[0] = (long)B * T * C;
    c.t[0] = gc_frandn(r, c.tn[0], 1.0f);
    c.ints = ialloc(B);
    for (int b = 0; b < B; b++) c.ints[b] = 1 + (int)((b * 7 + 3) % T);
    c.ints[0] = T;
    gc_case_outputs(&c, (long)B * C, r);
    return c;
}

// --- gradient checks (atol 5e-4 + rtol 5e-3, step 1e-2, as test_layers.c) ---------------

static void test_grad_embedding(void) {
    Rng r; rng_seed(&r, 31);
    GcCase c = make_embedding(&r, 2, 5, 7, 6);
    gc_run_case(&c, 1e-2f, 5e-4, 5e-3, &r);
    gc_case_free(&c);
}

static void test_grad_rmsnorm(void) {
    Rng r; rng_seed(&r, 32);
    GcCase c = make_rmsnorm(&r, 2 * 5, 12);
    gc_run_case(&c, 1e-2f, 5e-4, 5e-3, &r);
    gc_case_free(&c);
}

static void test_grad_rope(void) {
    Rng r; rng_seed(&r, 33);
    GcCase c = make_rope(&r, 2, 5, 3, 6, 10000.0f);
    gc_run_case(&c, 1e-2f, 5e-4, 5e-3, &r);
    gc_case_free(&c);
}

// A padded batch: full length, 3 of 6, and 1 (a row with one key).
static void test_grad_gqa_attention(void) {
    Rng r; rng_seed(&r, 34);
    const int len[3] = {6, 3, 1};
    GcCase c = make_gqa(&r, 3, 6, 4, 2, 3, len);
    gc_run_case(&c, 1e-2f, 5e-4, 5e-3, &r);
    gc_case_free(&c);
    GcCase m = make_gqa(&r, 2, 5, 3, 3, 4, (const int[]){5, 4});   // NKV = NH: plain multi-head
    gc_run_case(&m, 1e-2f, 5e-4, 5e-3, &r);
    gc_case_free(&m);
}

static void test_grad_swiglu(void) {
    Rng r; rng_seed(&r, 35);
    GcCase c = make_swiglu(&r, 61);
    gc_run_case(&c, 1e-2f, 5e-4, 5e-3, &r);
    gc_case_free(&c);
}

static void test_grad_last_token(void) {
    Rng r; rng_seed(&r, 36);
    GcCase c = make_last_token(&r, 3, 5, 4);
    gc_run_case(&c, 1e-2f, 5e-4, 5e-3, &r);
    gc_case_free(&c);
}

// Shapes over the OpenMP thresholds (2^14..2^15 elements; attention: several groups).
static void test_grad_big_directional(void) {
    Rng r; rng_seed(&r, 37);
    int s = quick ? 2 : 1;
    const int len[4] = {50, 17, 1, 40};
    GcCase cs[6];
    cs[0] = make_embedding(&r, 8 / s, 64, 100, 64);
    cs[1] = make_rmsnorm(&r, 800 / s, 96);
    cs[2] = make_rope(&r, 4 / s, 64, 8, 32, 10000.0f);
    cs[3] = make_gqa(&r, 4 / s, 50, 8, 2, 16, len);
    cs[4] = make_swiglu(&r, 100003 / s);
    cs[5] = make_last_token(&r, 16, 65, 96);
    for (int i = 0; i < 6; i++) { gc_run_big(&cs[i], &r); gc_case_free(&cs[i]); }
}

// --- forwards against the Hugging Face equations in double -----------------------------

static void test_fwd_rmsnorm_naive(void) {
    Rng r; rng_seed(&r, 41);
    int BT = 7, C = 33;
    float *x = gc_frandn(&r, (long)BT * C, 2.0f), *w = gc_frandn(&r, C, 1.0f), *out = gc_falloc((long)BT * C),
          *ref = gc_falloc((long)BT * C), *rstd = gc_falloc(BT), *rref = gc_falloc(BT);
    for (int i = 0; i < BT; i++) {
        double ss = 0;
        for (int c = 0; c < C; c++) ss += (double)x[i * C + c] * (double)x[i * C + c];
        double s = 1.0 / sqrt(ss / C + 1e-5);
        rref[i] = (float)s;
        for (int c = 0; c < C; c++) ref[i * C + c] = (float)((double)w[c] * (double)x[i * C + c] * s);
    }
    rmsnorm_forward(out, rstd, x, w, BT, C, 1e-5f);
    EXPECT_CLOSE("rmsnorm forward", out, ref, (size_t)BT * C, 1e-6, 1e-5);
    EXPECT_CLOSE("rmsnorm rstd", rstd, rref, (size_t)BT, 0, 1e-6);
    mem_free(x); mem_free(w); mem_free(out); mem_free(ref); mem_free(rstd); mem_free(rref);
}

// HF: inv_freq = 1/theta^(arange(0,hd,2)/hd); emb = cat(freqs, freqs);
// out = x cos(emb) + rotate_half(x) sin(emb), rotate_half(x) = cat(-x2, x1).
static void test_fwd_rope_hf(void) {
    Rng r; rng_seed(&r, 42);
    int B = 2, T = 9, H = 3, hd = 8;
    float theta = 500.0f;
    long n = (long)B * T * H * hd;
    float *x = gc_frandn(&r, n, 1.0f), *out = gc_falloc(n), *ref = gc_falloc(n), *cs = gc_falloc((long)T * hd / 2),
          *sn = gc_falloc((long)T * hd / 2);
    rope_table(cs, sn, T, hd, theta);
    for (int b = 0; b < B; b++)
        for (int t = 0; t < T; t++)
            for (int h = 0; h < H; h++) {
                const float *xv = x + (((size_t)b * T + t) * H + h) * hd;
                float *o = ref + (((size_t)b * T + t) * H + h) * hd;
                for (int i = 0; i < hd; i++) {
                    double inv = 1.0 / pow(theta, (double)(2 * (i % (hd / 2))) / hd), ang = t * inv;
                    double rot = i < hd / 2 ? -(double)xv[i + hd / 2] : (double)xv[i - hd / 2];
                    o[i] = (float)((double)xv[i] * cos(ang) + rot * sin(ang));
                }
            }
    rope_forward(out, x, cs, sn, B, T, H, hd);
    EXPECT_CLOSE("rope forward vs HF rotate_half", out, ref, (size_t)n, 2e-6, 1e-5);
    rope_forward(x, x, cs, sn, B, T, H, hd);   // in place gives the same bits
    EXPECT(memcmp(x, out, sizeof(float) * (size_t)n) == 0, "rope in place equals out of place");
    mem_free(x); mem_free(out); mem_free(ref); mem_free(cs); mem_free(sn);
}

// Naive HF attention: repeat_kv, scores + min-float mask, softmax, @ v; in double.
static void naive_gqa(float *out, const float *q, const float *k, const float *v, const int *len, int B, int T,
                      int NH, int NKV, int hd) {
    double *sc = malloc(sizeof(double) * (size_t)T);
    for (int b = 0; b < B; b++)
        for (int h = 0; h < NH; h++) {
            int g = h / (NH / NKV);
            for (int i = 0; i < T; i++) {
                double mx = -1e300, sum = 0;
                for (int j = 0; j < T; j++) {
                    if (j > i || j >= len[b]) { sc[j] = -INFINITY; continue; }
                    double d = 0;
                    for (int e = 0; e < hd; e++)
                        d += (double)q[((size_t)b * T + i) * NH * hd + h * hd + e] * (double)k[((size_t)b * T + j) * NKV * hd + g * hd + e];
                    sc[j] = d / sqrt((double)hd);
                    if (sc[j] > mx) mx = sc[j];
                }
                for (int j = 0; j < T; j++) { sc[j] = isinf(sc[j]) ? 0 : exp(sc[j] - mx); sum += sc[j]; }
                for (int e = 0; e < hd; e++) {
                    double o = 0;
                    for (int j = 0; j < T; j++) o += sc[j] / sum * (double)v[((size_t)b * T + j) * NKV * hd + g * hd + e];
                    out[((size_t)b * T + i) * NH * hd + h * hd + e] = (float)o;
                }
            }
        }
    free(sc);
}

static void test_fwd_gqa_naive_and_mask(void) {
    Rng r; rng_seed(&r, 43);
    int B = 3, T = 7, NH = 6, NKV = 2, hd = 5;
    const int len[3] = {7, 4, 1};
    long nq = (long)B * T * NH * hd, nk = (long)B * T * NKV * hd;
    float *q = gc_frandn(&r, nq, 1), *k = gc_frandn(&r, nk, 1), *v = gc_frandn(&r, nk, 1), *out = gc_falloc(nq),
          *ref = gc_falloc(nq), *att = gc_falloc((long)B * NH * T * T);
    gqa_attention_forward(out, att, q, k, v, len, B, T, NH, NKV, hd);
    naive_gqa(ref, q, k, v, len, B, T, NH, NKV, hd);
    EXPECT_CLOSE("gqa attention forward vs naive", out, ref, (size_t)nq, 1e-6, 1e-5);
    long bad = 0;
    for (int b = 0; b < B; b++)
        for (int h = 0; h < NH; h++)
            for (int i = 0; i < T; i++) {
                double rs = 0;
                for (int j = 0; j < T; j++) {
                    float a = att[(((size_t)b * NH + h) * T + i) * T + j];
                    rs += (double)a;
                    if ((j > i || j >= len[b]) && a != 0.0f) bad++;
                }
                if (fabs(rs - 1.0) > 1e-5) bad++;
            }
    EXPECT(bad == 0, "masked probabilities exactly 0 and rows summing to 1 (%ld bad)", bad);
    // sequence 1 alone (B = 1, T = its length) gives the same outputs at its real positions
    int L1 = len[1];
    float *q1 = gc_falloc((long)L1 * NH * hd), *k1 = gc_falloc((long)L1 * NKV * hd), *v1 = gc_falloc((long)L1 * NKV * hd),
          *o1 = gc_falloc((long)L1 * NH * hd), *a1 = gc_falloc((long)NH * L1 * L1);
    memcpy(q1, q + (size_t)T * NH * hd, sizeof(float) * (size_t)L1 * NH * hd);
    memcpy(k1, k + (size_t)T * NKV * hd, sizeof(float) * (size_t)L1 * NKV * hd);
    memcpy(v1, v + (size_t)T * NKV * hd, sizeof(float) * (size_t)L1 * NKV * hd);
    gqa_attention_forward(o1, a1, q1, k1, v1, &L1, 1, L1, NH, NKV, hd);
    EXPECT_CLOSE("padded sequence = the sequence alone", o1, out + (size_t)T * NH * hd, (size_t)L1 * NH * hd, 1e-6, 1e-5);
    mem_free(q); mem_free(k); mem_free(v); mem_free(out); mem_free(ref); mem_free(att);
    mem_free(q1); mem_free(k1); mem_free(v1); mem_free(o1); mem_free(a1);
}

static void test_fwd_swiglu_embedding_last(void) {
    float g[4] = {-3, -0.5f, 0, 2}, u[4] = {1, 2, 3, -1}, o[4];
    swiglu_forward(o, g, u, 4);
    for (int i = 0; i < 4; i++) {
        float want = (float)((double)g[i] / (1.0 + exp(-(double)g[i])) * (double)u[i]);
        EXPECT_NEAR("swiglu", o[i], want, 1e-6, 1e-5);
    }
    float wte[3 * 2] = {1, 2, 3, 4, 5, 6}, e[4 * 2];
    int ids[4] = {2, 0, 2, 1};
    embedding_forward(e, ids, wte, 4, 3, 2);
    float want[8] = {5, 6, 1, 2, 5, 6, 3, 4};
    EXPECT_CLOSE("embedding gather", e, want, 8, 0, 0);
    float seq[2 * 3 * 2] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}, last[4];
    int len[2] = {2, 3};
    last_token_forward(last, seq, len, 2, 3, 2);
    float wl[4] = {2, 3, 10, 11};
    EXPECT_CLOSE("last token", last, wl, 4, 0, 0);
}

// The FLOPs the kernels charge, as llama_cost.c and the cost tests assume.
static double flops_since(Counters c0) {
    Counters d = counters_diff(counters_get(), c0);
    return d.flops[phase_get()];
}

static void test_flops(void) {
    Rng r; rng_seed(&r, 44);
    int B = 2, T = 5, NH = 4, NKV = 2, hd = 4, C = NH * hd;
    long nq = (long)B * T * C, nk = (long)B * T * NKV * hd;
    float *q = gc_frandn(&r, nq, 1), *k = gc_frandn(&r, nk, 1), *att = gc_falloc((long)B * NH * T * T),
          *sc = gc_falloc((long)B * NH * T * T), *o = gc_falloc(nq), *dq = gc_falloc(nq), *dk = gc_falloc(nk),
          *dv = gc_falloc(nk), *w = gc_frandn(&r, C, 1), *rs = gc_falloc((long)B * T), *cs = gc_falloc((long)T * hd / 2),
          *sn = gc_falloc((long)T * hd / 2);
    int len[2] = {5, 2};
    Counters c0 = counters_get();
    gqa_attention_forward(o, att, q, k, k, len, B, T, NH, NKV, hd);
    double f = flops_since(c0), want = 4.0 * B * NH * T * T * hd + 5.0 * B * NH * T * T + (double)B * NH * T;
    EXPECT(f == want, "gqa forward charged %.0f, want %.0f", f, want);
    c0 = counters_get();
    gqa_attention_backward(dq, dk, dv, sc, o, q, k, k, att, B, T, NH, NKV, hd);
    f = flops_since(c0); want = 4.0 * 2.0 * T * T * hd * B * NH + 4.0 * B * NH * T * T;
    EXPECT(f == want, "gqa backward charged %.0f, want %.0f", f, want);
    c0 = counters_get();
    rmsnorm_forward(o, rs, q, w, B * T, C, 1e-5f);
    f = flops_since(c0);
    EXPECT(f == 4.0 * nq + 4.0 * B * T, "rmsnorm forward charged %.0f", f);
    c0 = counters_get();
    rmsnorm_backward(dq, w, o, q, w, rs, B * T, C);
    f = flops_since(c0);
    EXPECT(f == 11.0 * nq + 4.0 * B * T, "rmsnorm backward charged %.0f", f);
    rope_table(cs, sn, T, hd, 10000.0f);
    c0 = counters_get();
    rope_forward(o, q, cs, sn, B, T, NH, hd);
    rope_backward(dq, o, cs, sn, B, T, NH, hd);
    f = flops_since(c0);
    EXPECT(f == 7.0 * nq, "rope charged %.0f", f);
    c0 = counters_get();
    swiglu_forward(o, q, q, nq);
    swiglu_backward(dq, dq, o, q, q, nq);
    f = flops_since(c0);
    EXPECT(f == 20.0 * nq, "swiglu charged %.0f", f);
    float *bufs[] = {q, k, att, sc, o, dq, dk, dv, w, rs, cs, sn};
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++) mem_free(bufs[i]);
}

static void test_no_leaks(void) {
    MemStats s = mem_stats();
    EXPECT(s.current[MEM_WORKSPACE] == 0, "workspace bytes still allocated: %zu", s.current[MEM_WORKSPACE]);
}

int main(int argc, char **argv) {
    tl_init(argc, argv);
    quick = getenv("WB_QUICK") != NULL;
    RUN(test_grad_embedding);
    RUN(test_grad_rmsnorm);
    RUN(test_grad_rope);
    RUN(test_grad_gqa_attention);
    RUN(test_grad_swiglu);
    RUN(test_grad_last_token);
    RUN(test_grad_big_directional);
    RUN(test_fwd_rmsnorm_naive);
    RUN(test_fwd_rope_hf);
    RUN(test_fwd_gqa_naive_and_mask);
    RUN(test_fwd_swiglu_embedding_last);
    RUN(test_flops);
    RUN(test_no_leaks);
    return tl_finish();
}
