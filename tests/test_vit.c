// test_vit.c: the ViT against PyTorch (torchvision's VisionTransformer, same
// weights, written by tests/ref_vit.py): logits, loss and every parameter
// gradient; 5 SGD (+grad clip) and 5 AdamW steps; a micro config and
// vit_b_32 itself at batch 2. Also: checkpoints load back bit-identically,
// partial fine-tuning gives the full model's gradients for what it trains,
// and inference matches the training forward.
#include "baselines/registry.h"
#include "core/blas.h"
#include "core/counters.h"
#include "core/model_params.h"
#include "core/rng.h"
#include "core/linear_dense.h"
#include "core/memory.h"
#include "core/optim.h"
#include "core/safetensors.h"
#include "core/vit.h"
#include "tests/testlib.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define REF "tests/data/ref"

static float *read_all(const SafeTensors *st, const char *name, size_t *numel) {
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

static ViTConfig micro_cfg(void) {   // must match CONFIGS["micro"] in ref_vit.py
    ViTConfig c = {32, 8, 3, 64, 3, 4, 128, 10, 1e-6f};
    return c;
}
static ViTConfig b32_cfg(void) { ViTConfig c; vit_preset("vit_b_32", &c); return c; }

// The dense gradient of a torchvision-named parameter, assembled from where
// the model keeps it (its own sets, or the linears' sets). 0 if not trained.
static int model_grad(ViT *m, const char *name, float *dst) {
    int i = params_index(&m->train, name);
    if (i >= 0) { memcpy(dst, m->train.grads + m->train.info[i].offset, m->train.info[i].numel * sizeof(float)); return 1; }
    if (params_index(&m->frozen, name) >= 0) return 0;
    int l; char rest[128];
    CHECK(sscanf(name, "encoder.layers.encoder_layer_%d.%127s", &l, rest) == 2, "unexpected name %s", name);
    static const char *suf[VIT_NLIN] = {"", "", "", "self_attention.out_proj", "mlp.0", "mlp.3"};
    int packed = !strncmp(rest, "self_attention.in_proj_", 23), is_w = strstr(rest, "weight") != NULL;
    for (int w = 0; w < VIT_NLIN; w++) {
        LinearLayer *L = &m->lin[l * VIT_NLIN + w];
        int match = packed ? (w <= VIT_V) : (w > VIT_V && !strncmp(rest, suf[w], strlen(suf[w])) && rest[strlen(suf[w])] == '.');
        if (!match) continue;
        ParamSet *ps[4];
        if (L->method->param_sets(L, ps) == 0) return 0;
        const float *g = params_grad(ps[0], is_w ? "weight" : "bias");
        size_t n = is_w ? (size_t)L->O * L->I : (size_t)L->O;
        memcpy(dst + (packed ? (size_t)w * n : 0), g, n * sizeof(float));
    }
    return 1;
}

typedef struct { double max_abs, max_rel; } Err;

// Compare every gradient in ref against the model; tolerance relative to
// each tensor's largest entry: |diff| <= atol_frac*max|ref| + rtol*|ref|.
static Err compare_grads(ViT *m, const SafeTensors *ref, double atol_frac, double rtol, int *n_checked) {
    Err e = {0, 0};
    *n_checked = 0;
    for (int i = 0; i < ref->n; i++) {
        const char *nm = ref->t[i].name;
        if (strncmp(nm, "grad.", 5)) continue;
        size_t n;
        float *want = read_all(ref, nm, &n);
        float *got = mem_alloc_floats(n, MEM_WORKSPACE);
        EXPECT(model_grad(m, nm + 5, got), "model trains %s", nm + 5);
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

static void build_from_ref(ViT *m, ViTConfig cfg, int B, const char *weights, const ViTBinding *bind) {
    vit_build(m, &cfg, bind, B);
    WbError err;
    if (vit_load(m, weights, 0, 0, &err) < 0) die("%s", err.msg);
}

static void reference_case(const char *tag, ViTConfig cfg, double logit_tol, double grad_atol_frac, double grad_rtol) {
    char wpath[256], rpath[256];
    snprintf(wpath, sizeof wpath, REF "/vit_%s_weights.safetensors", tag);
    snprintf(rpath, sizeof rpath, REF "/vit_%s_ref.safetensors", tag);
    SafeTensors ref; WbError err;
    if (st_open(&ref, rpath, &err) < 0) { EXPECT(0, "%s", err.msg); return; }
    size_t nx, ny, nl, n1;
    float *x = read_all(&ref, "input", &nx), *yf = read_all(&ref, "labels", &ny);
    float *logits = read_all(&ref, "logits", &nl), *loss = read_all(&ref, "loss", &n1);
    int B = (int)ny, *y = mem_alloc(sizeof(int) * (size_t)B, MEM_DATA);
    for (int i = 0; i < B; i++) y[i] = (int)yf[i];
    ViTBinding bind = {0};
    bind.num_finetune = -1;
    ViT m;
    build_from_ref(&m, cfg, B, wpath, &bind);

    mparams_zero_grad(vit_params(&m));
    double t0 = wall_seconds();
    float L = vit_forward(&m, x, y, B, 1);
    vit_backward(&m);
    double dt = wall_seconds() - t0;
    double dl = tl_max_abs_diff(m.logits, logits, nl);
    EXPECT_CLOSE("logits", m.logits, logits, nl, logit_tol, logit_tol);
    EXPECT_NEAR("loss", L, loss[0], 1e-5, 1e-5);
    int ng;
    Err e = compare_grads(&m, &ref, grad_atol_frac, grad_rtol, &ng);
    printf("  %s: B=%d logits max|diff| %.3g, loss %.7f vs %.7f, %d gradients: max|diff| %.3g, max|diff|/max|ref| %.3g; fwd+bwd %.3f s\n",
           tag, B, dl, (double)L, (double)loss[0], ng, e.max_abs, e.max_rel, dt);
    EXPECT(ng == m.train.n + m.cfg.depth * 8, "gradients compared: %d", ng);

    // Inference forward equals the training forward.
    float *l1 = mem_alloc_floats(nl, MEM_WORKSPACE);
    memcpy(l1, m.logits, nl * sizeof(float));
    vit_forward(&m, x, NULL, B, 0);
    EXPECT_CLOSE("inference logits", m.logits, l1, nl, 0, 0);
    mem_free(l1);
    vit_free(&m);

    // 5 steps of SGD (momentum 0.9, wd 1e-4, clip 2.0) and of AdamW, as ref_vit.py.
    const char *opt_names[2] = {"sgd_losses", "adamw_losses"};
    OptimConfig ocs[2] = {optim_sgd(0.9f, 1e-4f), optim_adamw(0.9f, 0.999f, 1e-8f, 0.05f)};
    float lrs[2] = {0.01f, 1e-3f};
    for (int o = 0; o < 2; o++) {
        size_t n5;
        float *want = read_all(&ref, opt_names[o], &n5), got[5];
        build_from_ref(&m, cfg, B, wpath, &bind);
        for (int s = 0; s < 5; s++) {
            mparams_zero_grad(vit_params(&m));
            got[s] = vit_forward(&m, x, y, B, 1);
            vit_backward(&m);
            if (o == 0) mparams_clip_grad(vit_params(&m), 2.0f);
            mparams_update(vit_params(&m), &ocs[o], lrs[o]);
        }
        printf("  %s %s: C %.6f %.6f %.6f %.6f %.6f | torch %.6f %.6f %.6f %.6f %.6f\n", tag, opt_names[o],
               (double)got[0], (double)got[1], (double)got[2], (double)got[3], (double)got[4],
               (double)want[0], (double)want[1], (double)want[2], (double)want[3], (double)want[4]);
        EXPECT_CLOSE(opt_names[o], got, want, 5, 2e-4, 2e-3);
        vit_free(&m);
        mem_free(want);
    }
    mem_free(x); mem_free(yf); mem_free(logits); mem_free(loss); mem_free(y);
    st_close(&ref);
}

static void test_micro_vs_pytorch(void) { reference_case("micro", micro_cfg(), 2e-5, 1e-4, 1e-3); }

static void test_vit_b_32_vs_pytorch(void) {
    if (getenv("WB_QUICK")) { printf("  (WB_QUICK: vit_b_32 reference runs in the normal build)\n"); return; }
    reference_case("b32", b32_cfg(), 1e-4, 1e-3, 1e-2);
}

static int files_equal(const char *a, const char *b) {
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

static void test_checkpoint_roundtrip(void) {
    ViTConfig cfg = micro_cfg();
    ViTBinding bind = {0};
    bind.num_finetune = -1;
    ViT a, b;
    vit_build(&a, &cfg, &bind, 2);
    vit_init_random(&a, 7);
    char p1[512], p2[512];
    snprintf(p1, sizeof p1, "%s/ckpt1.safetensors", tl_tmpdir());
    snprintf(p2, sizeof p2, "%s/ckpt2.safetensors", tl_tmpdir());
    WbError err;
    EXPECT(vit_save(&a, p1, &err) == 0, "save: %s", err.msg);
    vit_build(&b, &cfg, &bind, 2);
    EXPECT(vit_load(&b, p1, 0, 0, &err) == 0, "load: %s", err.msg);
    EXPECT(vit_save(&b, p2, &err) == 0, "save again: %s", err.msg);
    EXPECT(files_equal(p1, p2), "checkpoint written, loaded and written again is byte-identical");
    EXPECT(a.train.numel == b.train.numel && !memcmp(a.train.params, b.train.params, a.train.numel * sizeof(float)), "model parameters bit-identical");
    // and the two models compute bit-identical logits
    float img[2 * 3 * 32 * 32];
    Rng r; rng_seed(&r, 3); rng_fill_normal(&r, img, 2 * 3 * 32 * 32, 0, 1);
    vit_forward(&a, img, NULL, 2, 0);
    vit_forward(&b, img, NULL, 2, 0);
    EXPECT(!memcmp(a.logits, b.logits, 2 * 10 * sizeof(float)), "logits bit-identical after reload");
    // A wrong-shape model names the tensor and both shapes.
    ViTConfig wide = cfg; wide.dim = 32; wide.heads = 4; wide.mlp_dim = 64;
    ViT c;
    vit_build(&c, &wide, &bind, 2);
    EXPECT(vit_load(&c, p1, 0, 0, &err) < 0 && strstr(err.msg, "conv_proj.weight"), "shape mismatch reported: %s", err.msg);
    vit_free(&a); vit_free(&b); vit_free(&c);
}

// num_of_finetune = n trains only the last n counted linears and everything
// after the first of them; their gradients must equal the full model's.
static void test_partial_finetune_grads(void) {
    ViTConfig cfg = micro_cfg();
    int B = 3;
    float img[3 * 3 * 32 * 32];
    int y[3] = {1, 7, 4};
    Rng r; rng_seed(&r, 5); rng_fill_normal(&r, img, 3 * 3 * 32 * 32, 0, 1);
    ViTBinding full = {0};
    full.num_finetune = -1;
    ViT a;
    vit_build(&a, &cfg, &full, B);
    vit_init_random(&a, 11);
    mparams_zero_grad(vit_params(&a));
    float La = vit_forward(&a, img, y, B, 1);
    vit_backward(&a);
    for (int all_linear = 0; all_linear < 2; all_linear++)
        for (int n = 0; n <= 5; n++) {
            ViTBinding part = {0};
            part.num_finetune = n; part.all_linear = all_linear;
            ViT b;
            MemStats s0 = mem_stats();
            vit_build(&b, &cfg, &part, B);
            MemStats s1 = mem_stats();
            vit_init_random(&b, 11);
            mparams_zero_grad(vit_params(&b));
            float Lb = vit_forward(&b, img, y, B, 1);
            vit_backward(&b);
            EXPECT(La == Lb, "same loss (n=%d)", n);
            int trained = 0;
            for (int t = 0; t < a.train.n; t++) {
                const char *nm = a.train.info[t].name;
                size_t cnt = a.train.info[t].numel;
                float *g = mem_alloc_floats(cnt, MEM_WORKSPACE);
                if (model_grad(&b, nm, g)) {
                    trained++;
                    char what[200]; snprintf(what, sizeof what, "n=%d all_linear=%d %s", n, all_linear, nm);
                    EXPECT_CLOSE(what, g, a.train.grads + a.train.info[t].offset, cnt, 1e-6, 1e-5);
                }
                mem_free(g);
            }
            size_t acts = s1.current[MEM_ACTIVATIONS] - s0.current[MEM_ACTIVATIONS];
            printf("  num_finetune=%d all_linear=%d: %d of %d model tensors train, %zu trainable params, %zu B saved (model)\n",
                   n, all_linear, trained, a.train.n, mparams_num_trainable(vit_params(&b)), acts);
            EXPECT(trained >= 2 && trained < a.train.n, "partial training (n=%d: %d)", n, trained);
            vit_free(&b);
        }
    vit_free(&a);
}

// mparams_update_clipped (clip + step + zero_grad in one pass) must give the
// weights of mparams_clip_grad then mparams_update, bit for bit: all dense (fused
// path), LoRA on the MLP (scale, method update, clear) and partial
// fine-tuning (frozen linears), SGD with momentum and AdamW; afterwards the
// gradients are 0, zero_grad is a no-op and the next backward re-arms it.
static void test_fused_update_bit_identical(void) {
    ViTConfig cfg = micro_cfg();
    int B = 2;
    float img[2 * 3 * 32 * 32];
    int y[2] = {3, 8};
    Rng r; rng_seed(&r, 9); rng_fill_normal(&r, img, 2 * 3 * 32 * 32, 0, 1);
    for (int v = 0; v < 3; v++) {
        ViTBinding bind = {0};
        bind.num_finetune = v == 2 ? 2 : -1;
        if (v == 1) { bind.method = method_by_name("lora"); bind.mcfg.lora_rank = 4; bind.mcfg.lora_alpha = 8; bind.mcfg.seed = 3; }
        OptimConfig oc = v == 1 ? optim_adamw(0.9f, 0.999f, 1e-8f, 0.05f) : optim_sgd(0.9f, 1e-4f);
        ViT a, b;
        vit_build(&a, &cfg, &bind, B); vit_init_random(&a, 21);
        vit_build(&b, &cfg, &bind, B); vit_init_random(&b, 21);
        int same = 1, clipped = 0;
        for (int s = 0; s < 3; s++) {
            mparams_zero_grad(vit_params(&a));
            float La = vit_forward(&a, img, y, B, 1);
            vit_backward(&a);
            double ta = mparams_clip_grad(vit_params(&a), 0.05f);
            mparams_update(vit_params(&a), &oc, 1e-2f);
            mparams_zero_grad(vit_params(&b));
            float Lb = vit_forward(&b, img, y, B, 1);
            vit_backward(&b);
            EXPECT(b.grads_clear == 0, "backward re-arms zero_grad");
            double tb = mparams_grad_norm(vit_params(&b));
            mparams_update_clipped(vit_params(&b), &oc, 1e-2f, grad_clip_coef(tb, 0.05f));
            clipped += tb > 0.05;
            same &= La == Lb && ta == tb;
        }
        EXPECT(clipped == 3, "variant %d: every step clipped (%d)", v, clipped);
        ParamSet *sa[256], *sb[256];
        int na = mparams_sets(vit_params(&a), sa, 256), nb = mparams_sets(vit_params(&b), sb, 256), zero = 1, nonzero_before = 0;
        EXPECT(na == nb && na >= 2, "variant %d: %d vs %d sets", v, na, nb);
        for (int i = 0; i < na && i < nb; i++) {
            same &= memcmp(sa[i]->params, sb[i]->params, sa[i]->numel * sizeof(float)) == 0;
            for (size_t j = 0; j < sb[i]->numel; j++) { zero &= sb[i]->grads[j] == 0.0f; nonzero_before |= sa[i]->grads[j] != 0.0f; }
        }
        EXPECT(same, "variant %d: same losses, norms and weights as clip then update", v);
        EXPECT(nonzero_before, "variant %d: the unfused path had gradients to clear", v);
        EXPECT(zero && b.grads_clear == 1, "variant %d: gradients cleared by the fused step", v);
        mparams_zero_grad(vit_params(&b));   // a no-op now, and must stay correct
        for (int i = 0; i < nb; i++) for (size_t j = 0; j < sb[i]->numel; j++) zero &= sb[i]->grads[j] == 0.0f;
        EXPECT(zero, "variant %d: zero_grad after the fused step", v);
        vit_free(&a); vit_free(&b);
    }
}

int main(int argc, char **argv) {
    tl_init(argc, argv);
    threads_set(0);
    RUN(test_micro_vs_pytorch);
    RUN(test_checkpoint_roundtrip);
    RUN(test_partial_finetune_grads);
    RUN(test_fused_update_bit_identical);
    RUN(test_vit_b_32_vs_pytorch);
    return tl_finish();
}
