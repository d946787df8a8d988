// test_vit.c: the ViT against PyTorch (torchvision's VisionTransformer, same
// weights, written by tests/ref_vit.py): logits, loss and every parameter
// gradient; 5 SGD (+grad clip) and 5 AdamW steps; a micro config and
// vit_b_32 itself at batch 2. Also: checkpoints load back bit-identically,
// partial fine-tuning gives the full model's gradients for what it trains,
// and inference matches the training forward.
#include "baselines/registry.h"
#include "core/linalg/blas.h"
#include "core/runtime/counters.h"
#include "core/models/model_params.h"
#include "core/runtime/rng.h"
#include "core/nn/linear_dense.h"
#include "core/runtime/memory.h"
#include "core/models/model.h"
#include "core/train/optim.h"
#include "core/io/safetensors.h"
#include "core/models/vit.h"
#include "tests/testlib.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static ViTConfig micro_cfg(void) {   // must match CONFIGS["micro"] in ref_vit.py
    ViTConfig c = {32, 8, 3, 64, 3, 4, 128, 10, 1e-6f, 0, 0, 0};
    return c;
}
static ViTConfig b32_cfg(void) { ViTConfig c; vit_preset("vit_b_32", &c); return c; }

// The dense gradient of a torchvision-named parameter, assembled from where
// the model keeps it (its own sets, or the linears' sets). 0 if not trained.
static int vit_grad(ViT *m, const char *name, float *dst) {
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

static int ref_grad(Model *m, const char *name, float *dst, size_t n) {
    (void)n;
    return vit_grad(&m->u.vit, name, dst);
}

static ModelConfig as_model(ViTConfig c) { ModelConfig mc = {.kind = MODEL_VIT, .vit = c}; return mc; }

// Every parameter's gradient was compared: the model's own and 8 per block
// (in_proj weight/bias packing q, k, v; out_proj, mlp.0, mlp.3).
static void check_counts(Model *m, const SafeTensors *weights, int ng) {
    (void)weights;
    EXPECT(ng == m->u.vit.train.n + m->u.vit.cfg.depth * 8, "gradients compared: %d", ng);
}

static void reference_case(const char *tag, ViTConfig cfg, double logit_tol, double grad_atol_frac, double grad_rtol) {
    ModelConfig mc = as_model(cfg);
    TlReferenceCase c = {"vit", tag, logit_tol, grad_atol_frac, grad_rtol, 2e-4, 2e-3, ref_grad, check_counts};
    tl_model_reference_case(&mc, &c);
}

static void test_micro_vs_pytorch(void) { reference_case("micro", micro_cfg(), 2e-5, 1e-4, 1e-3); }

// memory.gelu_f16 / softmax_f16 (approximate): the same reference pair, the
// forward unchanged (logits and loss as tight as exact), every gradient
// within a looser bound against torch's exact ones; the printed max|diff| /
// max|ref| is the option's gradient error.
static void test_f16_saving_vs_pytorch(void) {
    const char *names[3] = {"gelu_f16", "softmax_f16", "gelu_f16+softmax_f16"};
    for (int o = 0; o < 3; o++) {
        ViTConfig c = micro_cfg();
        c.gelu_f16 = o != 1;
        c.softmax_f16 = o != 0;
        printf("  %s:\n", names[o]);
        reference_case("micro", c, 2e-5, 1e-3, 1e-2);
    }
}

static void test_vit_b_32_vs_pytorch(void) {
    if (getenv("WB_QUICK")) { printf("  (WB_QUICK: vit_b_32 reference runs in the normal build)\n"); return; }
    reference_case("b32", b32_cfg(), 1e-4, 1e-3, 1e-2);
}

static void test_checkpoint_roundtrip(void) {
    ViTConfig wide = micro_cfg();
    wide.dim = 32; wide.heads = 4; wide.mlp_dim = 64;
    ModelConfig mc = as_model(micro_cfg()), mw = as_model(wide);
    tl_model_checkpoint_roundtrip(&mc, &mw, "conv_proj.weight", "ckpt.safetensors", NULL);
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
                if (vit_grad(&b, nm, g)) {
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
    RUN(test_f16_saving_vs_pytorch);
    RUN(test_checkpoint_roundtrip);
    RUN(test_partial_finetune_grads);
    RUN(test_fused_update_bit_identical);
    RUN(test_vit_b_32_vs_pytorch);
    return tl_finish();
}
