// test_vit_cost.c: the closed-form FLOP count of a vanilla ViT training step
// equals what the counters record, exactly, for odd sizes; the memory plan
// (the saved-for-backward size table and the rest) equals what the tracked
// allocator holds during training, per category and method.
#include "baselines/registry.h"
#include "baselines/svdllm_lora.h"
#include "core/linalg/blas.h"
#include "core/runtime/counters.h"
#include "core/runtime/memory.h"
#include "core/runtime/rng.h"
#include "core/models/vit_cost.h"
#include "core/train/train.h"
#include "baselines/wasi.h"
#include "tests/testlib.h"

#include <math.h>
#include <string.h>

static void check_config(ViTConfig c, int B) {
    ViTBinding bind = {0};
    bind.num_finetune = -1;
    ModelConfig mc = {.kind = MODEL_VIT, .vit = c};
    Model mm;
    model_build(&mm, &mc, &bind, B);
    model_init_random(&mm, 3);
    size_t nimg = (size_t)B * c.channels * c.image_size * c.image_size;
    float *x = mem_alloc_floats(nimg, MEM_DATA);
    int *y = mem_alloc(sizeof(int) * (size_t)B, MEM_DATA);
    Rng r; rng_seed(&r, 4); rng_fill_normal(&r, x, (long)nimg, 0, 1);
    for (int i = 0; i < B; i++) y[i] = i % c.num_classes;
    OptimConfig oc = optim_sgd(0.0f, 0.0f);
    counters_reset();
    train_step(&mm, x, y, B, &oc, 0.01f, 0.0f);
    Counters k = counters_get();
    FlopCount want = vit_step_flops(&c, B, NULL, NULL);
    EXPECT(k.flops[PHASE_FORWARD] == want.forward, "forward counted %.0f, closed form %.0f (diff %.0f)",
           k.flops[PHASE_FORWARD], want.forward, k.flops[PHASE_FORWARD] - want.forward);
    EXPECT(k.flops[PHASE_BACKWARD] == want.backward, "backward counted %.0f, closed form %.0f (diff %.0f)",
           k.flops[PHASE_BACKWARD], want.backward, k.flops[PHASE_BACKWARD] - want.backward);
    EXPECT(k.flops[PHASE_RECOMPUTE] == want.recompute, "recompute counted %.0f, closed form %.0f (diff %.0f)",
           k.flops[PHASE_RECOMPUTE], want.recompute, k.flops[PHASE_RECOMPUTE] - want.recompute);
    EXPECT(c.recompute ? want.recompute > 0 : want.recompute == 0, "recompute FLOPs %.0f with recompute %d", want.recompute, c.recompute);
    counters_reset();
    eval_batch(&mm, x, y, B);
    k = counters_get();
    EXPECT(k.flops[PHASE_INFERENCE] == vit_inference_flops(&c, B), "inference counted %.0f, closed form %.0f",
           k.flops[PHASE_INFERENCE], vit_inference_flops(&c, B));
    mem_free(x); mem_free(y);
    model_free(&mm);
}

static void test_closed_form_equals_counters(void) {
    ViTConfig a = {32, 8, 3, 64, 3, 4, 128, 10, 1e-6f, 0, 0, 0};
    check_config(a, 3);
    ViTConfig b = {24, 6, 1, 36, 2, 3, 100, 7, 1e-6f, 0, 0, 0};   // 1 channel, odd sizes
    check_config(b, 5);
    b.gelu_f16 = b.softmax_f16 = 1;   // memory.gelu_f16: the derivative is computed in forward
    check_config(b, 5);
    b.recompute = 1;                  // memory.recompute: backward's re-runs in their own phase
    check_config(b, 5);
    a.recompute = 1;
    check_config(a, 3);
}

static void test_vit_b_32_numbers(void) {
    ViTConfig c;
    vit_preset("vit_b_32", &c);
    FlopCount f = vit_step_flops(&c, 1, NULL, NULL);
    // vit_b_32 is about 4.4 GMAC per 224 px image: forward ~8.8 GFLOP, backward about twice that.
    printf("  vit_b_32 per image: forward %.3f GFLOP, backward %.3f GFLOP\n", f.forward / 1e9, f.backward / 1e9);
    EXPECT(f.forward > 8.6e9 && f.forward < 9.0e9, "forward %.3g", f.forward);
    EXPECT(f.backward > 1.9 * f.forward && f.backward < 2.1 * f.forward, "backward %.3g", f.backward);
}

// Build, init and train one step with `method`, then compare the tracked
// bytes the model holds (current, minus what existed before) with the plan.
// Weights, gradients, optimizer state and activations must agree exactly;
// the workspace up to what the plan leaves out (the methods' private state
// structs and LAPACK's queried work arrays).
// f16: 1 = memory.gelu_f16, 2 = memory.softmax_f16, 3 = both; + 4 = memory.recompute.
static void check_memory(const char *method, int all_linear, int factored, float momentum, int f16) {
    ViTConfig c = {32, 8, 3, 64, 3, 4, 128, 10, 1e-6f, f16 & 1, (f16 >> 1) & 1, (f16 >> 2) & 1};
    const int B = 4, S = c.image_size;
    ViTBinding bind = {0};
    bind.method = method_by_name(method);
    bind.num_finetune = -1;
    bind.all_linear = all_linear;
    bind.mcfg.epsilon = 0.9f;          // wasi: weight rank from the SVD of the random W
    bind.mcfg.lora_rank = 4;
    bind.mcfg.lora_alpha = 8;
    bind.mcfg.factored = factored;
    bind.mcfg.act_ranks[0] = 2; bind.mcfg.act_ranks[1] = 5; bind.mcfg.act_ranks[2] = 8;
    bind.mcfg.seed = 3;
    size_t nimg = (size_t)B * 3 * S * S;
    float *x = mem_alloc_floats(nimg, MEM_DATA);
    int *y = mem_alloc(sizeof(int) * (size_t)B, MEM_DATA);
    Rng r; rng_seed(&r, 4); rng_fill_normal(&r, x, (long)nimg, 0, 1);
    for (int i = 0; i < B; i++) y[i] = i % c.num_classes;
    MemStats s0 = mem_stats();
    ModelConfig mc = {.kind = MODEL_VIT, .vit = c};
    Model mm;
    model_build(&mm, &mc, &bind, B);
    model_init_random(&mm, 3);
    ViT *m = &mm.u.vit;
    int n_counted = c.depth * (all_linear ? VIT_NLIN : 2);
    OptimConfig oc = optim_sgd(momentum, 1e-4f);
    train_step(&mm, x, y, B, &oc, 0.01f, 1.0f);
    MemStats s1 = mem_stats();
    int ranks[64], n = 0;
    for (int l = 0; l < c.depth; l++)
        for (int w = 0; w < VIT_NLIN; w++)
            if (vit_is_counted(m, l, w)) {
                const LinearLayer *L = &m->lin[l * VIT_NLIN + w];
                ranks[n++] = bind.method == &method_svdllm_lora ? svdllm_rank(L)
                             : (bind.method->flags & METHOD_WEIGHT_LOWRANK) ? wasi_weight_rank(L) : 0;
            }
    MemPlan p = vit_memory_plan(&c, B, &bind, ranks, optim_state_buffers(&oc));
    printf("  %-7s %-10s %-8s momentum %.1f%s%s%s:", method, all_linear ? "all_linear" : "mlp", factored ? "factored" : "",
           (double)momentum, c.gelu_f16 ? " gelu_f16" : "", c.softmax_f16 ? " softmax_f16" : "", c.recompute ? " recompute" : "");
    for (int k = 0; k < MEM_NCAT; k++) {
        double got = (double)(s1.current[k] - s0.current[k]);
        printf(" %s %.0f/%.0f", mem_category_name((MemCategory)k), got, p.bytes[k]);
        if (k == MEM_WORKSPACE)   // leftovers: < 2 KB of private state per linear, LAPACK work (< 16 KB per counted linear here)
            EXPECT(got >= p.bytes[k] && got <= p.bytes[k] + 2048.0 * c.depth * VIT_NLIN + 16384.0 * (n_counted + 1),
                   "%s workspace: allocator %.0f, plan %.0f (diff %.0f)", method, got, p.bytes[k], got - p.bytes[k]);
        else
            EXPECT(got == p.bytes[k], "%s %s: allocator %.0f, plan %.0f (diff %.0f)", method,
                   mem_category_name((MemCategory)k), got, p.bytes[k], got - p.bytes[k]);
    }
    printf("\n");
    EXPECT(p.bytes[MEM_ACTIVATIONS] > 0 && p.act_counted > 0, "empty activation table for %s", method);
    EXPECT(p.act_shared + p.act_counted + p.act_other == p.bytes[MEM_ACTIVATIONS], "activation split does not add up");
    // the paper's activation measure is the counted part, element for element
    // (svdllm_lora's also counts z = x A_t^T, rows K per layer, which it does not keep)
    ViTPaperMemory pm = vit_paper_memory(m);
    double z = 0;
    for (int i = 0; bind.method == &method_svdllm_lora && i < n; i++) z += 4.0 * B * m->N * ranks[i];
    // (recompute: a dense saved input is one buffer per linear slot, vit.c rx, where the paper counts every layer's)
    double pa = pm.paper_act_mb * 1048576.0 - z;
    if (!c.recompute)
        EXPECT(fabs(pa - p.act_counted) < 1e-3 * p.act_counted + 1, "%s: paper activations %.0f B, plan's counted part %.0f B",
               method, pa, p.act_counted);
    else
        EXPECT(p.act_counted <= pa + 1, "%s recompute: plan's counted part %.0f B above the paper's %.0f B", method, p.act_counted, pa);
    model_free(&mm);
    mem_free(x); mem_free(y);
}

static void test_memory_plan_equals_allocator(void) {
    check_memory("vanilla", 0, 0, 0.0f, 0);
    check_memory("vanilla", 1, 0, 0.9f, 0);
    check_memory("lora", 0, 0, 0.9f, 0);
    check_memory("svdllm_lora", 0, 0, 0.9f, 0);
    check_memory("svdllm_lora", 1, 0, 0.0f, 0);
    check_memory("asi", 0, 0, 0.0f, 0);
    check_memory("asi", 1, 0, 0.9f, 0);
    check_memory("wasi", 0, 0, 0.9f, 0);
    check_memory("wasi", 1, 0, 0.0f, 0);
    check_memory("wasi", 0, 1, 0.0f, 0);
    check_memory("wasi", 1, 1, 0.0f, 0);
    check_memory("wsi", 0, 0, 0.9f, 0);
    check_memory("wsi", 1, 0, 0.0f, 0);
    // the approximate saving: GELU derivative and attention probabilities in 2 bytes
    check_memory("vanilla", 0, 0, 0.0f, 3);
    check_memory("asi", 1, 0, 0.9f, 1);
    check_memory("wasi", 0, 1, 0.0f, 2);
    // recomputation: each block's input kept, the rest once
    check_memory("vanilla", 0, 0, 0.0f, 4);
    check_memory("lora", 1, 0, 0.9f, 4);
    check_memory("asi", 0, 0, 0.0f, 4);
    check_memory("wasi", 1, 1, 0.0f, 4);
    check_memory("wasi", 0, 0, 0.9f, 7);
}

// vit_b_32 at the paper's batch: the counted part of the plan is the
// paper's vanilla accounting (1125 MB of MLP inputs at batch 128), and the
// plan is dominated by what that measure leaves out.
static void test_memory_plan_vit_b_32(void) {
    ViTConfig c;
    vit_preset("vit_b_32", &c);
    ViTBinding bind = {0};
    bind.method = method_by_name("vanilla");
    bind.num_finetune = -1;
    MemPlan p = vit_memory_plan(&c, 128, &bind, NULL, 0);
    printf("  vit_b_32 B=128 vanilla mlp: total %.1f MB, activations %.1f MB (shared %.1f, counted %.1f, other linears %.1f)\n",
           p.total / 1048576.0, p.bytes[MEM_ACTIVATIONS] / 1048576.0, p.act_shared / 1048576.0, p.act_counted / 1048576.0,
           p.act_other / 1048576.0);
    EXPECT(p.act_counted == 12.0 * 6400 * (768 + 3072) * 4, "counted activations %.0f", p.act_counted);
    EXPECT(fabs(p.act_counted / 1048576.0 - 1125.0) < 1e-9, "counted %.3f MB", p.act_counted / 1048576.0);
    EXPECT(p.act_other == 12.0 * 6400 * 4 * 768 * 4, "other linears %.0f", p.act_other);
    // memory.gelu_f16 + softmax_f16: h (B,N,3072) and att (B,12,N,N) of 12 blocks in 2 bytes instead of 4
    c.gelu_f16 = c.softmax_f16 = 1;
    MemPlan q = vit_memory_plan(&c, 128, &bind, NULL, 0);
    double saved = p.act_shared - q.act_shared, want = 12.0 * 2 * (6400.0 * 3072 + 128.0 * 12 * 50 * 50);
    printf("  ... with gelu_f16 + softmax_f16: shared %.1f MB (-%.1f MB), total %.1f MB\n", q.act_shared / 1048576.0,
           saved / 1048576.0, q.total / 1048576.0);
    EXPECT(saved == want, "f16 saving %.0f B, expected %.0f", saved, want);
    // memory.recompute: of the 12 blocks' sets one is kept, plus every block's input (B,N,768)
    c.gelu_f16 = c.softmax_f16 = 0;
    c.recompute = 1;
    MemPlan r = vit_memory_plan(&c, 128, &bind, NULL, 0);
    const double BNC = 6400.0 * 768, rest = 4 * (4 * BNC + 4 * 6400.0) + 4 * 128.0 * 12 * 50 * 50 + 4 * 6400.0 * 3072;
    printf("  ... with recompute: shared %.1f MB (-%.1f MB), total %.1f MB (vanilla %.1f MB)\n", r.act_shared / 1048576.0,
           (p.act_shared - r.act_shared) / 1048576.0, r.total / 1048576.0, p.total / 1048576.0);
    EXPECT(p.act_shared - r.act_shared == 11 * rest, "recompute saves 11 blocks' sets: %.0f B, expected %.0f", p.act_shared - r.act_shared,
           11 * rest);
    // ... and the linears' saved inputs once: q/k/v (one x), out, fc1 (B,N,768), fc2 (B,N,3072)
    printf("  ... linears' saved inputs with recompute: counted %.1f MB (was %.1f), other %.1f MB (was %.1f)\n",
           r.act_counted / 1048576.0, p.act_counted / 1048576.0, r.act_other / 1048576.0, p.act_other / 1048576.0);
    EXPECT(r.act_counted == 4 * (BNC + 6400.0 * 3072), "recompute counted %.0f", r.act_counted);
    EXPECT(r.act_other == 4 * 2 * BNC, "recompute other %.0f", r.act_other);
}

int main(int argc, char **argv) {
    tl_init(argc, argv);
    threads_set(0);
    RUN(test_closed_form_equals_counters);
    RUN(test_vit_b_32_numbers);
    RUN(test_memory_plan_equals_allocator);
    RUN(test_memory_plan_vit_b_32);
    return tl_finish();
}
