// test_swin_cost.c: the closed-form FLOP count of a Swin training step
// (core/models/swin_cost.h) equals what the counters record, exactly, per phase:
// dense on swin_micro, on a padded odd config (maps not multiples of the
// window, odd patch merging, a window larger than the map) and with
// stochastic depth; the inference forward; and every method bound to the
// counted linears, priced through the LinearCostFn callback: lora by its
// closed form, hosvd/asi/wasi by what each linear of the same model was
// counted doing (a wrapper method records it), so the rest of the model is
// still checked in closed form. swin_t at batch 1 unless WB_QUICK.
// Memory: the tracked allocator's bytes per category after build + init +
// one step (SGD, SGD with momentum, AdamW) equal swin_memory_plan for dense,
// vanilla, lora, svdllm_lora, asi, wasi (dense and factored) and wsi, layers
// mlp / all_linear, plain / gelu_f16 / softmax_f16 / recompute / all three,
// num_finetune all and partial (a patch merging trained, the block before it
// from its fc2 on), plus p0 inside a block's attention and the head only, on
// swin_micro and an odd config with drop paths (324 configurations; WB_QUICK
// a fifth). Measured: weights, gradients, optimizer, activations exact;
// workspace at most 1.8e-2 relative, always above the plan by what it leaves
// out (the methods' private state structs, LAPACK's queried work arrays): the
// largest gap 24.9 KB of 3.9 MB (micro, wasi all_linear, AdamW).
#include "baselines/registry.h"
#include "baselines/svdllm_lora.h"
#include "baselines/wasi.h"
#include "core/linalg/blas.h"
#include "core/runtime/counters.h"
#include "core/runtime/memory.h"
#include "core/models/model.h"
#include "core/runtime/rng.h"
#include "core/models/swin_cost.h"
#include "core/train/train.h"
#include "tests/testlib.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static SwinConfig micro_cfg(void) { SwinConfig c; swin_preset("swin_micro", &c); return c; }
static SwinConfig odd_cfg(void) {   // as tests/test_swin.c
    SwinConfig c = {36, 2, 3, 16, 4, {2, 2, 2, 2}, {1, 2, 2, 4}, 4, 4, 7, 1e-5f, 0.0f, 0, 0, 0};
    return c;
}

// The memory plan's odd config: a 10 x 10 map under window 4 (padded to 12),
// then 5 x 5 (padded to 8, shifted) and 3 x 3 (one window: no shift), a
// stage of one block (no shifted block, no mask), drop paths on.
static SwinConfig odd_mem_cfg(void) {
    SwinConfig c = {20, 2, 3, 16, 3, {2, 1, 2, 0}, {1, 2, 4, 0}, 4, 3, 7, 1e-5f, 0.3f, 0, 0, 0};
    return c;
}

// --- a wrapper method that records each linear's forward/backward FLOPs ---------------

#define MAX_WRAPPED 256
typedef struct { const LinearLayer *L; const LinearMethod *inner; double fwd, bwd; } Wrapped;
static Wrapped wrapped[MAX_WRAPPED];
static int n_wrapped;

static Wrapped *find(const LinearLayer *L) {
    for (int i = 0; i < n_wrapped; i++)
        if (wrapped[i].L == L) return &wrapped[i];
    die("layer %s not wrapped", L->name);
    return NULL;
}

static void w_init(LinearLayer *L, const float *W, const float *b, const MethodConfig *cfg) {
    find(L)->inner->init(L, W, b, cfg);
}
static void w_forward(LinearLayer *L, float *out, const float *inp, const int *dims, int ndim, int training) {
    Wrapped *w = find(L);
    Counters c0 = counters_get();
    w->inner->forward(L, out, inp, dims, ndim, training);
    w->fwd += counters_diff(counters_get(), c0).flops[PHASE_FORWARD];
}
static void w_backward(LinearLayer *L, float *dinp, const float *dout) {
    Wrapped *w = find(L);
    Counters c0 = counters_get();
    w->inner->backward(L, dinp, dout);
    w->bwd += counters_diff(counters_get(), c0).flops[PHASE_BACKWARD];
}
static int w_param_sets(LinearLayer *L, ParamSet **out) { return find(L)->inner->param_sets(L, out); }
static void w_update(LinearLayer *L, const OptimConfig *oc, float lr) { find(L)->inner->update(L, oc, lr); }
static void w_account(const LinearLayer *L, LinearAccount *acc) { find(L)->inner->account(L, acc); }
static void w_export(const LinearLayer *L, float *W, float *b) { find(L)->inner->export_dense(L, W, b); }
static void w_free(LinearLayer *L) { find(L)->inner->free(L); }

static const LinearMethod recorder = {.name = "recorder", .init = w_init, .forward = w_forward, .backward = w_backward,
                                      .param_sets = w_param_sets, .update = w_update, .account = w_account,
                                      .export_dense = w_export, .free = w_free};

// Every counted linear of m (the ones bound to the method) gets the recorder.
static void wrap_counted(Swin *m) {
    n_wrapped = 0;
    for (int l = 0; l < m->nblocks; l++)
        for (int w = 0; w < SWIN_NLIN; w++) {
            LinearLayer *L = swin_linear(m, l, w);
            if (!swin_is_counted(m, l, w)) continue;
            CHECK(n_wrapped < MAX_WRAPPED, "too many linears");
            wrapped[n_wrapped++] = (Wrapped){L, L->method, 0, 0};
            L->method = &recorder;
        }
}
static void unwrap(void) {
    for (int i = 0; i < n_wrapped; i++) ((LinearLayer *)wrapped[i].L)->method = wrapped[i].inner;
    n_wrapped = 0;
}

// --- the pricing callbacks --------------------------------------------------------------

typedef struct { const Swin *m; const char *method; int lora_rank; int calls; int bad_args; } PriceCtx;

// Arguments the closed form passes must describe the model's layer.
static const LinearLayer *checked_layer(PriceCtx *p, int block, int which, long rows, int I, int O, int need_dx, int bias) {
    const LinearLayer *L = swin_linear(p->m, block, which);
    p->calls++;
    if (rows != L->max_rows || I != L->I || O != L->O || need_dx != 1 || bias != !L->no_bias) {
        if (p->bad_args++ < 3)
            printf("  %s: closed form passes rows %ld I %d O %d need_dx %d bias %d, layer has %ld, %d, %d, bias %d\n", L->name,
                   rows, I, O, need_dx, bias, L->max_rows, L->I, L->O, !L->no_bias);
    }
    return L;
}

// lora r: frozen W x + b plus B (A x) scaled; backward dx through both, dA, dB (tests/test_methods.c)
static FlopCount price_lora(const void *ctx, int block, int which, long rows, int I, int O, int need_dx, int bias) {
    PriceCtx *p = (PriceCtx *)ctx;
    checked_layer(p, block, which, rows, I, O, need_dx, bias);
    if (!swin_is_counted(p->m, block, which)) return dense_linear_cost(rows, I, O, need_dx, bias);
    const double R = (double)rows, r = p->lora_rank;
    FlopCount f = {2 * R * I * O + (bias ? R * O : 0) + 2 * R * I * r + 2 * R * r * O,
                   2 * O * r * R + 2 * R * r * O + 2 * r * I * R + 2 * R * O * I + 2 * R * r * I, 0};
    return f;
}

// hosvd/asi/wasi: what the recorder counted for this linear in the model's own step
static FlopCount price_recorded(const void *ctx, int block, int which, long rows, int I, int O, int need_dx, int bias) {
    PriceCtx *p = (PriceCtx *)ctx;
    const LinearLayer *L = checked_layer(p, block, which, rows, I, O, need_dx, bias);
    if (!swin_is_counted(p->m, block, which)) return dense_linear_cost(rows, I, O, need_dx, bias);
    Wrapped *w = find(L);
    FlopCount f = {w->fwd, w->bwd, 0};
    return f;
}

// --- the checks ---------------------------------------------------------------------------

// tl_random_batch for a model config
static void random_batch(float *img, int *y, int B, const SwinConfig *c, uint64_t seed) {
    tl_random_batch(img, y, B, c->channels, c->image_size, c->num_classes, seed);
}

static void expect_equal(const char *tag, const char *phase, double counted, double closed) {
    EXPECT(counted == closed, "%s %s: counted %.0f, closed form %.0f (diff %.0f)", tag, phase, counted, closed,
           counted - closed);
}

// Build cfg with `method` (NULL = dense), train one step at batch B and
// evaluate one batch; compare every phase with the closed form.
static void check(const char *tag, SwinConfig cfg, int B, const char *method, int all_linear) {
    SwinBinding bind;
    memset(&bind, 0, sizeof bind);
    bind.num_finetune = -1;
    bind.all_linear = all_linear;
    bind.method = method ? method_by_name(method) : NULL;
    bind.mcfg.epsilon = 0.8f;
    bind.mcfg.lora_rank = 3;
    bind.mcfg.lora_alpha = 6;
    bind.mcfg.seed = 5;
    for (int d = 0; d < 4; d++) bind.mcfg.act_ranks[d] = 2 + d;
    bind.mcfg.factored = method && strstr(tag, "factored") != NULL;
    ModelConfig mc = {.kind = MODEL_SWIN, .swin = cfg};
    Model mm;
    model_build(&mm, &mc, &bind, B);
    model_init_random(&mm, 3);
    Swin *m = &mm.u.swin;
    int recorded = method && strcmp(method, "vanilla") && strcmp(method, "lora");
    if (recorded) wrap_counted(m);
    size_t nimg = (size_t)B * cfg.channels * cfg.image_size * cfg.image_size;
    float *x = mem_alloc_floats(nimg, MEM_DATA);
    int *y = mem_alloc(sizeof(int) * (size_t)B, MEM_DATA);
    random_batch(x, y, B, &cfg, 4);
    OptimConfig oc = optim_sgd(0.0f, 0.0f);
    counters_reset();
    train_step(&mm, x, y, B, &oc, 0.01f, 0.0f);
    Counters k = counters_get();
    PriceCtx pc = {m, method, bind.mcfg.lora_rank, 0, 0};
    LinearCostFn fn = !method || !strcmp(method, "vanilla") ? NULL : !strcmp(method, "lora") ? price_lora : price_recorded;
    FlopCount want = swin_step_flops(&cfg, B, fn, &pc);
    if (fn) {
        EXPECT(pc.calls == m->nblocks * SWIN_NLIN, "%s: callback called %d times for %d linears", tag, pc.calls,
               m->nblocks * SWIN_NLIN);
        EXPECT(pc.bad_args == 0, "%s: %d linears priced with the wrong shape", tag, pc.bad_args);
    }
    expect_equal(tag, "forward", k.flops[PHASE_FORWARD], want.forward);
    expect_equal(tag, "backward", k.flops[PHASE_BACKWARD], want.backward);
    expect_equal(tag, "recompute", k.flops[PHASE_RECOMPUTE], want.recompute);
    if (recorded) unwrap();
    if (!method || !strcmp(method, "vanilla")) {   // inference is priced with dense linears
        counters_reset();
        eval_batch(&mm, x, y, B);
        k = counters_get();
        expect_equal(tag, "inference", k.flops[PHASE_INFERENCE], swin_inference_flops(&cfg, B));
    }
    printf("  %-26s B=%d forward %.0f backward %.0f\n", tag, B, want.forward, want.backward);
    mem_free(x); mem_free(y);
    model_free(&mm);
}

static void test_dense(void) {
    check("micro dense", micro_cfg(), 3, NULL, 0);
    check("odd dense", odd_cfg(), 2, NULL, 0);
    SwinConfig sd = odd_cfg();
    sd.stochastic_depth = 0.4f;   // every block but the first scales its residuals in training
    check("odd dense stochastic depth", sd, 3, NULL, 0);
    SwinConfig one = micro_cfg();   // a single stage (no patch merging), odd batch
    one.stages = 1; one.depths[0] = 3;
    check("micro one stage", one, 5, NULL, 0);
    // the memory section: gelu_f16 (the derivative in forward), softmax_f16 (no FLOPs),
    // recompute (each block's forward again, in its own phase), with drop paths
    sd.gelu_f16 = sd.softmax_f16 = 1;
    check("odd dense f16", sd, 2, NULL, 0);
    sd.recompute = 1;
    check("odd dense f16 recompute", sd, 2, NULL, 0);
    sd.gelu_f16 = sd.softmax_f16 = 0;
    check("odd vanilla recompute", sd, 2, "vanilla", 1);
}

static void test_methods(void) {
    const SwinConfig c = odd_cfg();
    check("vanilla all_linear", c, 2, "vanilla", 1);
    check("lora mlp", c, 2, "lora", 0);
    check("lora all_linear", c, 2, "lora", 1);
    check("hosvd mlp", c, 2, "hosvd", 0);
    check("asi all_linear", c, 2, "asi", 1);
    check("wasi dense mlp", c, 2, "wasi", 0);
    check("wasi factored all_linear", c, 2, "wasi", 1);
    check("asi micro mlp", micro_cfg(), 2, "asi", 0);
}

static void test_swin_t(void) {
    SwinConfig t;
    swin_preset("swin_t", &t);
    FlopCount f = swin_step_flops(&t, 1, NULL, NULL);
    FlopCount f128 = swin_step_flops(&t, 128, NULL, NULL);
    double inf = swin_inference_flops(&t, 1);
    printf("  swin_t per image: forward %.4f GFLOP, backward %.4f GFLOP, inference %.4f GFLOP; step at B=128 %.1f GFLOP\n",
           f.forward / 1e9, f.backward / 1e9, inf / 1e9, (f128.forward + f128.backward) / 1e9);
    // swin_t is about 4.5 GMAC per 224 px image; the counters saw 9.07 GFLOP per image forward
    EXPECT(f.forward > 8.9e9 && f.forward < 9.3e9, "forward %.4g", f.forward);
    EXPECT(f.backward > 1.9 * f.forward && f.backward < 2.1 * f.forward, "backward %.4g", f.backward);
    EXPECT(inf == f.forward, "no stochastic depth: inference %.0f = training forward %.0f", inf, f.forward);
    EXPECT(f128.forward == 128 * f.forward - 127 * 1.0, "forward is linear in B but for the loss's 1 division: %.0f",
           f128.forward);
    if (getenv("WB_QUICK")) { printf("  (WB_QUICK: swin_t step against the counters skipped)\n"); return; }
    check("swin_t dense", t, 1, NULL, 0);
}


// --- memory ---------------------------------------------------------------------------------

static double max_rel[MEM_NCAT], max_ws_gap, max_ws_of;
static char max_ws_tag[200];
static int n_memory_checks;

// Build, init and train one step, then compare the tracked bytes the model
// holds (current, minus what existed before) with swin_memory_plan: weights,
// gradients, optimizer state and activations exactly; the workspace up to
// what the plan leaves out (< 2 KB of private state per linear, LAPACK work
// < 16 KB per bound linear). opt: 0 SGD, 1 SGD with momentum, 2 AdamW.
// mem: 1 = memory.gelu_f16, 2 = softmax_f16, 4 = recompute (or'ed).
static void check_memory(const char *tag, SwinConfig c, const char *method, int all_linear, int factored, int nf, int opt,
                         int mem) {
    const int B = 2;
    c.gelu_f16 = mem & 1; c.softmax_f16 = (mem >> 1) & 1; c.recompute = (mem >> 2) & 1;
    SwinBinding bind = tl_plan_binding(method ? method_by_name(method) : NULL, all_linear, nf, factored, 5);
    for (int d = 0; d < 4; d++) bind.mcfg.act_ranks[d] = 2 + d;
    size_t nimg = (size_t)B * c.channels * c.image_size * c.image_size;
    float *x = mem_alloc_floats(nimg, MEM_DATA);
    int *y = mem_alloc(sizeof(int) * (size_t)B, MEM_DATA);
    random_batch(x, y, B, &c, 6);
    MemStats s0 = mem_stats();
    ModelConfig mc = {.kind = MODEL_SWIN, .swin = c};
    Model mm;
    model_build(&mm, &mc, &bind, B);
    model_init_random(&mm, 3);
    const Swin *m = &mm.u.swin;
    OptimConfig oc = opt == 2 ? optim_adamw(0.9f, 0.999f, 1e-8f, 1e-4f) : optim_sgd(opt ? 0.9f : 0.0f, 1e-4f);
    train_step(&mm, x, y, B, &oc, 0.01f, 1.0f);
    MemStats s1 = mem_stats();
    int ranks[256], n_counted = 0, n_bound = 0;
    double z = 0;   // svdllm_lora's paper measure also counts z = x A_t^T (rows K), which it does not keep
    for (int l = 0; l < m->nblocks; l++)
        for (int w = 0; w < SWIN_NLIN; w++) {
            int idx = swin_counted_index(m, l, w);
            if (idx < 0) continue;
            CHECK(idx < 256 && idx == n_counted, "counted index %d", idx);
            const LinearLayer *L = swin_linear(m, l, w);
            const int bound = bind.method && L->method == bind.method;
            ranks[n_counted++] = !bound ? 0 : L->method == &method_svdllm_lora ? svdllm_rank(L)
                                 : (L->method->flags & METHOD_WEIGHT_LOWRANK) ? wasi_weight_rank(L) : 0;
            if (bound && L->method == &method_svdllm_lora) z += 4.0 * L->max_rows * ranks[n_counted - 1];
            n_bound += bound;
        }
    MemPlan p = swin_memory_plan(&c, B, &bind, ranks, optim_state_buffers(&oc));
    char t[200];
    snprintf(t, sizeof t, "%s %s%s %s nf %d opt %d%s%s%s", tag, method ? method : "dense", factored ? " factored" : "",
             all_linear ? "all_linear" : "mlp", nf, opt, c.gelu_f16 ? " gelu_f16" : "", c.softmax_f16 ? " softmax_f16" : "",
             c.recompute ? " recompute" : "");
    int bad = 0;
    for (int k = 0; k < MEM_NCAT; k++) {
        double got = (double)(s1.current[k] - s0.current[k]);
        if (got > 0 && fabs(got - p.bytes[k]) / got > max_rel[k]) max_rel[k] = fabs(got - p.bytes[k]) / got;
        int ok = k == MEM_WORKSPACE
                     ? got >= p.bytes[k] && got <= p.bytes[k] + 2048.0 * m->nblocks * SWIN_NLIN + 16384.0 * (n_bound + 1)
                     : got == p.bytes[k];
        EXPECT(ok, "%s %s: allocator %.0f, plan %.0f (diff %.0f)", t, mem_category_name((MemCategory)k), got, p.bytes[k],
               got - p.bytes[k]);
        bad += !ok;
        if (k == MEM_WORKSPACE && got - p.bytes[k] > max_ws_gap) {
            max_ws_gap = got - p.bytes[k];
            max_ws_of = got;
            snprintf(max_ws_tag, sizeof max_ws_tag, "%s", t);
        }
    }
    if (bad) {   // the whole table of a failing configuration
        printf("  %s:", t);
        for (int k = 0; k < MEM_NCAT; k++)
            printf(" %s %.0f/%.0f", mem_category_name((MemCategory)k), (double)(s1.current[k] - s0.current[k]), p.bytes[k]);
        printf("\n");
    }
    EXPECT(p.act_shared + p.act_counted + p.act_other == p.bytes[MEM_ACTIVATIONS], "%s: activation split does not add up", t);
    EXPECT(nf == 0 ? p.act_counted == 0 : p.act_counted > 0, "%s: counted activations %.0f", t, p.act_counted);
    // the paper's activation measure is the counted part (trained linears only), element for element
    // (recompute: a dense saved input is one buffer per kind, swin.c rx, where the paper counts every layer's)
    SwinPaperMemory pm = swin_paper_memory(m);
    double pa = pm.paper_act_mb * 1048576.0 - z;
    if (!c.recompute)
        EXPECT(fabs(pa - p.act_counted) < 1e-3 * p.act_counted + 1, "%s: paper activations %.0f B, plan's counted part %.0f B", t,
               pa, p.act_counted);
    else
        EXPECT(p.act_counted <= pa + 1, "%s: plan's counted part %.0f B above the paper's %.0f B", t, p.act_counted, pa);
    n_memory_checks++;
    model_free(&mm);
    mem_free(x); mem_free(y);
}

// Every method the plan covers x layers x the memory options x num_finetune
// (all, and the last stage's linears plus the fc2 before them: a patch
// merging trained, the block before it from its fc2 on) on swin_micro and
// an odd config with drop paths.
static void test_memory_plan_equals_allocator(void) {
    static const struct { const char *name; int factored; } meths[] = {
        {NULL, 0}, {"vanilla", 0}, {"lora", 0}, {"svdllm_lora", 0}, {"asi", 0}, {"wasi", 0}, {"wasi", 1}, {"wsi", 0},
    };
    static const int mems[5] = {0, 1, 2, 4, 7};
    const SwinConfig odd = odd_mem_cfg(), cfgs[2] = {micro_cfg(), odd};
    const char *tags[2] = {"micro", "odd sd"};
    const int quick = getenv("WB_QUICK") != NULL;
    int run = 0;
    threads_set(1);   // tiny maps: OpenMP's fork/join would dominate; no tracked buffer depends on the threads
    for (int ic = 0; ic < 2; ic++) {
        const int last_stage_blocks = cfgs[ic].depths[cfgs[ic].stages - 1];
        for (size_t im = 0; im < sizeof meths / sizeof meths[0]; im++)
            for (int al = 0; al < 2; al++)
                for (int j = 0; j < 5; j++)
                    for (int f = 0; f < 2; f++, run++) {
                        // partial: the linears of the last stage and the fc2 of the block before (its merge trains)
                        const int per = al ? SWIN_NLIN : 2, nf = f ? per * last_stage_blocks + 1 : -1;
                        if (quick && run % 5) continue;
                        const int opt = meths[im].factored ? 0 : run % 3;   // factored wasi: SGD without state
                        check_memory(tags[ic], cfgs[ic], meths[im].name, al, meths[im].factored, nf, opt, mems[j]);
                    }
    }
    // the edges of num_finetune: p0 inside the last block's attention (proj on), and the head only
    check_memory("micro", micro_cfg(), "wasi", 1, 0, 3, 1, 4);
    check_memory("micro", micro_cfg(), "lora", 1, 0, 3, 2, 3);
    check_memory("odd sd", odd, "asi", 0, 0, 0, 1, 4);
    check_memory("odd sd", odd, NULL, 0, 0, 0, 0, 0);
    threads_set(0);
    printf("  %d configurations; largest relative error (|allocator - plan| / allocator) per category:", n_memory_checks);
    for (int k = 0; k < MEM_NCAT; k++) printf(" %s %.2e", mem_category_name((MemCategory)k), max_rel[k]);
    printf("\n  largest workspace gap (unpredicted: private structs, LAPACK work): %.0f B of %.0f B (%s)\n", max_ws_gap, max_ws_of,
           max_ws_tag);
}

int main(int argc, char **argv) {
    tl_init(argc, argv);
    threads_set(0);
    RUN(test_dense);
    RUN(test_methods);
    RUN(test_swin_t);
    RUN(test_memory_plan_equals_allocator);
    return tl_finish();
}
