// testlib.c: see testlib.h.
#include "testlib.h"
#include "core/linalg/blas.h"
#include "core/runtime/counters.h"
#include "core/runtime/memory.h"
#include "core/train/optim.h"
#include "core/train/params.h"
#include "core/runtime/rng.h"
#include "baselines/wasi.h"
#include "baselines/wsi.h"
#include "baselines/asi.h"
#include "baselines/registry_model.h"
#include "baselines/hosvd.h"
#include "baselines/lora.h"
#include "baselines/vanilla.h"
#include "core/models/model_params.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int tl_case_failed;
static int n_pass, n_fail;
static const char *filter;
static const char *prog = "test";
static char build_tag[128] = "build";   // the build dir of this binary: build, build-san, ...

void tl_init(int argc, char **argv) {
    if (argc > 1) filter = argv[1];
    const char *slash = strrchr(argv[0], '/');
    prog = slash ? slash + 1 : argv[0];
    // argv[0] is <build>/tests/<prog>: keep <build>'s name, so the normal and
    // the sanitizer build never read each other's generated files.
    char path[512];
    snprintf(path, sizeof path, "%s", argv[0]);
    char *s = strrchr(path, '/');
    if (s) { *s = 0; s = strrchr(path, '/'); }   // drop /<prog>
    if (s) { *s = 0; s = strrchr(path, '/'); }   // drop /tests
    const char *tag = s ? s + 1 : path;
    if (strrchr(argv[0], '/') && strlen(tag) < sizeof build_tag) memcpy(build_tag, tag, strlen(tag) + 1);
}

int tl_run(const char *name, void (*fn)(void)) {
    if (filter && !strstr(name, filter)) return 1;
    tl_case_failed = 0;
    fn();
    if (tl_case_failed) { n_fail++; printf("FAIL %s\n", name); }
    else { n_pass++; printf("PASS %s\n", name); }
    fflush(stdout);
    return !tl_case_failed;
}

int tl_finish(void) {
    printf("%s: %d passed, %d failed\n", prog, n_pass, n_fail);
    return n_fail ? 1 : 0;
}

void tl_expect(int ok, const char *expr, const char *file, int line, const char *fmt, ...) {
    if (ok) return;
    tl_case_failed = 1;
    printf("  %s:%d: expected %s: ", file, line, expr);
    va_list ap;
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf("\n");
}

double tl_max_abs_diff(const float *a, const float *b, size_t n) {
    double m = 0;
    for (size_t i = 0; i < n; i++) { double d = fabs((double)a[i] - (double)b[i]); if (!(d <= m)) m = d; }
    return m;
}

double tl_max_abs(const float *a, size_t n) {
    double m = 0;
    for (size_t i = 0; i < n; i++) { double d = fabs((double)a[i]); if (d > m) m = d; }
    return m;
}

double tl_close(const char *what, const float *a, const float *b, size_t n, double atol, double rtol,
                const char *file, int line) {
    double maxd = 0; size_t worst = 0, bad = 0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)a[i] - (double)b[i]);
        int ok = d <= atol + rtol * fabs((double)b[i]);   // NaN fails here
        if (!ok) bad++;
        if (!(d <= maxd)) { maxd = d; worst = i; }
    }
    if (bad) {
        tl_case_failed = 1;
        printf("  %s:%d: %s: %zu of %zu elements differ (atol %.3g rtol %.3g); max |diff| %.6g at [%zu]: got %.8g want %.8g\n",
               file, line, what, bad, n, atol, rtol, maxd, worst, (double)a[worst], (double)b[worst]);
        int shown = 0;
        for (size_t i = 0; i < n && shown < 5; i++) {
            double d = fabs((double)a[i] - (double)b[i]);
            if (!(d <= atol + rtol * fabs((double)b[i]))) { printf("    [%zu] got %.8g want %.8g\n", i, (double)a[i], (double)b[i]); shown++; }
        }
    }
    return maxd;
}

void tl_nonzero(const char *what, const float *a, size_t n, const char *file, int line) {
    for (size_t i = 0; i < n; i++) if (a[i] != 0.0f) return;
    tl_case_failed = 1;
    printf("  %s:%d: %s: all %zu elements are zero (a check on nothing proves nothing)\n", file, line, what, n);
}

const char *tl_tmpdir(void) {
    static char dir[512];
    if (!dir[0]) {
        snprintf(dir, sizeof dir, "tests/data/gen/%s/%s", build_tag, prog);
        char cmd[600];
        snprintf(cmd, sizeof cmd, "mkdir -p '%s'", dir);
        if (system(cmd) != 0) { fprintf(stderr, "cannot create %s\n", dir); exit(1); }
    }
    return dir;
}

const char *tl_fresh_dir(const char *name) {
    static char dirs[64][512];
    static int nd;
    char *d = dirs[nd++ % 64];
    snprintf(d, 512, "%s/%s", tl_tmpdir(), name);
    char cmd[1200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s' && mkdir -p '%s'", d, d);
    CHECK(system(cmd) == 0, "%s", cmd);
    return d;
}

void tl_random_batch(float *img, int *y, int B, int channels, int size, int classes, uint64_t seed) {
    Rng r;
    rng_seed(&r, seed);
    rng_fill_normal(&r, img, (long)B * channels * size * size, 0, 1);
    for (int i = 0; i < B; i++) y[i] = (int)rng_below(&r, (uint32_t)classes);
}

void tl_token_batch(float *tok, int *y, const LlamaConfig *c, int B, const int *len, uint64_t seed) {
    Rng r;
    rng_seed(&r, seed);
    for (int b = 0; b < B; b++) {
        const int n = len ? len[b] : c->seq_len;
        for (int t = 0; t < c->seq_len; t++)
            tok[b * c->seq_len + t] = t < n ? (float)(3 + rng_u64(&r) % (uint64_t)(c->vocab - 3)) : (float)c->pad_id;
        y[b] = (int)(rng_u64(&r) % (uint64_t)c->num_classes);
    }
}

float *tl_randn(Rng *r, size_t n, float std) {
    float *x = mem_alloc_floats(n, MEM_WORKSPACE);
    rng_fill_normal(r, x, (long)n, 0, std);
    return x;
}

double tl_dot(const float *a, const float *b, size_t n) {
    double s = 0;
    for (size_t i = 0; i < n; i++) s += (double)a[i] * (double)b[i];
    return s;
}

int tl_files_equal(const char *a, const char *b) {
    FILE *fa = fopen(a, "rb"), *fb = fopen(b, "rb");
    int same = fa && fb;
    while (same) {
        int ca = fgetc(fa), cb = fgetc(fb);
        if (ca != cb) same = 0;
        if (ca == EOF || cb == EOF) break;
    }
    if (fa) fclose(fa);
    if (fb) fclose(fb);
    return same;
}

float *tl_read_tensor(const SafeTensors *st, const char *name, size_t *numel) {
    const StTensor *t = st_find(st, name);
    CHECK(t, "%s: no tensor %s (run tests/make_reference.sh)", st->path, name);
    int shape[ST_MAX_DIMS];
    for (int d = 0; d < t->ndim; d++) shape[d] = (int)t->shape[d];
    *numel = st_numel(t);
    float *x = mem_alloc_floats(*numel ? *numel : 1, MEM_WORKSPACE);
    WbError err;
    if (st_read(st, name, x, t->ndim, shape, &err) < 0) die("%s", err.msg);
    return x;
}

void tl_layer_prepare(LinearLayer *L, const LinearMethod *m, const char *name, int B, int N, int I, int O) {
    memset(L, 0, sizeof *L);
    L->method = m;
    snprintf(L->name, sizeof L->name, "%s", name);
    L->I = I; L->O = O;
    L->trainable = 1;
    L->max_rows = (long)B * N;
    L->rows = L->max_rows;
    L->ndim = 3;
    L->dims[0] = B; L->dims[1] = N; L->dims[2] = I;
}

void tl_layer_make(LinearLayer *L, const LinearMethod *m, const char *name, int B, int N, int I, int O,
                   const float *W, const float *b, const MethodConfig *cfg) {
    tl_layer_prepare(L, m, name, B, N, I, O);
    L->no_bias = b == NULL;
    m->init(L, W, b, cfg);
}

MethodConfig tl_method_config(void) {
    MethodConfig c;
    memset(&c, 0, sizeof c);
    c.epsilon = 1.0f;
    c.seed = 17;
    return c;
}

int tl_full_rank_variants(TlVariant *v) {
    int n = 0;
    MethodConfig c = tl_method_config();
    v[n++] = (TlVariant){"hosvd eps=1", &method_hosvd, c};
    c = tl_method_config(); c.act_ranks[0] = c.act_ranks[1] = c.act_ranks[2] = 100000;   // clipped to the dims
    v[n++] = (TlVariant){"asi full ranks", &method_asi, c};
    v[n++] = (TlVariant){"wasi dense eps=1, act full ranks", &method_wasi, c};
    c.factored = 1;
    v[n++] = (TlVariant){"wasi factored eps=1, act full ranks", &method_wasi, c};
    c = tl_method_config(); c.act_epsilon = 1.0f;
    v[n++] = (TlVariant){"wasi dense eps=1, act_epsilon=1", &method_wasi, c};
    c.factored = 1; c.r_update_previous = 1;
    v[n++] = (TlVariant){"wasi factored eps=1, act_epsilon=1, r previous", &method_wasi, c};
    c = tl_method_config(); c.act_ranks[0] = c.act_ranks[1] = c.act_ranks[2] = 100000; c.weight_update_svd = 1;
    v[n++] = (TlVariant){"wasi dense eps=1, act full ranks, svd update", &method_wasi, c};
    c = tl_method_config();
    v[n++] = (TlVariant){"wsi eps=1", &method_wsi, c};
    c.weight_update_svd = 1;
    v[n++] = (TlVariant){"wsi eps=1, svd update", &method_wsi, c};
    return n;
}

int tl_hash_variants(TlVariant *v, int modes) {
    int n = 0;
    MethodConfig c = tl_method_config();
    v[n++] = (TlVariant){"vanilla", &method_vanilla, c};
    c.lora_rank = 4; c.lora_alpha = 8;
    v[n++] = (TlVariant){"lora r 4", &method_lora, c};
    c = tl_method_config(); c.epsilon = 0.9f;
    v[n++] = (TlVariant){"hosvd eps 0.9", &method_hosvd, c};
    for (int d = 0; d < modes; d++) c.act_ranks[d] = d + 1 < modes ? 4 : 16;
    v[n++] = (TlVariant){modes == 3 ? "asi ranks 4,4,16" : "asi ranks 4,4,4,16", &method_asi, c};
    v[n++] = (TlVariant){"wasi dense eps 0.9, act ranks", &method_wasi, c};
    c.factored = 1;
    v[n++] = (TlVariant){"wasi factored eps 0.9, act ranks", &method_wasi, c};
    c = tl_method_config(); c.epsilon = 0.9f; c.act_epsilon = 0.9f; c.r_update_previous = 1;
    v[n++] = (TlVariant){"wasi dense, act_epsilon 0.9, r previous", &method_wasi, c};
    c = tl_method_config(); c.epsilon = 0.9f;
    v[n++] = (TlVariant){"wsi dense eps 0.9", &method_wsi, c};
    c.weight_update_svd = 1;
    v[n++] = (TlVariant){"wsi weight_update svd eps 0.9", &method_wsi, c};
    return n;
}

uint64_t tl_fnv(uint64_t h, const void *p, size_t n) {
    const unsigned char *c = p;
    for (size_t i = 0; i < n; i++) { h ^= c[i]; h *= 1099511628211ull; }
    return h;
}

uint64_t tl_train_hash(const ModelConfig *cfg, const LinearMethod *meth, const MethodConfig *mc, int num_finetune, int B,
                       int threads, float *loss) {
    threads_set(threads);
    ModelBinding bind;
    memset(&bind, 0, sizeof bind);
    bind.method = meth; bind.mcfg = *mc; bind.all_linear = 1; bind.num_finetune = num_finetune;
    Model m;
    model_build(&m, cfg, &bind, B);
    model_init_random(&m, 4);
    int S, Cin, K;
    model_config_io(cfg, &S, &Cin, &K);
    float *img = mem_alloc_floats((size_t)B * Cin * S * S, MEM_DATA);
    int *y = mem_alloc(sizeof(int) * (size_t)B, MEM_DATA);
    OptimConfig oc = optim_sgd(0.0f, 1e-4f);
    for (int s = 0; s < 3; s++) {
        tl_random_batch(img, y, B, Cin, S, K, 30 + (uint64_t)s);
        model_zero_grad(&m);
        loss[s] = model_forward(&m, img, y, B, 1);
        model_backward(&m);
        model_update(&m, &oc, 0.05f);
    }
    ModelParams mp = model_params(&m);
    uint64_t h = tl_fnv(1469598103934665603ull, mp.own->params, sizeof(float) * mp.own->numel);
    for (int i = 0; i < mp.nlin; i++) {
        const LinearLayer *L = &mp.lin[i];
        float *W = mem_alloc_floats((size_t)L->O * L->I, MEM_WORKSPACE), *b = mem_alloc_floats(L->O, MEM_WORKSPACE);
        L->method->export_dense(L, W, b);
        h = tl_fnv(tl_fnv(h, W, sizeof(float) * (size_t)L->O * L->I), b, sizeof(float) * (size_t)L->O);
        mem_free(W); mem_free(b);
    }
    mem_free(img); mem_free(y);
    model_free(&m);
    return h;
}

// The memory section's three flags of an image model's config.
static void set_memory(ModelConfig *cfg, int f16, int recompute) {
    if (cfg->kind == MODEL_VIT) {
        cfg->vit.gelu_f16 = cfg->vit.softmax_f16 = f16; cfg->vit.recompute = recompute;
    } else if (cfg->kind == MODEL_SWIN) {
        cfg->swin.gelu_f16 = cfg->swin.softmax_f16 = f16; cfg->swin.recompute = recompute;
    } else die("no memory options for model kind %d", (int)cfg->kind);
}

void tl_recompute_bit_identical(const ModelConfig *cfg, int nft_partial, int B) {
    TlVariant v[10];
    int n = tl_hash_variants(v, model_config_act_modes(cfg));
    const int nft[2] = {-1, nft_partial};
    for (int i = 0; i < n; i++)
        for (int f = 0; f < 2; f++) {
            ModelConfig c = *cfg;
            float l0[3], l1[3];
            set_memory(&c, f, 0);
            uint64_t h0 = tl_train_hash(&c, v[i].m, &v[i].c, nft[f], B, 2, l0);
            set_memory(&c, f, 1);
            uint64_t h1 = tl_train_hash(&c, v[i].m, &v[i].c, nft[f], B, 2, l1);
            EXPECT(!memcmp(l0, l1, sizeof l0) && h0 == h1, "%s (num_of_finetune %d%s): recompute losses %.9g %.9g %.9g vs %.9g %.9g %.9g, "
                   "weights %s", v[i].tag, nft[f], f ? ", f16" : "", (double)l1[0], (double)l1[1], (double)l1[2], (double)l0[0],
                   (double)l0[1], (double)l0[2], h0 == h1 ? "equal" : "differ");
            printf("  %-42s nft %2d%s: recompute %s (losses %.7f %.7f %.7f)\n", v[i].tag, nft[f], f ? " f16" : "    ",
                   h0 == h1 && !memcmp(l0, l1, sizeof l0) ? "bit-identical" : "DIFFERS", (double)l1[0], (double)l1[1], (double)l1[2]);
        }
}

void tl_linear_grads(const LinearLayer *L, float *dW, float *db) {
    ParamSet *ps[4];
    int n = L->method->param_sets((LinearLayer *)L, ps);
    CHECK(n == 1, "%s: %d parameter sets", L->name, n);
    if (db && L->no_bias) memset(db, 0, sizeof(float) * (size_t)L->O);
    else if (db) memcpy(db, params_grad(ps[0], "bias"), sizeof(float) * (size_t)L->O);
    if (L->method == &method_wasi || L->method == &method_wsi) wasi_weight_grad(L, dW);
    else memcpy(dW, params_grad(ps[0], "weight"), sizeof(float) * (size_t)L->O * L->I);
}

double tl_compare_method_grads(const ParamSet *ta, const ParamSet *tb, const LinearLayer *la, const LinearLayer *lb,
                               int nlin, const char *tag) {
    double worst = 0;
    char what[256];
    for (int i = 0; i < ta->n; i++) {
        const ParamInfo *pi = &ta->info[i];
        const float *ga = ta->grads + pi->offset, *gb = tb->grads + tb->info[i].offset;
        double amax = tl_max_abs(ga, pi->numel), d = tl_max_abs_diff(gb, ga, pi->numel);
        snprintf(what, sizeof what, "%s %s", tag, pi->name);
        EXPECT_CLOSE(what, gb, ga, pi->numel, 1e-4 * amax, 1e-3);
        EXPECT_NONZERO(what, ga, pi->numel);
        if (amax > 0 && d / amax > worst) worst = d / amax;
    }
    for (int i = 0; i < nlin; i++) {
        const LinearLayer *La = &la[i], *Lb = &lb[i];
        EXPECT(La->trainable == Lb->trainable, "%s %s: trainable %d vs %d", tag, La->name, Lb->trainable, La->trainable);
        if (!La->trainable) continue;   // frozen (num_of_finetune): no gradient to compare
        size_t OI = (size_t)La->O * La->I;
        float *wa = mem_alloc_floats(OI, MEM_WORKSPACE), *wb = mem_alloc_floats(OI, MEM_WORKSPACE);
        float *ba = mem_alloc_floats(La->O, MEM_WORKSPACE), *bb = mem_alloc_floats(La->O, MEM_WORKSPACE);
        tl_linear_grads(La, wa, ba);
        tl_linear_grads(Lb, wb, bb);
        double amax = tl_max_abs(wa, OI), d = tl_max_abs_diff(wb, wa, OI);
        snprintf(what, sizeof what, "%s %s dW (%s)", tag, La->name, Lb->method->name);
        EXPECT_CLOSE(what, wb, wa, OI, 1e-4 * amax, 1e-3);
        EXPECT_NONZERO(what, wa, OI);
        if (amax > 0 && d / amax > worst) worst = d / amax;
        // the k bias gets a zero gradient in exact arithmetic (softmax ignores
        // a per-query constant): its tolerance is relative to the layer's scale
        double bmax = tl_max_abs(ba, La->O);
        snprintf(what, sizeof what, "%s %s db", tag, La->name);
        EXPECT_CLOSE(what, bb, ba, La->O, 1e-4 * (bmax > amax ? bmax : amax), 1e-3);
        mem_free(wa); mem_free(wb); mem_free(ba); mem_free(bb);
    }
    return worst;
}

TlGradErr tl_compare_ref_grads(Model *m, const SafeTensors *ref, TlModelGrad grad, double atol_frac, double rtol,
                               int *n_checked) {
    TlGradErr e = {0, 0};
    *n_checked = 0;
    for (int i = 0; i < ref->n; i++) {
        const char *nm = ref->t[i].name;
        if (strncmp(nm, "grad.", 5)) continue;
        size_t n;
        float *want = tl_read_tensor(ref, nm, &n);
        float *got = mem_alloc_floats(n, MEM_WORKSPACE);
        EXPECT(grad(m, nm + 5, got, n), "model trains %s", nm + 5);
        double amax = tl_max_abs(want, n), d = tl_max_abs_diff(got, want, n);
        EXPECT_CLOSE(nm, got, want, n, atol_frac * amax, rtol);
        EXPECT_NONZERO(nm, want, n);
        if (d > e.max_abs) e.max_abs = d;
        if (amax > 0 && d / amax > e.max_rel) e.max_rel = d / amax;
        (*n_checked)++;
        mem_free(want); mem_free(got);
    }
    return e;
}

static ModelBinding dense_binding(void) {
    ModelBinding b;
    memset(&b, 0, sizeof b);
    b.num_finetune = -1;
    return b;
}

static void build_loaded(Model *m, const ModelConfig *cfg, int B, const char *weights) {
    ModelBinding bind = dense_binding();
    model_build(m, cfg, &bind, B);
    WbError err;
    if (model_load(m, weights, 0, 0, &err) < 0) die("%s", err.msg);
}

void tl_model_reference_case(const ModelConfig *cfg, const TlReferenceCase *c) {
    char wpath[256], rpath[256];
    snprintf(wpath, sizeof wpath, "tests/data/ref/%s_%s_weights.safetensors", c->family, c->tag);
    snprintf(rpath, sizeof rpath, "tests/data/ref/%s_%s_ref.safetensors", c->family, c->tag);
    SafeTensors ref, wts;
    WbError err;
    if (st_open(&ref, rpath, &err) < 0) { EXPECT(0, "%s", err.msg); return; }
    if (st_open(&wts, wpath, &err) < 0) { EXPECT(0, "%s", err.msg); st_close(&ref); return; }
    size_t nx, ny, nl, n1;
    float *x = tl_read_tensor(&ref, "input", &nx), *yf = tl_read_tensor(&ref, "labels", &ny);
    float *logits = tl_read_tensor(&ref, "logits", &nl), *loss = tl_read_tensor(&ref, "loss", &n1);
    int B = (int)ny, *y = mem_alloc(sizeof(int) * (size_t)B, MEM_DATA);
    for (int i = 0; i < B; i++) y[i] = (int)yf[i];
    Model m;
    build_loaded(&m, cfg, B, wpath);

    model_zero_grad(&m);
    double t0 = wall_seconds();
    float L = model_forward(&m, x, y, B, 1);
    model_backward(&m);
    double dt = wall_seconds() - t0;
    double dl = tl_max_abs_diff(model_logits(&m), logits, nl);
    EXPECT_CLOSE("logits", model_logits(&m), logits, nl, c->logit_tol, c->logit_tol);
    EXPECT_NEAR("loss", L, loss[0], 1e-5, 1e-5);
    int ng;
    TlGradErr e = tl_compare_ref_grads(&m, &ref, c->grad, c->grad_atol_frac, c->grad_rtol, &ng);
    printf("  %s: B=%d logits max|diff| %.3g, loss %.7f vs %.7f, %d gradients: max|diff| %.3g, max|diff|/max|ref| %.3g; "
           "fwd+bwd %.3f s\n", c->tag, B, dl, (double)L, (double)loss[0], ng, e.max_abs, e.max_rel, dt);
    if (c->check) c->check(&m, &wts, ng);

    // Inference forward equals the training forward.
    float *l1 = mem_alloc_floats(nl, MEM_WORKSPACE);
    memcpy(l1, model_logits(&m), nl * sizeof(float));
    model_forward(&m, x, NULL, B, 0);
    EXPECT_CLOSE("inference logits", model_logits(&m), l1, nl, 0, 0);
    mem_free(l1);
    model_free(&m);

    // 5 steps of SGD (momentum 0.9, wd 1e-4, clip 2.0) and of AdamW, as reflib.py.
    const char *opt_names[2] = {"sgd_losses", "adamw_losses"};
    OptimConfig ocs[2] = {optim_sgd(0.9f, 1e-4f), optim_adamw(0.9f, 0.999f, 1e-8f, 0.05f)};
    float lrs[2] = {0.01f, 1e-3f};
    for (int o = 0; o < 2; o++) {
        if (!st_find(&ref, opt_names[o])) continue;
        size_t n5;
        float *want = tl_read_tensor(&ref, opt_names[o], &n5), got[5];
        build_loaded(&m, cfg, B, wpath);
        t0 = wall_seconds();
        for (int s = 0; s < 5; s++) {
            model_zero_grad(&m);
            got[s] = model_forward(&m, x, y, B, 1);
            model_backward(&m);
            if (o == 0) model_clip_grad(&m, 2.0f);
            model_update(&m, &ocs[o], lrs[o]);
        }
        double d5 = tl_max_abs_diff(got, want, 5);
        printf("  %s %s: C %.6f %.6f %.6f %.6f %.6f | torch %.6f %.6f %.6f %.6f %.6f (max|diff| %.2g, %.2f s/step)\n",
               c->tag, opt_names[o], (double)got[0], (double)got[1], (double)got[2], (double)got[3], (double)got[4],
               (double)want[0], (double)want[1], (double)want[2], (double)want[3], (double)want[4], d5,
               (wall_seconds() - t0) / 5);
        EXPECT_CLOSE(opt_names[o], got, want, 5, c->traj_atol, c->traj_rtol);
        model_free(&m);
        mem_free(want);
    }
    mem_free(x); mem_free(yf); mem_free(logits); mem_free(loss); mem_free(y);
    st_close(&ref);
    st_close(&wts);
}

// Split checkpoint src into two shards (tensors alternating) plus a
// model.safetensors.index.json in folder dir, the layout Hugging Face ships.
static void shard_checkpoint(const char *src, const char *dir) {
    SafeTensors st;
    WbError err;
    if (st_open(&st, src, &err) < 0) { EXPECT(0, "%s", err.msg); return; }
    mkdir(dir, 0755);
    float **data = mem_alloc(sizeof(float *) * (size_t)st.n, MEM_WORKSPACE);
    StWriter w[2];
    st_writer_init(&w[0]);
    st_writer_init(&w[1]);
    size_t cap = 256 + (size_t)st.n * (ST_NAME_MAX + 64), k = 0;
    char *json = mem_alloc(cap, MEM_WORKSPACE);
    k += (size_t)snprintf(json + k, cap - k, "{\"metadata\": {}, \"weight_map\": {");
    for (int i = 0; i < st.n; i++) {
        const StTensor *t = &st.t[i];
        int shape[ST_MAX_DIMS];
        for (int d = 0; d < t->ndim; d++) shape[d] = (int)t->shape[d];
        data[i] = mem_alloc_floats(st_numel(t) + 1, MEM_WORKSPACE);
        EXPECT(st_read(&st, t->name, data[i], t->ndim, shape, &err) == 0, "%s", err.msg);
        st_writer_add(&w[i % 2], t->name, t->ndim, shape, data[i]);
        k += (size_t)snprintf(json + k, cap - k, "%s\"%s\": \"part-%d.safetensors\"", i ? ", " : "", t->name, i % 2);
    }
    snprintf(json + k, cap - k, "}}\n");
    char p[700];
    for (int s = 0; s < 2; s++) {
        snprintf(p, sizeof p, "%s/part-%d.safetensors", dir, s);
        EXPECT(st_writer_save(&w[s], p, &err) == 0, "%s", err.msg);
        st_writer_free(&w[s]);
    }
    snprintf(p, sizeof p, "%s/model.safetensors.index.json", dir);
    FILE *f = xfopen(p, "wb");
    xfwrite(json, 1, strlen(json), f, p);
    fclose(f);
    for (int i = 0; i < st.n; i++) mem_free(data[i]);
    mem_free(data);
    mem_free(json);
    st_close(&st);
}

void tl_model_checkpoint_roundtrip(const ModelConfig *cfg, const ModelConfig *wide, const char *first_tensor,
                                   const char *file, void (*check)(const Model *saved, const char *path)) {
    ModelBinding bind = dense_binding();
    Model a, b, c;
    model_build(&a, cfg, &bind, 2);
    model_init_random(&a, 7);
    char p1[512], p2[512];
    snprintf(p1, sizeof p1, "%s/%s", tl_tmpdir(), file);
    snprintf(p2, sizeof p2, "%s/again-%s", tl_tmpdir(), file);
    WbError err;
    EXPECT(model_save(&a, p1, &err) == 0, "save: %s", err.msg);
    model_build(&b, cfg, &bind, 2);
    EXPECT(model_load(&b, p1, 0, 0, &err) == 0, "load: %s", err.msg);
    EXPECT(model_save(&b, p2, &err) == 0, "save again: %s", err.msg);
    EXPECT(tl_files_equal(p1, p2), "checkpoint written, loaded and written again is byte-identical");
    ParamSet *sa[256], *sb[256];
    int na = model_param_sets(&a, sa, 256), nb = model_param_sets(&b, sb, 256), same = na == nb && na > 0;
    for (int i = 0; same && i < na; i++)
        same = sa[i]->numel == sb[i]->numel && !memcmp(sa[i]->params, sb[i]->params, sa[i]->numel * sizeof(float));
    EXPECT(same, "model parameters bit-identical (%d sets)", na);
    // The same checkpoint split into two shards loads through its folder's index.
    char sdir[600];
    snprintf(sdir, sizeof sdir, "%s/sharded-%s", tl_tmpdir(), file);
    shard_checkpoint(p1, sdir);
    Model d;
    model_build(&d, cfg, &bind, 2);
    EXPECT(model_load(&d, sdir, 0, 0, &err) == 0, "load the 2-shard checkpoint: %s", err.msg);
    ParamSet *sd[256];
    int nd = model_param_sets(&d, sd, 256), same_d = nd == na;
    for (int i = 0; same_d && i < na; i++)
        same_d = sa[i]->numel == sd[i]->numel && !memcmp(sa[i]->params, sd[i]->params, sa[i]->numel * sizeof(float));
    EXPECT(same_d, "2-shard checkpoint loads bit-identical parameters");
    model_free(&d);
    // and the two models compute bit-identical logits
    int S, Cin, K;
    model_config_io(cfg, &S, &Cin, &K);
    float *img = mem_alloc_floats((size_t)2 * Cin * S * S, MEM_DATA);
    int y[2];
    tl_random_batch(img, y, 2, Cin, S, K, 3);
    model_forward(&a, img, NULL, 2, 0);
    model_forward(&b, img, NULL, 2, 0);
    EXPECT(!memcmp(model_logits(&a), model_logits(&b), (size_t)2 * K * sizeof(float)), "logits bit-identical after reload");
    if (check) check(&a, p1);
    // A wrong-shape model names the tensor and both shapes.
    model_build(&c, wide, &bind, 2);
    EXPECT(model_load(&c, p1, 0, 0, &err) < 0 && strstr(err.msg, first_tensor), "shape mismatch reported: %s", err.msg);
    model_free(&a); model_free(&b); model_free(&c);
    mem_free(img);
}

int tl_blas_threads_invariant(char *why, size_t cap) {
    static const int shapes[][3] = {{200, 128, 64}, {400, 768, 192}, {96, 384, 192}};   // (M, N, K)
    int before = threads_get(), ok = 1;
    Rng r;
    rng_seed(&r, 5);
    if (why && cap) why[0] = 0;
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0] && ok; s++) {
        int M = shapes[s][0], N = shapes[s][1], K = shapes[s][2];
        float *A = tl_randn(&r, (size_t)M * K, 1), *B = tl_randn(&r, (size_t)K * N, 1);
        float *C1 = tl_randn(&r, (size_t)M * N, 0), *C2 = tl_randn(&r, (size_t)M * N, 0);
        threads_set(1);
        gemm(0, 1, M, N, K, 1, A, K, B, K, 0, C1, N);
        threads_set(2);
        gemm(0, 1, M, N, K, 1, A, K, B, K, 0, C2, N);
        size_t differ = 0;
        for (size_t i = 0; i < (size_t)M * N; i++) differ += memcmp(&C1[i], &C2[i], sizeof(float)) != 0;
        if (differ) {
            ok = 0;
            if (why) snprintf(why, cap, "%s: sgemm %dx%dx%d gives %zu of %d values other bits with 2 threads than with 1",
                              blas_name(), M, N, K, differ, M * N);
        }
        mem_free(A); mem_free(B); mem_free(C1); mem_free(C2);
    }
    threads_set(before);
    return ok;
}

ModelPaperMemory methods_paper_memory(const ViTConfig *cfg, int B, const ModelBinding *bind, const char *method,
                                      const LayerRanks *ranks) {
    ModelConfig mc = {.kind = MODEL_VIT, .vit = *cfg};
    return model_methods_paper_memory(&mc, B, bind, method, ranks);
}

ModelPaperMemory swin_methods_paper_memory(const SwinConfig *cfg, int B, const ModelBinding *bind, const char *method,
                                           const LayerRanks *ranks) {
    ModelConfig mc = {.kind = MODEL_SWIN, .swin = *cfg};
    return model_methods_paper_memory(&mc, B, bind, method, ranks);
}

ModelPaperMemory llama_methods_paper_memory(const LlamaConfig *cfg, int B, const ModelBinding *bind, const char *method,
                                            const LayerRanks *ranks) {
    ModelConfig mc = {.kind = MODEL_LLAMA, .llama = *cfg};
    return model_methods_paper_memory(&mc, B, bind, method, ranks);
}

const char *tl_write_tmp(const char *name, const char *text) {
    static char path[8][512];
    static int slot;
    char *p = path[slot++ % 8];
    snprintf(p, sizeof path[0], "%s/%s", tl_tmpdir(), name);
    FILE *f = fopen(p, "w");
    if (!f) die("cannot write %s", p);
    fputs(text, f);
    fclose(f);
    return p;
}

ModelBinding tl_plan_binding(const LinearMethod *m, int all_linear, int num_finetune, int factored, uint64_t seed) {
    ModelBinding b;
    memset(&b, 0, sizeof b);
    b.method = m;
    b.num_finetune = num_finetune;
    b.all_linear = all_linear;
    b.mcfg.epsilon = 0.9f;
    b.mcfg.lora_rank = 3;
    b.mcfg.lora_alpha = 6;
    b.mcfg.factored = factored;
    b.mcfg.seed = seed;
    return b;
}
