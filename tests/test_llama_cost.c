// test_llama_cost.c: the closed forms of core/models/llama_cost.h against the
// real decoder. FLOPs: a training step's forward and backward counters equal
// llama_step_flops exactly (no rounding: every term is an integer below 2^53),
// dense and for every method that declares layer_flops (priced through the
// LinearCostFn callback by its own layer_flops), on llama_micro and two odd
// GQA configs (kv_heads < heads, kv_heads = 1), num_finetune 1, 2, -1, 0 and
// all layers, and on a padded batch (the counts do not depend on the pad
// lengths); an eval forward equals llama_inference_flops. Memory: the
// tracked allocator's bytes per category after build + init + one step
// equal llama_memory_plan for dense, vanilla, lora, svdllm_lora, asi, wasi
// (dense and factored) and wsi, layers mlp / all_linear / attention,
// num_finetune 1, 2 and all (and 0 once). Measured (the largest relative
// error per category, printed at the end): weights, gradients, optimizer and
// activations 0 (exact); workspace 3.9e-2, always above the plan by what it
// leaves out (the methods' private state structs, ~120 B per dense linear,
// and LAPACK's queried work arrays): the largest gap is wsi all_linear with
// every layer trained, 11.9 KB of 303 KB on this tiny model.
#include "baselines/registry.h"
#include "baselines/svdllm_lora.h"
#include "baselines/wasi.h"
#include "core/linalg/blas.h"
#include "core/models/llama_cost.h"
#include "core/models/model.h"
#include "core/runtime/counters.h"
#include "core/runtime/memory.h"
#include "core/train/train.h"
#include "tests/testlib.h"

#include <math.h>
#include <string.h>

static LlamaConfig micro_cfg(void) { LlamaConfig c; llama_preset("llama_micro", &c); return c; }
static LlamaConfig gqa_cfg(void) {   // 6 query heads over 2 kv heads, hd 4, odd T, 3 classes
    LlamaConfig c = {50, 24, 40, 3, 6, 2, 1e-5f, 10000.0f, 64, 9, 2, 3};
    return c;
}
static LlamaConfig mqa_cfg(void) {   // one kv head, 5 classes
    LlamaConfig c = {40, 16, 36, 2, 4, 1, 1e-5f, 10000.0f, 32, 7, 2, 5};
    return c;
}

static ViTBinding make_bind(const LinearMethod *meth, int all_linear, int num_finetune, int factored) {
    ViTBinding b = tl_plan_binding(meth, all_linear, num_finetune, factored, 3);
    b.mcfg.act_ranks[0] = 2; b.mcfg.act_ranks[1] = 5; b.mcfg.act_ranks[2] = 8;
    return b;
}

// --- FLOPs ------------------------------------------------------------------------------

typedef struct { const Llama *m; const LinearMethod *meth; int calls, bad_args; } PriceCtx;

// A linear of a trained layer: the method's own layer_flops when bound
// (counted), dense otherwise; the arguments must describe the model's layer.
static FlopCount price(const void *ctx, int block, int which, long rows, int I, int O, int need_dx, int bias) {
    PriceCtx *p = (PriceCtx *)ctx;
    const LinearLayer *L = &p->m->lin[block * LLAMA_NLIN + which];
    p->calls++;
    if (rows != L->max_rows || I != L->I || O != L->O || need_dx != 1 || bias != !L->no_bias || !L->trainable) {
        if (p->bad_args++ < 3)
            printf("  %s: closed form passes rows %ld I %d O %d need_dx %d bias %d, layer has %ld, %d, %d, bias %d, trainable %d\n",
                   L->name, rows, I, O, need_dx, bias, L->max_rows, L->I, L->O, !L->no_bias, L->trainable);
    }
    if (!llama_is_counted(p->m, block, which)) return dense_linear_cost(rows, I, O, need_dx, bias);
    FlopCount f = {0, 0, 0};
    p->meth->layer_flops(&p->m->bind.mcfg, rows, I, O, need_dx, bias, &f.forward, &f.backward);
    return f;
}

static void expect_equal(const char *tag, const char *phase, double counted, double closed) {
    EXPECT(counted == closed, "%s %s: counted %.0f, closed form %.0f (diff %.0f)", tag, phase, counted, closed, counted - closed);
}

// One training step at batch B (len: the sequence lengths, NULL = unpadded),
// then (dense) one eval batch; every phase against the closed form.
static void check_flops(const char *tag, LlamaConfig cfg, int B, const LinearMethod *meth, int all_linear, int nf, const int *len) {
    ViTBinding bind = make_bind(meth, all_linear, nf, 0);
    ModelConfig mc = {.kind = MODEL_LLAMA, .llama = cfg};
    Model mm;
    model_build(&mm, &mc, &bind, B);
    model_init_random(&mm, 3);
    const Llama *m = &mm.u.llama;
    float *tok = mem_alloc_floats((size_t)B * cfg.seq_len, MEM_DATA);
    int *y = mem_alloc(sizeof(int) * (size_t)B, MEM_DATA);
    tl_token_batch(tok, y, &cfg, B, len, 4);
    OptimConfig oc = optim_sgd(0.0f, 0.0f);
    counters_reset();
    train_step(&mm, tok, y, B, &oc, 0.01f, 0.0f);
    Counters k = counters_get();
    PriceCtx pc = {m, meth, 0, 0};
    FlopCount want = llama_step_flops(&cfg, B, nf, meth ? price : NULL, &pc);
    const int trained = nf < 0 ? cfg.layers : nf;
    char t[160];
    snprintf(t, sizeof t, "%s %s layers %d num_finetune %d%s", tag, meth ? meth->name : "dense", all_linear, nf, len ? " padded" : "");
    if (meth) {
        EXPECT(pc.calls == trained * LLAMA_NLIN, "%s: callback called %d times for %d trained linears", t, pc.calls,
               trained * LLAMA_NLIN);
        EXPECT(pc.bad_args == 0, "%s: %d linears priced with the wrong arguments", t, pc.bad_args);
    }
    expect_equal(t, "forward", k.flops[PHASE_FORWARD], want.forward);
    expect_equal(t, "backward", k.flops[PHASE_BACKWARD], want.backward);
    expect_equal(t, "recompute", k.flops[PHASE_RECOMPUTE], want.recompute);
    if (!meth) {
        counters_reset();
        eval_batch(&mm, tok, y, B);
        k = counters_get();
        expect_equal(t, "inference", k.flops[PHASE_INFERENCE], llama_inference_flops(&cfg, B));
    }
    mem_free(tok); mem_free(y);
    model_free(&mm);
}

static void test_flops_dense(void) {
    const int nfs[5] = {1, 2, -1, 0, 0};
    LlamaConfig cfgs[3] = {micro_cfg(), gqa_cfg(), mqa_cfg()};
    const char *tags[3] = {"micro", "gqa", "mqa"};
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 5; j++) {
            int nf = j == 4 ? cfgs[i].layers : nfs[j];   // all layers by count: the embedding stays frozen
            check_flops(tags[i], cfgs[i], i == 1 ? 3 : 2, NULL, 0, nf, NULL);
        }
    // the pad lengths change nothing the kernels count
    check_flops("gqa", gqa_cfg(), 3, NULL, 0, -1, (const int[]){9, 4, 1});
    check_flops("gqa", gqa_cfg(), 3, NULL, 0, 2, (const int[]){2, 9, 5});
    FlopCount a = llama_step_flops(&cfgs[1], 3, 2, NULL, NULL), b = llama_step_flops(&cfgs[1], 3, -1, NULL, NULL);
    printf("  gqa B=3: num_finetune 2 forward %.0f backward %.0f; all forward %.0f backward %.0f\n", a.forward, a.backward,
           b.forward, b.backward);
    EXPECT(a.forward == b.forward && a.backward < b.backward, "frozen layers run forward only");
}

static void test_flops_methods(void) {
    int n = 0;
    for (int i = 0; i < method_count(); i++) {
        const LinearMethod *meth = method_at(i);
        if (!meth->layer_flops) continue;
        n++;
        for (int al = 0; al < 3; al++) {
            check_flops("gqa", gqa_cfg(), 3, meth, al, 1, NULL);
            check_flops("gqa", gqa_cfg(), 3, meth, al, 2, NULL);
            check_flops("mqa", mqa_cfg(), 2, meth, al, -1, NULL);
        }
        check_flops("micro", micro_cfg(), 2, meth, 1, 2, NULL);
        check_flops("gqa", gqa_cfg(), 3, meth, 1, -1, (const int[]){3, 9, 7});
    }
    printf("  %d method(s) declare layer_flops\n", n);
    EXPECT(n >= 1, "no method declares layer_flops (vanilla does)");
}

static void test_tinyllama_numbers(void) {
    LlamaConfig c;
    llama_preset("tinyllama_1_1b", &c);
    const double BT = 128, P = (double)llama_num_params(&c) - (double)c.vocab * c.dim;   // the matrices a token meets
    FlopCount f = llama_step_flops(&c, 1, -1, NULL, NULL), f1 = llama_step_flops(&c, 1, 1, NULL, NULL);
    printf("  tinyllama_1_1b, one sequence of 128: forward %.1f GFLOP (2 P T = %.1f), backward %.1f GFLOP; last layer only %.1f\n",
           f.forward / 1e9, 2 * P * BT / 1e9, f.backward / 1e9, f1.backward / 1e9);
    EXPECT(f.forward > 2 * P * BT && f.forward < 1.1 * 2 * P * BT, "forward %.4g vs 2 P T %.4g", f.forward, 2 * P * BT);
    EXPECT(f.backward > 1.9 * f.forward && f.backward < 2.1 * f.forward, "backward %.4g", f.backward);
    EXPECT(f1.backward < f.backward / 15, "one trained layer of 22: backward %.4g", f1.backward);
    EXPECT(llama_inference_flops(&c, 1) == f.forward, "inference = the training forward");
}

// --- memory -----------------------------------------------------------------------------

static double max_rel[MEM_NCAT];

// Build, init and train one step, then compare the tracked bytes the model
// holds (current, minus what existed before) with the plan: weights,
// gradients, optimizer state and activations exactly; the workspace up to what
// the plan leaves out (< 2 KB of private state per linear, LAPACK work < 16 KB
// per counted linear).
static void check_memory(LlamaConfig c, const char *method, int all_linear, int nf, int factored, float momentum) {
    const int B = 3;
    ViTBinding bind = make_bind(method ? method_by_name(method) : NULL, all_linear, nf, factored);
    float *tok = mem_alloc_floats((size_t)B * c.seq_len, MEM_DATA);
    int *y = mem_alloc(sizeof(int) * (size_t)B, MEM_DATA);
    tl_token_batch(tok, y, &c, B, (const int[]){c.seq_len, 4, 2}, 6);
    MemStats s0 = mem_stats();
    ModelConfig mc = {.kind = MODEL_LLAMA, .llama = c};
    Model mm;
    model_build(&mm, &mc, &bind, B);
    model_init_random(&mm, 3);
    const Llama *m = &mm.u.llama;
    OptimConfig oc = optim_sgd(momentum, 1e-4f);
    train_step(&mm, tok, y, B, &oc, 0.01f, 1.0f);
    MemStats s1 = mem_stats();
    int ranks[256], n_counted = 0, n_bound = 0;
    double z = 0;   // svdllm_lora's paper measure also counts z = x A_t^T (rows K), which it does not keep
    for (int l = 0; l < c.layers; l++)
        for (int w = 0; w < LLAMA_NLIN; w++) {
            int idx = llama_counted_index(m, l, w);
            if (idx < 0) continue;
            CHECK(idx < 256 && idx == n_counted, "counted index %d", idx);
            const LinearLayer *L = &m->lin[l * LLAMA_NLIN + w];
            const int bound = bind.method && L->method == bind.method;
            ranks[n_counted++] = !bound ? 0 : L->method == &method_svdllm_lora ? svdllm_rank(L)
                                 : (L->method->flags & METHOD_WEIGHT_LOWRANK) ? wasi_weight_rank(L) : 0;
            if (bound && L->method == &method_svdllm_lora) z += 4.0 * B * c.seq_len * ranks[n_counted - 1];
            n_bound += bound;
        }
    MemPlan p = llama_memory_plan(&c, B, &bind, ranks, optim_state_buffers(&oc));
    static const char *layers_name[3] = {"mlp", "all_linear", "attention"};
    printf("  %-11s %-10s %-8s num_finetune %2d momentum %.1f:", method ? method : "dense", layers_name[all_linear],
           factored ? "factored" : "", nf, (double)momentum);
    for (int k = 0; k < MEM_NCAT; k++) {
        double got = (double)(s1.current[k] - s0.current[k]);
        printf(" %s %.0f/%.0f", mem_category_name((MemCategory)k), got, p.bytes[k]);
        if (got > 0 && fabs(got - p.bytes[k]) / got > max_rel[k]) max_rel[k] = fabs(got - p.bytes[k]) / got;
        if (k == MEM_WORKSPACE)
            EXPECT(got >= p.bytes[k] && got <= p.bytes[k] + 2048.0 * c.layers * LLAMA_NLIN + 16384.0 * (n_bound + 1),
                   "%s workspace: allocator %.0f, plan %.0f (diff %.0f)", method, got, p.bytes[k], got - p.bytes[k]);
        else
            EXPECT(got == p.bytes[k], "%s %s: allocator %.0f, plan %.0f (diff %.0f)", method, mem_category_name((MemCategory)k),
                   got, p.bytes[k], got - p.bytes[k]);
    }
    printf("\n");
    EXPECT(p.act_shared + p.act_counted + p.act_other == p.bytes[MEM_ACTIVATIONS], "activation split does not add up");
    EXPECT(nf == 0 ? p.act_counted == 0 : p.act_counted > 0, "%s: counted activations %.0f with num_finetune %d", method,
           p.act_counted, nf);
    // the paper's activation measure is the counted part (trained layers only), element for element
    LlamaPaperMemory pm = llama_paper_memory(m);
    double pa = pm.paper_act_mb * 1048576.0 - z;
    EXPECT(fabs(pa - p.act_counted) < 1e-3 * p.act_counted + 1, "%s: paper activations %.0f B, plan's counted part %.0f B",
           method, pa, p.act_counted);
    model_free(&mm);
    mem_free(tok); mem_free(y);
}

static void test_memory_plan_equals_allocator(void) {
    const LlamaConfig c = gqa_cfg();
    const int nfs[3] = {1, 2, -1};
    for (int al = 0; al < 3; al++)
        for (int j = 0; j < 3; j++) {
            const int nf = nfs[j];
            const float mom = (al + j) % 2 ? 0.9f : 0.0f;   // optimizer state on half of the runs
            check_memory(c, NULL, al, nf, 0, mom);
            check_memory(c, "vanilla", al, nf, 0, mom);
            check_memory(c, "lora", al, nf, 0, 0.9f - mom);
            check_memory(c, "svdllm_lora", al, nf, 0, mom);
            check_memory(c, "asi", al, nf, 0, 0.9f - mom);
            check_memory(c, "wasi", al, nf, 0, mom);
            check_memory(c, "wasi", al, nf, 1, 0.0f);   // factored: SGD without state
            check_memory(c, "wsi", al, nf, 0, 0.9f - mom);
        }
    check_memory(micro_cfg(), "wasi", 1, 2, 0, 0.9f);
    check_memory(mqa_cfg(), "asi", 2, -1, 0, 0.0f);
    check_memory(mqa_cfg(), "lora", 0, 0, 0, 0.9f);   // num_finetune 0: the head and the final norm only
    printf("  largest relative error (|allocator - plan| / allocator) per category:");
    for (int k = 0; k < MEM_NCAT; k++) printf(" %s %.2e", mem_category_name((MemCategory)k), max_rel[k]);
    printf("\n");
}

// tinyllama_1_1b: the dense plan's weights are the parameters (each tensor
// padded to 16 floats); with the last layer trained, gradients and saved
// activations are one layer's plus the head's.
static void test_memory_plan_tinyllama(void) {
    LlamaConfig c;
    llama_preset("tinyllama_1_1b", &c);
    ViTBinding all = make_bind(NULL, 0, -1, 0), last = make_bind(method_by_name("vanilla"), 0, 1, 0);
    MemPlan p = llama_memory_plan(&c, 8, &all, NULL, 2), q = llama_memory_plan(&c, 8, &last, NULL, 2);
    const double np = (double)llama_num_params(&c), ntensors = 1 + 9.0 * c.layers + 2;
    printf("  tinyllama_1_1b B=8 T=128 dense all: total %.1f MB (weights %.1f, activations %.1f); vanilla last layer: total %.1f MB "
           "(gradients %.1f, activations %.1f: shared %.1f, counted %.1f, other %.1f)\n",
           p.total / 1048576.0, p.bytes[MEM_WEIGHTS] / 1048576.0, p.bytes[MEM_ACTIVATIONS] / 1048576.0, q.total / 1048576.0,
           q.bytes[MEM_GRADIENTS] / 1048576.0, q.bytes[MEM_ACTIVATIONS] / 1048576.0, q.act_shared / 1048576.0,
           q.act_counted / 1048576.0, q.act_other / 1048576.0);
    EXPECT(p.bytes[MEM_WEIGHTS] >= 4 * np && p.bytes[MEM_WEIGHTS] <= 4 * (np + 15 * ntensors), "weights %.0f for %.0f parameters",
           p.bytes[MEM_WEIGHTS], np);
    EXPECT(p.bytes[MEM_GRADIENTS] == p.bytes[MEM_WEIGHTS] && p.bytes[MEM_OPTIMIZER] == 2 * p.bytes[MEM_WEIGHTS],
           "all trainable: gradients = weights, AdamW state twice");
    EXPECT(q.bytes[MEM_WEIGHTS] == p.bytes[MEM_WEIGHTS], "freezing keeps every weight");
    const double C = c.dim, M = c.hidden, layer = 2 * C + 2 * C * C + 2 * C * 256 + 3 * C * M;   // kv width 4 x 64
    EXPECT(q.bytes[MEM_GRADIENTS] >= 4 * (layer + C + 2 * C) && q.bytes[MEM_GRADIENTS] <= 4 * (layer + 3 * C + 15 * 12),
           "gradients of one layer + norm + score: %.0f", q.bytes[MEM_GRADIENTS]);
    EXPECT(q.act_counted == 4 * 8 * 128 * (2 * C + M), "counted: gate, up, down inputs of one layer: %.0f", q.act_counted);
}

int main(int argc, char **argv) {
    tl_init(argc, argv);
    threads_set(0);
    RUN(test_flops_dense);
    RUN(test_flops_methods);
    RUN(test_tinyllama_numbers);
    RUN(test_memory_plan_equals_allocator);
    RUN(test_memory_plan_tinyllama);
    return tl_finish();
}
