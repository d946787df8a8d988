// test_swin.c: the Swin Transformer against PyTorch (torchvision's
// SwinTransformer, same weights, written by tests/ref_swin.py): logits, loss
// and every parameter gradient, 5 SGD (+grad clip) steps, and 5 AdamW steps
// on the small configs; a micro config, an "odd" config whose maps are not
// multiples of the window (padding, odd patch merging, a window larger than
// the map), and swin_t itself at 224 px, batch 2. Also: the window layers
// against central differences, checkpoints load back bit-identically,
// partial fine-tuning gives the full model's gradients, hosvd/asi/wasi at
// epsilon = 1 reproduce vanilla with 4-mode activations, stochastic depth,
// and the paper measure (closed form = account(); swin_t at batch 128,
// MLP only: 3491 + 66 = 3557 MB).
#include "baselines/asi.h"
#include "baselines/hosvd.h"
#include "baselines/registry.h"
#include "baselines/registry_model.h"
#include "baselines/vanilla.h"
#include "core/linalg/blas.h"
#include "core/runtime/counters.h"
#include "core/models/model_params.h"
#include "core/runtime/memory.h"
#include "core/models/model.h"
#include "core/train/optim.h"
#include "core/runtime/rng.h"
#include "core/io/safetensors.h"
#include "core/models/swin.h"
#include "core/nn/swin_layers.h"
#include "baselines/wasi.h"
#include "baselines/wsi.h"
#include "tests/testlib.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

// Must match CONFIGS in ref_swin.py.
static SwinConfig micro_cfg(void) { SwinConfig c; swin_preset("swin_micro", &c); return c; }
static SwinConfig odd_cfg(void) {
    SwinConfig c = {36, 2, 3, 16, 4, {2, 2, 2, 2}, {1, 2, 2, 4}, 4, 4, 7, 1e-5f, 0.0f, 0, 0, 0};
    return c;
}
static SwinConfig t_cfg(void) { SwinConfig c; swin_preset("swin_t", &c); return c; }

static SwinBinding dense_binding(void) {
    SwinBinding b;
    memset(&b, 0, sizeof b);
    b.num_finetune = -1;
    return b;
}

// The dense gradient of a torchvision-named parameter from where the model
// keeps it (its own set or a linear's). 0 if not trained.
static int swin_grad(Swin *m, const char *name, float *dst) {
    int i = params_index(&m->train, name);
    if (i >= 0) { memcpy(dst, m->train.grads + m->train.info[i].offset, m->train.info[i].numel * sizeof(float)); return 1; }
    if (params_index(&m->frozen, name) >= 0) return 0;
    for (int k = 0; k < m->nblocks * SWIN_NLIN; k++) {
        LinearLayer *L = &m->lin[k];
        size_t n = strlen(L->name);
        if (strncmp(name, L->name, n) || name[n] != '.') continue;
        ParamSet *ps[4];
        if (L->method->param_sets(L, ps) == 0) return 0;
        int is_w = !strcmp(name + n + 1, "weight");
        if (is_w && (L->method == &method_wasi || L->method == &method_wsi)) { wasi_weight_grad(L, dst); return 1; }
        memcpy(dst, params_grad(ps[0], is_w ? "weight" : "bias"), sizeof(float) * (is_w ? (size_t)L->O * L->I : (size_t)L->O));
        return 1;
    }
    die("no parameter %s in the model", name);
}

static int ref_grad(Model *m, const char *name, float *dst, size_t n) {
    (void)n;
    return swin_grad(&m->u.swin, name, dst);
}

static ModelConfig as_model(SwinConfig c) { ModelConfig mc = {.kind = MODEL_SWIN, .swin = c}; return mc; }

// The computed relative_position_index equals torchvision's buffer, and every
// parameter's gradient was compared (the model's own and 8 per block).
static void check_swin(Model *mm, const SafeTensors *wts, int ng) {
    const Swin *m = &mm->u.swin;
    size_t ni;
    float *idx = tl_read_tensor(wts, "features.1.0.attn.relative_position_index", &ni);
    const int T = m->cfg.window * m->cfg.window;
    int same = ni == (size_t)T * T;
    for (size_t i = 0; same && i < ni; i++) same = idx[i] == (float)m->rpi[i];
    EXPECT(same, "relative_position_index equals torchvision's (%zu entries)", ni);
    mem_free(idx);
    EXPECT(ng == m->train.n + m->nblocks * 8, "gradients compared: %d (model %d + 8 per block)", ng, m->train.n);
}

static void reference_case(const char *tag, SwinConfig cfg, double logit_tol, double grad_atol_frac, double grad_rtol,
                           double traj_atol, double traj_rtol) {
    ModelConfig mc = as_model(cfg);
    TlReferenceCase c = {"swin", tag, logit_tol, grad_atol_frac, grad_rtol, traj_atol, traj_rtol, ref_grad, check_swin};
    tl_model_reference_case(&mc, &c);
}

static void test_micro_vs_pytorch(void) { reference_case("micro", micro_cfg(), 2e-5, 1e-4, 1e-3, 2e-4, 2e-3); }
static void test_odd_vs_pytorch(void) { reference_case("odd", odd_cfg(), 2e-5, 1e-4, 1e-3, 2e-4, 2e-3); }

// memory.gelu_f16 / softmax_f16 (approximate): the same reference pairs, the
// forward unchanged (logits and loss as tight as exact), every gradient
// within a looser bound against torch's exact ones (as test_vit.c's); the
// printed max|diff| / max|ref| is the option's gradient error.
static void test_f16_saving_vs_pytorch(void) {
    const char *names[3] = {"gelu_f16", "softmax_f16", "gelu_f16+softmax_f16"};
    for (int o = 0; o < 3; o++) {
        SwinConfig cm = micro_cfg(), co = odd_cfg();
        cm.gelu_f16 = co.gelu_f16 = o != 1;
        cm.softmax_f16 = co.softmax_f16 = o != 0;
        printf("  %s:\n", names[o]);
        reference_case("micro", cm, 2e-5, 1e-3, 1e-2, 2e-4, 2e-3);
        reference_case("odd", co, 2e-5, 1e-3, 1e-2, 2e-4, 2e-3);
    }
}

static void test_swin_t_vs_pytorch(void) {
    if (getenv("WB_QUICK")) { printf("  (WB_QUICK: the swin_t reference runs in the normal build)\n"); return; }
    reference_case("t", t_cfg(), 1e-4, 1e-3, 1e-2, 1e-3, 2e-3);
}

// --- the window layers on their own -----------------------------------------------

// Partition and reverse are adjoint permutations: reverse(partition(x)) = x,
// <partition(x), y> = <x, partition^T(y)>, padded slots are zero.
static void test_window_partition(void) {
    const int B = 2, C = 3, ws = 4;
    const int sizes[3][2] = {{8, 8}, {9, 6}, {3, 3}};
    for (int c = 0; c < 3; c++)
        for (int shift = 0; shift <= ws / 2; shift += ws / 2) {
            int H = sizes[c][0], W = sizes[c][1], Hp, Wp, sh, sw;
            window_geometry(H, W, ws, shift, &Hp, &Wp, &sh, &sw);
            size_t nmap = (size_t)B * H * W * C, nwin = (size_t)B * Hp * Wp * C;
            Rng r; rng_seed(&r, (uint64_t)(c * 10 + shift));
            float *x = tl_randn(&r, nmap, 1), *yw = tl_randn(&r, nwin, 1);
            float *xw = mem_alloc_floats(nwin, MEM_WORKSPACE), *back = mem_alloc_floats(nmap, MEM_WORKSPACE);
            float *adj = mem_alloc_floats(nmap, MEM_WORKSPACE);
            window_partition_forward(xw, x, B, H, W, C, ws, sh, sw);
            window_reverse_forward(back, xw, B, H, W, C, ws, sh, sw);
            char what[96];
            snprintf(what, sizeof what, "reverse(partition(x)) %dx%d shift %d", H, W, shift);
            EXPECT_CLOSE(what, back, x, nmap, 0, 0);
            window_partition_backward(adj, yw, B, H, W, C, ws, sh, sw);
            double lhs = tl_dot(xw, yw, nwin), rhs = tl_dot(x, adj, nmap);
            EXPECT(fabs(lhs - rhs) <= 1e-9 * (fabs(lhs) + 1), "adjoint %dx%d: %.9g vs %.9g", H, W, lhs, rhs);
            double s2 = tl_dot(xw, xw, nwin), x2 = tl_dot(x, x, nmap);
            EXPECT(fabs(s2 - x2) <= 1e-9 * x2, "padding slots are zero (%dx%d): %.9g vs %.9g", H, W, s2, x2);
            EXPECT(sh == ((ws >= Hp) ? 0 : shift), "shift dropped only when one window covers the map (%d, Hp %d)", sh, Hp);
            mem_free(x); mem_free(yw); mem_free(xw); mem_free(back); mem_free(adj);
        }
}

// Window attention (bias + shifted mask) and patch merging against central
// differences of a fake loss sum(out * dout) in double-checked directions.
static void test_window_attention_grad(void) {
    const int B = 2, H = 6, W = 5, ws = 4, C = 8, NH = 2, T = ws * ws;
    int Hp, Wp, sh, sw;
    window_geometry(H, W, ws, ws / 2, &Hp, &Wp, &sh, &sw);
    const int nW = (Hp / ws) * (Wp / ws), Bw = B * nW;
    const size_t nq = (size_t)Bw * T * 3 * C, no = (size_t)Bw * T * C, na = (size_t)Bw * NH * T * T;
    const size_t ntab = (size_t)(2 * ws - 1) * (2 * ws - 1) * NH;
    Rng r; rng_seed(&r, 42);
    float *qkv = tl_randn(&r, nq, 1), *table = tl_randn(&r, ntab, 0.5f), *dout = tl_randn(&r, no, 1);
    float *dq = tl_randn(&r, nq, 1), *dt = tl_randn(&r, ntab, 1);   // directions
    int *idx = mem_alloc(sizeof(int) * (size_t)T * T, MEM_WORKSPACE), *reg = mem_alloc(sizeof(int) * (size_t)nW * T, MEM_WORKSPACE);
    relative_position_index(idx, ws);
    window_mask_regions(reg, H, W, ws, sh, sw);
    float *bias = mem_alloc_floats((size_t)NH * T * T, MEM_WORKSPACE), *dbias = mem_alloc_floats((size_t)NH * T * T, MEM_WORKSPACE);
    float *att = mem_alloc_floats(na, MEM_WORKSPACE), *scr = mem_alloc_floats(na, MEM_WORKSPACE);
    float *out = mem_alloc_floats(no, MEM_WORKSPACE), *gq = mem_alloc_floats(nq, MEM_WORKSPACE);
    float *gt = mem_alloc_floats(ntab, MEM_WORKSPACE), *qp = mem_alloc_floats(nq, MEM_WORKSPACE), *tp = mem_alloc_floats(ntab, MEM_WORKSPACE);
    int nreg = 0;
    for (int i = 0; i < nW * T; i++) nreg = reg[i] > nreg ? reg[i] : nreg;
    EXPECT(sh == 2 && sw == 2 && nreg > 0, "a shifted, masked case (shift %d,%d, %d regions)", sh, sw, nreg + 1);
    relative_bias_forward(bias, table, idx, NH, ws);
    window_attention_forward(out, att, qkv, bias, reg, Bw, nW, T, C, NH);
    window_attention_backward(gq, dbias, scr, dout, qkv, att, Bw, T, C, NH);
    relative_bias_backward(gt, dbias, idx, NH, ws);
    EXPECT_NONZERO("dqkv", gq, nq);
    EXPECT_NONZERO("dtable", gt, ntab);
    // f(e) = sum(out(qkv + e dq, table + e dt) * dout); f'(0) = <gq, dq> + <gt, dt>
    const double want = tl_dot(gq, dq, nq) + tl_dot(gt, dt, ntab), h = 1e-2;
    double f[2];
    for (int sgn = 0; sgn < 2; sgn++) {
        float e = (float)(sgn ? -h : h);
        for (size_t i = 0; i < nq; i++) qp[i] = qkv[i] + e * dq[i];
        for (size_t i = 0; i < ntab; i++) tp[i] = table[i] + e * dt[i];
        relative_bias_forward(bias, tp, idx, NH, ws);
        window_attention_forward(out, att, qp, bias, reg, Bw, nW, T, C, NH);
        f[sgn] = tl_dot(out, dout, no);
    }
    double got = (f[0] - f[1]) / (2 * h);
    printf("  window attention: directional derivative %.6f, central difference %.6f\n", want, got);
    EXPECT(fabs(got - want) <= 2e-3 * fabs(want) + 1e-3, "window attention gradient %.6f vs %.6f", want, got);
    // the mask really masks: a query never attends to another region's key
    double leak = 0;
    for (int bw = 0; bw < Bw; bw++)
        for (int hh = 0; hh < NH; hh++)
            for (int i = 0; i < T; i++)
                for (int j = 0; j < T; j++)
                    if (reg[(bw % nW) * T + i] != reg[(bw % nW) * T + j])
                        leak += (double)att[(((size_t)bw * NH + hh) * T + i) * T + j];
    EXPECT(leak < 1e-30, "attention across regions %.3g", leak);

    // patch merging: gather adjoint on an odd map
    const int Hm = 5, Wm = 3, Cm = 4, H2 = 3, W2 = 2;
    size_t nin = (size_t)B * Hm * Wm * Cm, nout = (size_t)B * H2 * W2 * 4 * Cm;
    float *xm = tl_randn(&r, nin, 1), *ym = tl_randn(&r, nout, 1), *om = mem_alloc_floats(nout, MEM_WORKSPACE);
    float *dm = mem_alloc_floats(nin, MEM_WORKSPACE);
    patch_merge_forward(om, xm, B, Hm, Wm, Cm);
    patch_merge_backward(dm, ym, B, Hm, Wm, Cm);
    double lhs = tl_dot(om, ym, nout), rhs = tl_dot(xm, dm, nin);
    EXPECT(fabs(lhs - rhs) <= 1e-9 * (fabs(lhs) + 1), "patch merging adjoint %.9g vs %.9g", lhs, rhs);
    // x1 = x[1::2, 0::2] is the second channel block: out(0,0)[C..2C) = x(1,0)
    EXPECT(!memcmp(om + Cm, xm + (size_t)1 * Wm * Cm, sizeof(float) * Cm) &&
           !memcmp(om + 2 * Cm, xm + Cm, sizeof(float) * Cm), "torchvision's x0, x1, x2, x3 order");
    mem_free(xm); mem_free(ym); mem_free(om); mem_free(dm);
    mem_free(qkv); mem_free(table); mem_free(dout); mem_free(dq); mem_free(dt); mem_free(idx); mem_free(reg);
    mem_free(bias); mem_free(dbias); mem_free(att); mem_free(scr); mem_free(out); mem_free(gq); mem_free(gt);
    mem_free(qp); mem_free(tp);
}

// --- checkpoints, partial fine-tuning, stochastic depth ---------------------------------

// tl_random_batch for a model config
static void random_batch(float *img, int *y, int B, const SwinConfig *c, uint64_t seed) {
    tl_random_batch(img, y, B, c->channels, c->image_size, c->num_classes, seed);
}

// The file holds what torchvision's state_dict holds: every parameter and the index buffers.
static void check_state_dict(const Model *mm, const char *path) {
    const Swin *a = &mm->u.swin;
    SafeTensors st;
    WbError err;
    EXPECT(st_open(&st, path, &err) == 0, "open: %s", err.msg);
    int n_idx = 0;
    for (int i = 0; i < st.n; i++) n_idx += strstr(st.t[i].name, "relative_position_index") != NULL;
    EXPECT(n_idx == a->nblocks && st.n == a->train.n + a->nblocks * 9, "%d tensors, %d index buffers", st.n, n_idx);
    st_close(&st);
}

static void test_checkpoint_roundtrip(void) {
    SwinConfig wide = odd_cfg();
    wide.embed_dim = 32;
    ModelConfig mc = as_model(odd_cfg()), mw = as_model(wide);
    tl_model_checkpoint_roundtrip(&mc, &mw, "features.0.0.weight", "swin.safetensors", check_state_dict);
}

// num_of_finetune = n trains only the last n counted linears and everything
// after the first of them; their gradients equal the full model's, and the
// saved activations shrink.
static void test_partial_finetune_grads(void) {
    SwinConfig cfg = odd_cfg();
    const int B = 2;
    float *img = mem_alloc_floats((size_t)B * 3 * 36 * 36, MEM_DATA);
    int y[2];
    random_batch(img, y, B, &cfg, 5);
    SwinBinding full = dense_binding();
    Swin a;
    swin_build(&a, &cfg, &full, B);
    swin_init_random(&a, 11);
    mparams_zero_grad(swin_params(&a));
    float La = swin_forward(&a, img, y, B, 1);
    swin_backward(&a);
    size_t prev_acts = (size_t)-1;
    const int ns[6] = {0, 1, 2, 3, 5, 13};
    for (int all_linear = 0; all_linear < 2; all_linear++)
        for (int t = 0; t < 6; t++) {
            int n = ns[t];
            SwinBinding part = dense_binding();
            part.num_finetune = n; part.all_linear = all_linear;
            Swin b;
            MemStats s0 = mem_stats();
            swin_build(&b, &cfg, &part, B);
            MemStats s1 = mem_stats();
            swin_init_random(&b, 11);
            mparams_zero_grad(swin_params(&b));
            float Lb = swin_forward(&b, img, y, B, 1);
            swin_backward(&b);
            EXPECT(La == Lb, "same loss (n=%d)", n);
            int trained = 0, total = 0;
            for (int k = 0; k < a.train.n; k++) {
                const char *nm = a.train.info[k].name;
                size_t cnt = a.train.info[k].numel;
                float *g = mem_alloc_floats(cnt, MEM_WORKSPACE);
                total++;
                if (swin_grad(&b, nm, g)) {
                    trained++;
                    char what[200]; snprintf(what, sizeof what, "n=%d all_linear=%d %s", n, all_linear, nm);
                    EXPECT_CLOSE(what, g, a.train.grads + a.train.info[k].offset, cnt, 1e-6, 1e-5);
                }
                mem_free(g);
            }
            int lin_trained = 0;
            for (int k = 0; k < a.nblocks * SWIN_NLIN; k++) {
                LinearLayer *Lpart = &b.lin[k], *Lfull = &a.lin[k];
                if (!Lpart->trainable) continue;
                lin_trained++;
                ParamSet *pa[4], *pb[4];
                Lfull->method->param_sets(Lfull, pa);
                Lpart->method->param_sets(Lpart, pb);
                char what[200]; snprintf(what, sizeof what, "n=%d all_linear=%d %s", n, all_linear, Lpart->name);
                EXPECT_CLOSE(what, pb[0]->grads, pa[0]->grads, pa[0]->numel, 1e-6, 1e-5);
            }
            size_t acts = s1.current[MEM_ACTIVATIONS] - s0.current[MEM_ACTIVATIONS];
            printf("  num_finetune=%2d all_linear=%d: %2d of %d model tensors and %2d linears train, %7zu params, %8zu B saved (model)\n",
                   n, all_linear, trained, total, lin_trained, mparams_num_trainable(swin_params(&b)), acts);
            EXPECT(trained >= 2 && trained < total, "partial training (n=%d: %d)", n, trained);
            EXPECT(n == 0 || lin_trained >= n, "n=%d: %d linears train", n, lin_trained);
            if (t > 0) EXPECT(all_linear || acts >= prev_acts, "more saved with more layers (%zu vs %zu)", acts, prev_acts);
            prev_acts = acts;
            swin_free(&b);
        }
    swin_free(&a);
    mem_free(img);
}

static void test_stochastic_depth(void) {
    SwinConfig c0 = micro_cfg(), c1 = c0;
    c1.stochastic_depth = 0.6f;
    const int B = 4;
    float *img = mem_alloc_floats((size_t)B * 3 * 32 * 32, MEM_DATA);
    int y[4];
    random_batch(img, y, B, &c0, 9);
    SwinBinding bind = dense_binding();
    Swin a, b;
    swin_build(&a, &c0, &bind, B);
    swin_build(&b, &c1, &bind, B);
    swin_init_random(&a, 3);
    swin_init_random(&b, 3);
    // evaluation ignores stochastic depth
    float La = swin_forward(&a, img, y, B, 0), Lb = swin_forward(&b, img, y, B, 0);
    EXPECT(La == Lb && !memcmp(a.logits, b.logits, sizeof(float) * B * 10), "eval: %.7f vs %.7f", (double)La, (double)Lb);
    // training draws: the last block has p = 0.6, block 0 has p = 0
    Rng saved = b.sd_rng;
    mparams_zero_grad(swin_params(&b));
    float L = swin_forward(&b, img, y, B, 1);
    swin_backward(&b);
    const SwinBlockActs *last = &b.acts[b.nblocks - 1];
    int dropped = 0, kept = 0;
    for (int l = 1; l < b.nblocks; l++)
        for (int i = 0; i < B; i++) {
            float s1 = b.acts[l].sd_attn[i], s2 = b.acts[l].sd_mlp[i];
            float keep = 1.0f / (1.0f - b.blk[l].sd_prob);
            dropped += (s1 == 0.0f) + (s2 == 0.0f);
            kept += (s1 == keep) + (s2 == keep);
        }
    EXPECT(b.acts[0].sd_attn == NULL && last->sd_attn && dropped > 0 && kept > 0 && dropped + kept == 2 * B * (b.nblocks - 1),
           "dropped %d, kept %d", dropped, kept);
    EXPECT(L != La, "training loss with drops %.6f differs from %.6f", (double)L, (double)La);
    // directional derivative with the same draws: f(e) = loss(theta + e d)
    ParamSet *ps = &b.train;
    float *d = mem_alloc_floats(ps->numel, MEM_WORKSPACE), *theta = mem_alloc_floats(ps->numel, MEM_WORKSPACE);
    Rng r; rng_seed(&r, 1);
    rng_fill_normal(&r, d, (long)ps->numel, 0, 1);
    memcpy(theta, ps->params, sizeof(float) * ps->numel);
    double want = tl_dot(ps->grads, d, ps->numel), nd = sqrt(tl_dot(d, d, ps->numel)), h = 3e-2 / nd;
    double f[2];
    for (int sgn = 0; sgn < 2; sgn++) {
        for (size_t i = 0; i < ps->numel; i++) ps->params[i] = theta[i] + (float)(sgn ? -h : h) * d[i];
        b.sd_rng = saved;
        f[sgn] = swin_forward(&b, img, y, B, 1);
    }
    double got = (f[0] - f[1]) / (2 * h);
    printf("  stochastic depth p=0.6: %d dropped, %d kept; loss %.6f (eval %.6f); d/de %.5f vs central difference %.5f\n",
           dropped, kept, (double)L, (double)La, want, got);
    EXPECT(fabs(got - want) <= 1e-2 * fabs(want) + 1e-3, "gradient through dropped paths %.5f vs %.5f", want, got);
    mem_free(d); mem_free(theta);
    swin_free(&a); swin_free(&b);
    mem_free(img);
}

// Forward, backward and update allocate nothing once the first step has
// created the optimizer state (vanilla, all linears, micro config).
static void test_no_allocation_in_step(void) {
    SwinConfig cfg = micro_cfg();
    const int B = 2;
    float *img = mem_alloc_floats((size_t)B * 3 * 32 * 32, MEM_DATA);
    int y[2];
    random_batch(img, y, B, &cfg, 4);
    SwinBinding bind = dense_binding();
    bind.method = &method_vanilla;
    bind.all_linear = 1;
    Swin m;
    swin_build(&m, &cfg, &bind, B);
    swin_init_random(&m, 5);
    OptimConfig oc = optim_adamw(0.9f, 0.999f, 1e-8f, 0.05f);
    size_t before = 0;
    for (int s = 0; s < 3; s++) {
        if (s == 1) before = mem_stats().n_allocs;
        mparams_zero_grad(swin_params(&m));
        swin_forward(&m, img, y, B, 1);
        swin_backward(&m);
        mparams_clip_grad(swin_params(&m), 1.0f);
        mparams_update(swin_params(&m), &oc, 1e-3f);
        swin_forward(&m, img, y, B - 1, 0);   // a short inference batch too
    }
    size_t after = mem_stats().n_allocs;
    EXPECT(after == before, "steps 2 and 3 allocated %zu buffers", after - before);
    swin_free(&m);
    mem_free(img);
}

// memory.recompute (each block's forward re-run in backward) trains exactly
// as saving everything: 3 steps of swin_micro (6 blocks of three sizes) with
// stochastic depth on give the same step losses and weights bit for bit, for
// every method, with the whole network trained and with num_of_finetune 11
// of 24 linears (the first trained one, proj of block 3, inside a shifted
// block of stage 1, with the patch merging after it) and float16 options on.
static void test_recompute_bit_identical(void) {
    ModelConfig cfg = as_model(micro_cfg());
    cfg.swin.stochastic_depth = 0.3f;
    tl_recompute_bit_identical(&cfg, 11, 4);
}

// Bytes of the buffers one block keeps for backward (model side; the linears' own apart).
static size_t block_bytes(const SwinBlockActs *a) {
    const void *bufs[] = {a->x_in, a->ln1_mean, a->ln1_rstd, a->qkv, a->att, a->x_mid, a->ln2_mean, a->ln2_rstd, a->h,
                          a->dgelu16, a->att16, a->sd_attn, a->sd_mlp};
    size_t n = 0;
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++) n += bufs[i] ? mem_size(bufs[i]) : 0;
    return n;
}

// Activation bytes (MEM_ACTIVATIONS) of a built and initialised Swin, vanilla on all linears.
static size_t saved_bytes(const SwinConfig *cfg, int B, Swin *keep) {
    SwinBinding bind = dense_binding();
    bind.method = &method_vanilla; bind.all_linear = 1;
    size_t before = mem_stats().current[MEM_ACTIVATIONS];
    swin_build(keep, cfg, &bind, B);
    swin_init_random(keep, 1);
    return mem_stats().current[MEM_ACTIVATIONS] - before;
}

// What each memory option saves, against the geometry of the blocks:
// gelu_f16 2 bytes per fc1 output element, softmax_f16 2 per attention
// probability, recompute every block's saved tensors but its input (one
// set, each tensor at its largest block's size, instead) and every linear's
// saved input but one per kind (qkv, proj, fc1, fc2) at its largest. An
// option the model ignored would save nothing and fail here. Then the same
// for swin_t (built at batch 1, bytes x 32: every one of them is linear in B).
static void test_memory_options_saved_bytes(void) {
    const SwinConfig base = odd_cfg();
    const int B = 2, T = base.window * base.window;
    Swin m;
    size_t plain = saved_bytes(&base, B, &m);
    double h = 0, att = 0, rest_sum = 0, rx_sum = 0, rest_max[5] = {0}, rx_max[SWIN_NLIN] = {0};
    for (int l = 0; l < m.nblocks; l++) {
        const SwinBlock *b = &m.blk[l];
        double BHW = (double)B * b->H * b->W, BWC = (double)B * b->nW * T * b->C, A = (double)B * b->nW * b->NH * T * T;
        h += BHW * b->hidden; att += A;
        // the block's tensors but x_in: ln stats x4, qkv, att, x_mid, h (floats)
        const double part[5] = {4 * BHW, 3 * BWC, A, BHW * b->C, BHW * b->hidden};
        for (int k = 0; k < 5; k++) { rest_sum += part[k]; rest_max[k] = fmax(rest_max[k], part[k]); }
        const double x[SWIN_NLIN] = {BWC, BWC, BHW * b->C, BHW * b->hidden};
        for (int w = 0; w < SWIN_NLIN; w++) { rx_sum += x[w]; rx_max[w] = fmax(rx_max[w], x[w]); }
    }
    swin_free(&m);
    double rest_once = 0, rx_once = 0;
    for (int k = 0; k < 5; k++) rest_once += rest_max[k];
    for (int w = 0; w < SWIN_NLIN; w++) rx_once += rx_max[w];
    SwinConfig c = base;
    c.gelu_f16 = 1;
    size_t g16 = saved_bytes(&c, B, &m);
    swin_free(&m);
    c = base; c.softmax_f16 = 1;
    size_t s16 = saved_bytes(&c, B, &m);
    swin_free(&m);
    c = base; c.recompute = 1;
    size_t rc = saved_bytes(&c, B, &m);
    swin_free(&m);
    double want_rc = 4 * (rest_sum - rest_once + rx_sum - rx_once);
    printf("  odd B=%d, vanilla all linears: %zu B saved; gelu_f16 -%zu (want %.0f), softmax_f16 -%zu (want %.0f), "
           "recompute -%zu (want %.0f)\n", B, plain, plain - g16, 2 * h, plain - s16, 2 * att, plain - rc, want_rc);
    EXPECT((double)(plain - g16) == 2 * h, "gelu_f16 saves %zu bytes, want %.0f", plain - g16, 2 * h);
    EXPECT((double)(plain - s16) == 2 * att, "softmax_f16 saves %zu bytes, want %.0f", plain - s16, 2 * att);
    EXPECT((double)(plain - rc) == want_rc, "recompute saves %zu bytes, want %.0f", plain - rc, want_rc);

    if (getenv("WB_QUICK")) { printf("  (WB_QUICK: the swin_t sizes are printed in the normal build)\n"); return; }
    const char *names[5] = {"plain", "gelu_f16", "softmax_f16", "recompute", "all three"};
    for (int o = 0; o < 5; o++) {
        c = t_cfg();
        c.gelu_f16 = o == 1 || o == 4; c.softmax_f16 = o == 2 || o == 4; c.recompute = o >= 3;
        size_t tot = saved_bytes(&c, 1, &m);
        printf("  swin_t B=32 (1 x 32) %-11s: stage-0 block %7.2f MB, stage-2 block %6.2f MB, recompute set %7.2f MB; "
               "all saved %8.1f MB\n", names[o], 32.0 * (double)block_bytes(&m.acts[0]) / 1048576,
               32.0 * (double)block_bytes(&m.acts[4]) / 1048576, 32.0 * (double)block_bytes(&m.racts) / 1048576,
               32.0 * (double)tot / 1048576);
        swin_free(&m);
    }
}

// --- the methods on Swin: epsilon = 1 is vanilla ----------------------------------------

typedef struct { const char *tag; const LinearMethod *m; MethodConfig c; } Variant;

static void test_full_rank_matches_vanilla(void) {
    const SwinConfig cfg = odd_cfg();
    const int B = 2;
    float *img = mem_alloc_floats((size_t)B * 3 * 36 * 36, MEM_DATA);
    int y[2];
    random_batch(img, y, B, &cfg, 8);
    Variant v[8];
    int nv = 0;
    MethodConfig c = tl_method_config();
    v[nv++] = (Variant){"hosvd eps=1", &method_hosvd, c};
    for (int d = 0; d < 4; d++) c.act_ranks[d] = 100000;   // clipped to the mode sizes
    v[nv++] = (Variant){"asi full ranks", &method_asi, c};
    v[nv++] = (Variant){"wasi dense eps=1, act full ranks", &method_wasi, c};
    c.factored = 1;
    v[nv++] = (Variant){"wasi factored eps=1, act full ranks", &method_wasi, c};
    c = tl_method_config(); c.act_epsilon = 1.0f;
    v[nv++] = (Variant){"wasi dense eps=1, act_epsilon=1", &method_wasi, c};
    c = tl_method_config(); c.weight_update_svd = 1;
    v[nv++] = (Variant){"wsi eps=1, svd update", &method_wsi, c};
    OptimConfig sgd = optim_sgd(0.0f, 0.0f);
    const float lr = 0.05f;
    SwinBinding vb = dense_binding();
    vb.method = &method_vanilla; vb.mcfg = tl_method_config(); vb.all_linear = 1;
    Swin a;
    swin_build(&a, &cfg, &vb, B);
    swin_init_random(&a, 21);
    mparams_zero_grad(swin_params(&a));
    float La = swin_forward(&a, img, y, B, 1);
    swin_backward(&a);
    for (int i = 0; i < nv; i++) {
        SwinBinding bb = vb;
        bb.method = v[i].m; bb.mcfg = v[i].c;
        Swin b;
        swin_build(&b, &cfg, &bb, B);
        swin_init_random(&b, 21);
        mparams_zero_grad(swin_params(&b));
        float Lb = swin_forward(&b, img, y, B, 1);
        swin_backward(&b);
        EXPECT_NEAR(v[i].tag, Lb, La, 1e-5, 1e-5);
        double worst = tl_compare_method_grads(&a.train, &b.train, a.lin, b.lin, a.nblocks * SWIN_NLIN, v[i].tag);
        for (int k = 0; k < b.nblocks * SWIN_NLIN; k++)
            EXPECT(b.lin[k].method == v[i].m, "%s bound to %s", b.lin[k].name, v[i].m->name);
        // four modes, full ranks: fc1 of block 0 (B,H,W,C) and qkv of the last block (B,nW,T,C)
        const LinearLayer *F1 = swin_linear(&b, 0, SWIN_FC1), *Q = swin_linear(&b, b.nblocks - 1, SWIN_QKV);
        LinearAccount acc, accq;
        F1->method->account(F1, &acc);
        Q->method->account(Q, &accq);
        if (!(v[i].m->flags & METHOD_ACT_TUCKER))   // wsi: x saved as is
            EXPECT(acc.act_ndim == 0 && accq.act_ndim == 0, "%s: activations compressed", v[i].tag);
        else EXPECT(acc.act_ndim == 4 && acc.act_ranks[0] == B && acc.act_ranks[1] == 18 && acc.act_ranks[2] == 18 &&
               acc.act_ranks[3] == 16, "%s fc1 ranks %d %d %d %d", v[i].tag, acc.act_ranks[0], acc.act_ranks[1],
               acc.act_ranks[2], acc.act_ranks[3]);
        if (v[i].m->flags & METHOD_ACT_TUCKER)
            EXPECT(accq.act_ndim == 4 && accq.act_ranks[0] == B && accq.act_ranks[1] == 1 && accq.act_ranks[2] == 16 &&
               accq.act_ranks[3] == 128, "%s last qkv ranks %d %d %d %d", v[i].tag, accq.act_ranks[0], accq.act_ranks[1],
               accq.act_ranks[2], accq.act_ranks[3]);
        if (v[i].m->flags & METHOD_WEIGHT_LOWRANK) EXPECT(acc.weight_rank == 16, "%s: k=%d", v[i].tag, acc.weight_rank);
        // one SGD step on both: the next loss agrees too
        Swin a2;
        swin_build(&a2, &cfg, &vb, B);
        swin_init_random(&a2, 21);
        mparams_zero_grad(swin_params(&a2));
        swin_forward(&a2, img, y, B, 1);
        swin_backward(&a2);
        mparams_update(swin_params(&a2), &sgd, lr);
        mparams_update(swin_params(&b), &sgd, lr);
        float La2 = swin_forward(&a2, img, y, B, 0), Lb2 = swin_forward(&b, img, y, B, 0);
        EXPECT_NEAR("loss after one SGD step", Lb2, La2, 2e-5, 2e-5);
        printf("  %-40s loss %.7f vs %.7f, grads max|diff|/max|ref| %.2e, after SGD %.7f vs %.7f\n", v[i].tag,
               (double)Lb, (double)La, worst, (double)Lb2, (double)La2);
        swin_free(&a2);
        swin_free(&b);
    }
    swin_free(&a);
    mem_free(img);
}

// --- the paper measure ------------------------------------------------------------------

static void test_paper_memory(void) {
    const SwinConfig cfg = odd_cfg();
    const int B = 2;
    float *img = mem_alloc_floats((size_t)B * 3 * 36 * 36, MEM_DATA);
    int y[2];
    random_batch(img, y, B, &cfg, 12);
    const char *names[] = {"vanilla", "lora", "hosvd", "asi", "wasi"};
    for (int all = 0; all < 2; all++)
        for (int nf = -1; nf <= 3; nf += 4)
            for (int i = 0; i < 5; i++) {
                MethodConfig c = tl_method_config();
                c.lora_rank = 4; c.lora_alpha = 8;
                c.epsilon = 0.8f;
                if (strcmp(names[i], "hosvd")) { c.act_ranks[0] = 2; c.act_ranks[1] = 3; c.act_ranks[2] = 5; c.act_ranks[3] = 7; }
                SwinBinding bind = dense_binding();
                bind.method = method_by_name(names[i]);
                bind.mcfg = c;
                bind.all_linear = all;
                bind.num_finetune = nf;
                Swin m;
                swin_build(&m, &cfg, &bind, B);
                swin_init_random(&m, 3);
                swin_forward(&m, img, y, B, 1);
                SwinPaperMemory got = swin_paper_memory(&m);
                LayerRanks lr[64];
                int n = 0;
                for (int l = 0; l < m.nblocks; l++)
                    for (int w = 0; w < SWIN_NLIN; w++) {
                        const LinearLayer *L = swin_linear(&m, l, w);
                        if (!swin_is_counted(&m, l, w) || !L->trainable) continue;
                        LinearAccount acc;
                        L->method->account(L, &acc);
                        lr[n].weight_rank = acc.weight_rank;
                        memcpy(lr[n].act_ranks, acc.act_ranks, sizeof lr[n].act_ranks);
                        n++;
                    }
                SwinPaperMemory want = swin_methods_paper_memory(&cfg, B, &bind, names[i], lr);
                EXPECT(got.n_counted == want.n_counted && got.n_counted == n && n == (nf < 0 ? (all ? 32 : 16) : nf),
                       "%s: %d counted vs %d", names[i], got.n_counted, want.n_counted);
                EXPECT(fabs(got.paper_act_mb - want.paper_act_mb) <= 1e-12 * want.paper_act_mb + 1e-15 &&
                       fabs(got.paper_weight_mb - want.paper_weight_mb) <= 1e-12 * want.paper_weight_mb,
                       "%s all_linear=%d nf=%d: account %.9f + %.9f MB, closed form %.9f + %.9f MB", names[i], all, nf,
                       got.paper_act_mb, got.paper_weight_mb, want.paper_act_mb, want.paper_weight_mb);
                swin_free(&m);
            }
    mem_free(img);

    // vanilla swin_t, batch 128, as in the paper
    SwinConfig t = t_cfg();
    SwinBinding bind = dense_binding();
    bind.method = &method_vanilla;
    bind.mcfg = tl_method_config();
    SwinPaperMemory mlp = swin_methods_paper_memory(&t, 128, &bind, "vanilla", NULL);
    bind.all_linear = 1;
    SwinPaperMemory all = swin_methods_paper_memory(&t, 128, &bind, "vanilla", NULL);
    printf("  swin_t B=128 vanilla: MLP %.2f + %.2f = %.2f MB (%d linears); all linears %.2f + %.2f = %.2f MB (%d)\n",
           mlp.paper_act_mb, mlp.paper_weight_mb, mlp.paper_act_mb + mlp.paper_weight_mb, mlp.n_counted,
           all.paper_act_mb, all.paper_weight_mb, all.paper_act_mb + all.paper_weight_mb, all.n_counted);
    EXPECT(mlp.n_counted == 24 && fabs(mlp.paper_act_mb - 3491) < 0.5 && fabs(mlp.paper_weight_mb - 66) < 0.5 &&
           fabs(mlp.paper_act_mb + mlp.paper_weight_mb - 3557) < 0.5, "MLP: %.2f + %.2f", mlp.paper_act_mb,
           mlp.paper_weight_mb);
    // and the same from a real (small-batch) swin_t's account(), scaled: activations are linear in B
    bind.all_linear = 0;
    Swin m;
    swin_build(&m, &t, &bind, 1);
    swin_init_random(&m, 1);
    float *one = mem_alloc_floats((size_t)3 * 224 * 224, MEM_DATA);
    int y1 = 3;
    Rng r; rng_seed(&r, 2); rng_fill_normal(&r, one, 3 * 224 * 224, 0, 1);
    swin_forward(&m, one, &y1, 1, 1);
    SwinPaperMemory acc = swin_paper_memory(&m);
    EXPECT(fabs(acc.paper_act_mb * 128 - mlp.paper_act_mb) < 1e-6 * mlp.paper_act_mb &&
           fabs(acc.paper_weight_mb - mlp.paper_weight_mb) < 1e-9 * mlp.paper_weight_mb,
           "account at B=1 x 128: %.3f + %.3f MB", acc.paper_act_mb * 128, acc.paper_weight_mb);
    swin_free(&m);
    mem_free(one);
    // the other methods at batch 128 (MLP), printed for the record
    LayerRanks lr[24];
    const int kw[3] = {32, 64, 128};
    for (int q = 0; q < 3; q++) {
        for (int l = 0; l < 24; l++) {
            lr[l].weight_rank = kw[q];
            lr[l].act_ranks[0] = 8; lr[l].act_ranks[1] = 8; lr[l].act_ranks[2] = 8; lr[l].act_ranks[3] = 32;
        }
        SwinPaperMemory w = swin_methods_paper_memory(&t, 128, &bind, "wasi", lr);
        printf("  swin_t B=128 MLP wasi k=%d act (8,8,8,32): %.3f + %.3f = %.3f MB\n", kw[q], w.paper_act_mb,
               w.paper_weight_mb, w.paper_act_mb + w.paper_weight_mb);
        EXPECT(w.paper_act_mb + w.paper_weight_mb < 0.1 * (mlp.paper_act_mb + mlp.paper_weight_mb), "wasi is small");
    }
}

// --- core/models/model.h: the dispatch gives what the direct calls give -------------------------

static void test_model_dispatch(void) {
    const char *presets[2] = {"vit_micro", "swin_micro"};
    for (int k = 0; k < 2; k++) {
        ModelConfig mc;
        EXPECT(model_preset(presets[k], &mc) == 0 && mc.kind == (k ? MODEL_SWIN : MODEL_VIT), "preset %s", presets[k]);
        int S, Cin, K;
        model_config_io(&mc, &S, &Cin, &K);
        EXPECT(S == 32 && Cin == 3 && K == 10, "%s io: %d px, %d channels, %d classes", presets[k], S, Cin, K);
        EXPECT(model_config_act_modes(&mc) == (k ? 4 : 3), "act modes");
        const int B = 2;
        float *img = mem_alloc_floats((size_t)B * 3 * 32 * 32, MEM_DATA);
        int y[2] = {1, 7};
        Rng r; rng_seed(&r, 6); rng_fill_normal(&r, img, (long)B * 3 * 32 * 32, 0, 1);
        ModelBinding bind = dense_binding();
        bind.method = &method_vanilla; bind.mcfg = tl_method_config(); bind.num_finetune = 3;
        Model m;
        model_build(&m, &mc, &bind, B);
        model_init_random(&m, 9);
        model_zero_grad(&m);
        float L = model_forward(&m, img, y, B, 1);
        model_backward(&m);
        double gn = model_clip_grad(&m, 0.0f);
        float Ld;
        double gd;
        ModelPaperMemory pm = model_paper_memory(&m), pd;
        if (k == 0) {
            ViT v;
            vit_build(&v, &mc.vit, &bind, B);
            vit_init_random(&v, 9);
            mparams_zero_grad(vit_params(&v));
            Ld = vit_forward(&v, img, y, B, 1);
            vit_backward(&v);
            gd = mparams_clip_grad(vit_params(&v), 0.0f);
            pd = vit_paper_memory(&v);
            EXPECT(!memcmp(model_logits(&m), v.logits, sizeof(float) * B * 10), "vit logits");
            vit_free(&v);
        } else {
            Swin w;
            swin_build(&w, &mc.swin, &bind, B);
            swin_init_random(&w, 9);
            mparams_zero_grad(swin_params(&w));
            Ld = swin_forward(&w, img, y, B, 1);
            swin_backward(&w);
            gd = mparams_clip_grad(swin_params(&w), 0.0f);
            pd = swin_paper_memory(&w);
            EXPECT(!memcmp(model_logits(&m), w.logits, sizeof(float) * B * 10), "swin logits");
            swin_free(&w);
        }
        LinearLayer *cl[64];
        int nc = model_counted_linears(&m, cl, 64);
        EXPECT(L == Ld && gn == gd && pm.paper_act_mb == pd.paper_act_mb && pm.n_counted == pd.n_counted && nc == 3 &&
               pm.n_counted == 3 && model_num_classes(&m) == 10 && model_num_trainable(&m) > 0,
               "%s: loss %.7f vs %.7f, grad norm %.7f vs %.7f, %d counted", presets[k], (double)L, (double)Ld, gn, gd, nc);
        EXPECT(model_linear_counted_index(&m, model_num_linears(&m) - 1) == (k ? 11 : 7) &&
               model_linear(&m, model_num_linears(&m) - 1) == cl[2], "%s: the last linear is the last counted one", presets[k]);
        printf("  %s through model.h: loss %.7f, grad norm %.5f, %d linears, %d counted trainable\n", model_kind_name(mc.kind),
               (double)L, gn, model_num_linears(&m), nc);
        model_free(&m);
        mem_free(img);
    }
    ModelConfig bad;
    EXPECT(model_preset("resnet50", &bad) < 0 && strstr(model_preset_names(), "swin_t") && strstr(model_preset_names(), "vit_b_32"),
           "unknown preset refused; names list both models");
}

// The attention core (one OpenMP loop over (window, head) pairs) against a
// plain double-precision implementation of the same formulas, with the
// shifted mask, and backward accumulating onto nonzero dqkv / dbias; the
// FLOPs charged match 2*M*N*K per product as gemm() would.
static void check_window_attention_naive(int H, int W, int ws, int C, int NH) {
    const int B = 2, T = ws * ws, hs = C / NH, C3 = 3 * C;
    int Hp, Wp, sh, sw;
    window_geometry(H, W, ws, ws / 2, &Hp, &Wp, &sh, &sw);
    const int nW = (Hp / ws) * (Wp / ws), Bw = B * nW;
    const size_t nq = (size_t)Bw * T * C3, no = (size_t)Bw * T * C, na = (size_t)Bw * NH * T * T, nb = (size_t)NH * T * T;
    Rng r; rng_seed(&r, 5);
    float *qkv = tl_randn(&r, nq, 1), *bias = tl_randn(&r, nb, 0.5f), *dout = tl_randn(&r, no, 1);
    float *dqkv = tl_randn(&r, nq, 1), *dbias = tl_randn(&r, nb, 1);   // backward adds onto these
    float *want_dqkv = mem_alloc_floats(nq, MEM_WORKSPACE), *want_dbias = mem_alloc_floats(nb, MEM_WORKSPACE);
    memcpy(want_dqkv, dqkv, sizeof(float) * nq);
    memcpy(want_dbias, dbias, sizeof(float) * nb);
    float *out = mem_alloc_floats(no, MEM_WORKSPACE), *att = mem_alloc_floats(na, MEM_WORKSPACE);
    float *scr = mem_alloc_floats(na, MEM_WORKSPACE), *want_out = mem_alloc_floats(no, MEM_WORKSPACE);
    float *want_att = mem_alloc_floats(na, MEM_WORKSPACE);
    int *reg = mem_alloc(sizeof(int) * (size_t)nW * T, MEM_WORKSPACE);
    window_mask_regions(reg, H, W, ws, sh, sw);
    const double scale = 1.0 / sqrt((double)hs);
    double *p = mem_alloc(sizeof(double) * (size_t)T * T, MEM_WORKSPACE);
    double *dp = mem_alloc(sizeof(double) * (size_t)T * T, MEM_WORKSPACE);
    for (int bw = 0; bw < Bw; bw++)
        for (int h = 0; h < NH; h++) {
            const float *q = qkv + (size_t)bw * T * C3 + h * hs, *k = q + C, *v = q + 2 * C;
            const float *dO = dout + (size_t)bw * T * C + h * hs;
            const int *rw = reg + (bw % nW) * T;
            for (int i = 0; i < T; i++) {
                double mx = -1e300, sum = 0;
                for (int j = 0; j < T; j++) {
                    double s = 0;
                    for (int d = 0; d < hs; d++) s += (double)q[i * C3 + d] * (double)k[j * C3 + d];
                    s = s * scale + (double)bias[((size_t)h * T + i) * T + j] + (rw[i] != rw[j] ? -100.0 : 0.0);
                    p[i * T + j] = s;
                    mx = s > mx ? s : mx;
                }
                for (int j = 0; j < T; j++) { p[i * T + j] = exp(p[i * T + j] - mx); sum += p[i * T + j]; }
                for (int j = 0; j < T; j++) {
                    p[i * T + j] /= sum;
                    want_att[(((size_t)bw * NH + h) * T + i) * T + j] = (float)p[i * T + j];
                }
                for (int d = 0; d < hs; d++) {
                    double o = 0;
                    for (int j = 0; j < T; j++) o += p[i * T + j] * (double)v[j * C3 + d];
                    want_out[((size_t)bw * T + i) * C + h * hs + d] = (float)o;
                }
            }
            float *gq = want_dqkv + (size_t)bw * T * C3 + h * hs, *gk = gq + C, *gv = gq + 2 * C;
            for (int i = 0; i < T; i++) {
                double rowdot = 0;
                for (int j = 0; j < T; j++) {
                    double s = 0;
                    for (int d = 0; d < hs; d++) s += (double)dO[i * C + d] * (double)v[j * C3 + d];
                    dp[i * T + j] = s;
                    rowdot += s * p[i * T + j];
                }
                for (int j = 0; j < T; j++) dp[i * T + j] = p[i * T + j] * (dp[i * T + j] - rowdot);   // ds
            }
            for (int i = 0; i < T; i++)
                for (int j = 0; j < T; j++) want_dbias[((size_t)h * T + i) * T + j] += (float)dp[i * T + j];
            for (int t = 0; t < T; t++)
                for (int d = 0; d < hs; d++) {
                    double a = 0, b = 0, c = 0;
                    for (int u = 0; u < T; u++) {
                        a += p[u * T + t] * (double)dO[u * C + d];           // dv = p^T dout
                        b += dp[t * T + u] * (double)k[u * C3 + d];          // dq = ds k
                        c += dp[u * T + t] * (double)q[u * C3 + d];          // dk = ds^T q
                    }
                    gv[t * C3 + d] += (float)a;
                    gq[t * C3 + d] += (float)(scale * b);
                    gk[t * C3 + d] += (float)(scale * c);
                }
        }
    Counters c0 = counters_get();
    window_attention_forward(out, att, qkv, bias, reg, Bw, nW, T, C, NH);
    Counters c1 = counters_get();
    window_attention_backward(dqkv, dbias, scr, dout, qkv, att, Bw, T, C, NH);
    Counters c2 = counters_get();
    double e_out = EXPECT_CLOSE("window attention out", out, want_out, no, 1e-5, 1e-4);
    double e_att = EXPECT_CLOSE("window attention att", att, want_att, na, 1e-6, 1e-4);
    double e_dq = EXPECT_CLOSE("window attention dqkv", dqkv, want_dqkv, nq, 1e-5, 1e-4);
    double e_db = EXPECT_CLOSE("window attention dbias", dbias, want_dbias, nb, 1e-5, 1e-4);
    printf("  window attention %dx%d tokens, %d heads of %d, vs double: max errors out %.2g att %.2g dqkv %.2g "
           "dbias %.2g\n", ws, ws, NH, hs, e_out, e_att, e_dq, e_db);
    const double pairs = (double)Bw * NH, rows = pairs * T, prod = 2.0 * T * T * hs;
    const double want_fwd = 2 * prod * pairs + 7.0 * rows * T + rows, want_bwd = 4 * prod * pairs + 5.0 * rows * T;
    double got_fwd = counters_total_flops(&c1) - counters_total_flops(&c0);
    double got_bwd = counters_total_flops(&c2) - counters_total_flops(&c1);
    EXPECT(got_fwd == want_fwd && got_bwd == want_bwd, "FLOPs fwd %.0f (want %.0f), bwd %.0f (want %.0f)", got_fwd,
           want_fwd, got_bwd, want_bwd);
    mem_free(qkv); mem_free(bias); mem_free(dout); mem_free(dqkv); mem_free(dbias); mem_free(want_dqkv);
    mem_free(want_dbias); mem_free(out); mem_free(att); mem_free(scr); mem_free(want_out); mem_free(want_att);
    mem_free(reg); mem_free(p); mem_free(dp);
}

static void test_window_attention_naive(void) {
    check_window_attention_naive(8, 8, 4, 24, 3);     // the pairs run in parallel
    check_window_attention_naive(24, 24, 12, 32, 2);  // 144x144x16 per product: the serial fallback
}

int main(int argc, char **argv) {
    tl_init(argc, argv);
    threads_set(0);
    RUN(test_window_partition);
    RUN(test_window_attention_grad);
    RUN(test_window_attention_naive);
    RUN(test_micro_vs_pytorch);
    RUN(test_odd_vs_pytorch);
    RUN(test_f16_saving_vs_pytorch);
    RUN(test_checkpoint_roundtrip);
    RUN(test_partial_finetune_grads);
    RUN(test_stochastic_depth);
    RUN(test_no_allocation_in_step);
    RUN(test_full_rank_matches_vanilla);
    RUN(test_recompute_bit_identical);
    RUN(test_memory_options_saved_bytes);
    RUN(test_paper_memory);
    RUN(test_model_dispatch);
    RUN(test_swin_t_vs_pytorch);
    return tl_finish();
}
