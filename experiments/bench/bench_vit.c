// bench_vit.c: rows 2, 2b and 4 of `make bench`, a whole model (224 px,
// 1000 classes) loaded from a torchvision-named safetensors file.
//
//   bench_vit speed WEIGHTS B THREADS REPS [MODEL]
//     row 2 (MODEL vit_b_32, the default; keys step.c.*) and row 2b
//     (MODEL swin_t; keys swin_t.c.*), through core/models/model.h:
//     vanilla, every parameter trained; one training step (zero_grad,
//     forward, cross-entropy, backward, clip 2.0, SGD lr 0.05 wd 1e-4: the
//     paper's optimizer, as bench_torch.py) and one inference forward, each
//     the best of REPS after a warm-up; counted FLOPs per step and per
//     forward; peak RSS of the steps (VmHWM reset after loading).
//   bench_vit memory WEIGHTS METHOD B THREADS STEPS
//     row 4: METHOD in vanilla | lora | asi | wasi_dense | wasi_factored on
//     the MLP linears (layers: mlp, num_of_finetune: all): lora r 8 alpha 16;
//     asi and wasi with activation ranks (8, 8, 32); wasi at epsilon 0.99999
//     (K = 245 on the bench's weights, whose MLP weights have exact rank
//     245). After loading, the tracked peaks and VmHWM are reset; STEPS
//     training steps run; then the peak tracked bytes by category, the
//     process peak RSS, the paper's measure (counted linears only) and the
//     prediction of vit_memory_plan (core/models/vit_cost.h) are printed.
//   bench_vit memory WEIGHTS METHOD B THREADS STEPS EPS plain|lean
//     row 4b: the same at weight epsilon EPS (wasi), with (lean) or without
//     (plain) the memory section's options recompute, gelu_f16 and
//     softmax_f16; keys lean.bB.METHOD.plain|lean.*.
//   bench_vit whole WEIGHTS METHOD B THREADS REPS [EPS]
//     row 5: the paper's Fig. 8 / Table 2 protocol on this CPU: vit_b_32,
//     224 px, batch B (the paper's 128), layers mlp, num_of_finetune all;
//     METHOD in vanilla | lora (r 8, alpha 16) | asi (activation ranks 8, 8,
//     32) | hosvd (epsilon EPS, default 0.9) | wasi_dense | wasi_factored
//     (weight epsilon EPS, activation ranks 8, 8, 32; inference runs from
//     the factors). One warm-up training step (asi's and wasi's cold first
//     step), then REPS timed steps (best kept) and one timed inference
//     forward after one untimed; counted FLOPs of each; keys
//     whole.<METHOD>[_eps<EPS>].*.
// Output: "key value" lines (read by experiments/bench/run.sh), comments start with '#'.
#include "baselines/registry.h"
#include "core/linalg/blas.h"
#include "core/runtime/counters.h"
#include "core/runtime/memory.h"
#include "core/models/model.h"
#include "core/runtime/rng.h"
#include "core/train/train.h"
#include "core/models/vit_cost.h"
#include "baselines/wasi.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

// VmHWM := VmRSS (Linux: "5" into clear_refs), so a peak covers what follows only.
static void reset_peak_rss(void) {
    FILE *f = fopen("/proc/self/clear_refs", "w");
    if (f) { fputs("5", f); fclose(f); }
}

static void kv(const char *key, double v) { printf("%s %.6f\n", key, v); }

static void kvf(const char *prefix, const char *name, double v) {
    char key[160];
    snprintf(key, sizeof key, "%s.%s", prefix, name);
    kv(key, v);
}

// A random batch (seeded) of B images and labels, category data.
static void make_batch(const ModelConfig *mc, int B, float **img, int **y) {
    int S, Cin, K;
    model_config_io(mc, &S, &Cin, &K);
    size_t n = (size_t)B * Cin * S * S;
    *img = mem_alloc_floats(n, MEM_DATA);
    *y = mem_alloc(sizeof(int) * (size_t)B, MEM_DATA);
    Rng r;
    rng_seed(&r, 11);
    rng_fill_normal(&r, *img, (long)n, 0, 1);
    for (int i = 0; i < B; i++) (*y)[i] = (i * 37) % K;
}

// Build the model (1000 classes) with bind at batch B and load the weights.
static int build_load(Model *mm, const ModelConfig *mc, const ViTBinding *bind, int B, const char *path) {
    model_build(mm, mc, bind, B);
    WbError err;
    if (model_load(mm, path, 0, 0, &err) < 0) { fprintf(stderr, "bench_vit: %s\n", err.msg); return -1; }
    return 0;
}

static int cmd_speed(const char *path, int B, int reps, const char *model) {
    ModelConfig c;
    if (model_preset(model, &c) < 0) {
        fprintf(stderr, "bench_vit speed: unknown model '%s' (%s)\n", model, model_preset_names());
        return 2;
    }
    // row 2 keeps its historical keys (step.c.*); other models key by name
    const char *pre = !strcmp(model, "vit_b_32") ? "step.c" : model;
    char pbuf[64];
    if (pre == model) { snprintf(pbuf, sizeof pbuf, "%s.c", model); pre = pbuf; }
    ViTBinding bind = {0};
    bind.method = method_by_name("vanilla");
    bind.num_finetune = -1;
    Model m;
    if (build_load(&m, &c, &bind, B, path) < 0) return 1;
    float *img; int *y;
    make_batch(&c, B, &img, &y);
    OptimConfig oc = optim_sgd(0.0f, 1e-4f);
    mem_reset_peaks();
    reset_peak_rss();
    train_step(&m, img, y, B, &oc, 0.05f, 2.0f);   // warm-up
    double best = 1e30, times[64];
    Counters cb = {0};
    int nrep = reps < 64 ? reps : 64;
    for (int i = 0; i < nrep; i++) {
        Counters c0 = counters_get();
        double t = wall_seconds();
        train_step(&m, img, y, B, &oc, 0.05f, 2.0f);
        times[i] = wall_seconds() - t;
        Counters d = counters_diff(counters_get(), c0);
        if (times[i] < best) { best = times[i]; cb = d; }
    }
    for (int i = 1; i < nrep; i++)   // insertion sort for the median
        for (int j = i; j > 0 && times[j] < times[j - 1]; j--) { double t = times[j]; times[j] = times[j - 1]; times[j - 1] = t; }
    double train_flops = cb.flops[PHASE_FORWARD] + cb.flops[PHASE_BACKWARD] + cb.flops[PHASE_UPDATE];
    double ibest = 1e30, iflops = 0;
    eval_batch(&m, img, y, B);   // warm-up
    for (int i = 0; i < nrep; i++) {
        Counters c0 = counters_get();
        double t = wall_seconds();
        eval_batch(&m, img, y, B);
        t = wall_seconds() - t;
        Counters d = counters_diff(counters_get(), c0);
        if (t < ibest) { ibest = t; iflops = d.flops[PHASE_INFERENCE]; }
    }
    printf("# %s vanilla B=%d, %d threads: train step %.3f s (fwd %.3f, bwd %.3f, update %.3f; %.1f GFLOP), "
           "inference %.3f s (%.1f GFLOP)\n", model, B, threads_get(), best, cb.seconds[PHASE_FORWARD], cb.seconds[PHASE_BACKWARD],
           cb.seconds[PHASE_UPDATE], train_flops * 1e-9, ibest, iflops * 1e-9);
    kvf(pre, "train_s", best);
    kvf(pre, "train_median_s", times[nrep / 2]);
    kvf(pre, "fwd_s", cb.seconds[PHASE_FORWARD]);
    kvf(pre, "bwd_s", cb.seconds[PHASE_BACKWARD]);
    kvf(pre, "update_s", cb.seconds[PHASE_UPDATE]);
    kvf(pre, "train_gflop", train_flops * 1e-9);
    if (c.kind == MODEL_VIT) {
        FlopCount fc = vit_step_flops(&c.vit, B, NULL, NULL);
        kvf(pre, "fwdbwd_gflop_closed_form", (fc.forward + fc.backward) * 1e-9);
    }
    kvf(pre, "infer_s", ibest);
    kvf(pre, "infer_gflop", iflops * 1e-9);
    kvf(pre, "peak_rss_bytes", (double)mem_peak_rss_bytes());
    kvf(pre, "peak_tracked_bytes", (double)mem_stats().total_peak);
    kvf(pre, "threads", threads_get());
    mem_free(img); mem_free(y);
    model_free(&m);
    return 0;
}

// The bench's settings: a name on the command line -> a method (looked up by
// its declaration) and its settings; one table for the memory and whole benches.
typedef struct {
    const char *setting, *method;
    int lora_rank, act8832, factored, takes_eps;
} BenchSetting;
static const BenchSetting bench_settings[] = {
    {"vanilla", "vanilla", 0, 0, 0, 0},   {"lora", "lora", 8, 0, 0, 0},      {"asi", "asi", 0, 1, 0, 0},
    {"hosvd", "hosvd", 0, 0, 0, 1},       {"wasi_dense", "wasi", 0, 1, 0, 1}, {"wasi_factored", "wasi", 0, 1, 1, 1}};

static const BenchSetting *bench_setting(const char *name, const char *bench) {
    int n = (int)(sizeof bench_settings / sizeof bench_settings[0]);
    for (int i = 0; i < n; i++)
        if (!strcmp(bench_settings[i].setting, name)) return &bench_settings[i];
    fprintf(stderr, "bench_vit %s: unknown method '%s' (", bench, name);
    for (int i = 0; i < n; i++) fprintf(stderr, "%s%s", i ? ", " : "", bench_settings[i].setting);
    fprintf(stderr, ")\n");
    return NULL;
}

// The row's method and settings into bind; returns whether it saves x at ranks 8, 8, 32.
static int bench_apply(const BenchSetting *bs, ViTBinding *bind) {
    bind->method = method_by_name(bs->method);
    bind->mcfg.lora_rank = bs->lora_rank;
    bind->mcfg.lora_alpha = 2.0f * (float)bs->lora_rank;
    bind->mcfg.factored = bs->factored;
    return bs->act8832;
}

// eps < 0: row 4's historical setting (wasi at 0.99999, keys mem.METHOD);
// otherwise row 4b: the weight epsilon of the low-rank methods, lean = the
// memory section's three options (recompute, gelu_f16, softmax_f16), keys
// lean.bB.METHOD.{plain,lean}.
static int cmd_memory(const char *path, const char *method, int B, int steps, double rss_start, float eps, int lean) {
    ModelConfig mcf;
    model_preset("vit_b_32", &mcf);
    if (lean) mcf.vit.recompute = mcf.vit.gelu_f16 = mcf.vit.softmax_f16 = 1;
    const ViTConfig c = mcf.vit;
    ViTBinding bind = {0};
    bind.num_finetune = -1;
    bind.all_linear = 0;
    MethodConfig *mc = &bind.mcfg;
    mc->seed = 233;
    const BenchSetting *bs = bench_setting(method, "memory");
    if (!bs) return 2;
    int act8832 = bench_apply(bs, &bind);
    if (bind.method->flags & METHOD_WEIGHT_LOWRANK) mc->epsilon = eps < 0 ? 0.99999f : eps;
    if (act8832) { mc->act_ranks[0] = 8; mc->act_ranks[1] = 8; mc->act_ranks[2] = 32; }
    char pre[64];
    if (eps < 0) snprintf(pre, sizeof pre, "mem.%s", method);
    else snprintf(pre, sizeof pre, "lean.b%d.%s.%s", B, method, lean ? "lean" : "plain");

    Model mm;
    if (build_load(&mm, &mcf, &bind, B, path) < 0) return 1;
    ViT *m = &mm.u.vit;
    float *img; int *y;
    make_batch(&mcf, B, &img, &y);
    OptimConfig oc = optim_sgd(0.0f, 1e-4f);
    double rss_loaded = (double)mem_current_rss_bytes();
    mem_reset_peaks();
    reset_peak_rss();
    double t = wall_seconds();
    for (int s = 0; s < steps; s++) train_step(&mm, img, y, B, &oc, 0.05f, 2.0f);
    t = (wall_seconds() - t) / (steps > 0 ? steps : 1);
    MemStats ms = mem_stats();
    double rss_peak = (double)mem_peak_rss_bytes();

    // the prediction: weight ranks from the layers (wasi: from the SVD of W)
    int ranks[VIT_NLIN * 64], n = 0, k_min = 1 << 30, k_max = 0;
    double act_counted = 0, act_linears = 0;
    for (int l = 0; l < c.depth; l++)
        for (int w = 0; w < VIT_NLIN; w++) {
            LinearLayer *L = &m->lin[l * VIT_NLIN + w];
            LinearAccount acc;
            L->method->account(L, &acc);
            act_linears += (double)acc.bytes_activations;
            if (!vit_is_counted(m, l, w)) continue;
            act_counted += (double)acc.bytes_activations;
            ranks[n] = (bind.method->flags & METHOD_WEIGHT_LOWRANK) ? wasi_weight_rank(L) : 0;
            if (ranks[n] < k_min) k_min = ranks[n];
            if (ranks[n] > k_max) k_max = ranks[n];
            n++;
        }
    MemPlan plan = vit_memory_plan(&c, B, &bind, ranks, optim_state_buffers(&oc));
    double data = (double)ms.current[MEM_DATA];   // the batch: not part of the model's plan
    ViTPaperMemory pm = vit_paper_memory(m);

    printf("# %s B=%d: %d steps of %.2f s; peak tracked %.1f MB (plan %.1f MB + batch %.1f MB), peak RSS %.1f MB, "
           "paper measure %.1f MB\n", method, B, steps, t, (double)ms.total_peak / 1048576.0, plan.total / 1048576.0,
           data / 1048576.0, rss_peak / 1048576.0, pm.paper_act_mb + pm.paper_weight_mb);
    for (int k = 0; k < MEM_NCAT; k++) {
        char name[64];
        snprintf(name, sizeof name, "%s_peak", mem_category_name((MemCategory)k));
        kvf(pre, name, (double)ms.peak[k]);
        snprintf(name, sizeof name, "%s_plan", mem_category_name((MemCategory)k));
        kvf(pre, name, k == MEM_DATA ? data : plan.bytes[k]);
    }
    kvf(pre, "total_peak", (double)ms.total_peak);
    kvf(pre, "total_plan", plan.total + data);
    kvf(pre, "act_shared_plan", plan.act_shared);
    kvf(pre, "act_counted_plan", plan.act_counted);
    kvf(pre, "act_other_plan", plan.act_other);
    kvf(pre, "act_counted_meas", act_counted);
    kvf(pre, "act_other_meas", act_linears - act_counted);
    kvf(pre, "act_shared_meas", (double)ms.peak[MEM_ACTIVATIONS] - act_linears);
    kvf(pre, "rss_peak", rss_peak);
    kvf(pre, "rss_start", rss_start);
    kvf(pre, "rss_loaded", rss_loaded);
    kvf(pre, "n_allocs", (double)ms.n_allocs);
    kvf(pre, "paper_act_mb", pm.paper_act_mb);
    kvf(pre, "paper_weight_mb", pm.paper_weight_mb);
    kvf(pre, "weight_rank_min", k_max ? k_min : 0);
    kvf(pre, "weight_rank_max", k_max);
    kvf(pre, "step_s", t);
    kvf(pre, "trainable_params", (double)model_num_trainable(&mm));
    mem_free(img); mem_free(y);
    model_free(&mm);
    return 0;
}

static int cmd_whole(const char *path, const char *method, int B, int reps, float eps) {
    ModelConfig mcf;
    model_preset("vit_b_32", &mcf);
    ViTBinding bind = {0};
    bind.num_finetune = -1;
    MethodConfig *mc = &bind.mcfg;
    mc->seed = 233;
    char pre[96];
    snprintf(pre, sizeof pre, "whole.%s", method);
    const BenchSetting *bs = bench_setting(method, "whole");
    if (!bs) return 2;
    int act8832 = bench_apply(bs, &bind);
    if (bs->takes_eps) {
        mc->epsilon = eps;
        snprintf(pre, sizeof pre, "whole.%s_eps%.2g", method, (double)eps);
    }
    if (act8832) { mc->act_ranks[0] = 8; mc->act_ranks[1] = 8; mc->act_ranks[2] = 32; }
    Model mm;
    if (build_load(&mm, &mcf, &bind, B, path) < 0) return 1;
    float *img; int *y;
    make_batch(&mcf, B, &img, &y);
    OptimConfig oc = optim_sgd(0.0f, 1e-4f);
    train_step(&mm, img, y, B, &oc, 0.05f, 2.0f);   // warm-up: the cold first step, page faults
    double best = 1e30;
    Counters cb = {0};
    for (int i = 0; i < reps; i++) {
        Counters c0 = counters_get();
        double t = wall_seconds();
        train_step(&mm, img, y, B, &oc, 0.05f, 2.0f);
        t = wall_seconds() - t;
        if (t < best) { best = t; cb = counters_diff(counters_get(), c0); }
    }
    eval_batch(&mm, img, y, B);   // warm-up
    Counters c0 = counters_get();
    double ti = wall_seconds();
    eval_batch(&mm, img, y, B);
    ti = wall_seconds() - ti;
    Counters ci = counters_diff(counters_get(), c0);
    int k_min = 1 << 30, k_max = 0;
    ViT *m = &mm.u.vit;
    for (int l = 0; l < m->cfg.depth; l++)
        for (int w = 0; w < VIT_NLIN; w++) {
            LinearLayer *L = &m->lin[l * VIT_NLIN + w];
            if (!vit_is_counted(m, l, w) || L->method != method_by_name("wasi")) continue;
            int k = wasi_weight_rank(L);
            if (k < k_min) k_min = k;
            if (k > k_max) k_max = k;
        }
    double tf = cb.flops[PHASE_FORWARD] + cb.flops[PHASE_DECOMPOSITION] + cb.flops[PHASE_BACKWARD] + cb.flops[PHASE_UPDATE];
    printf("# %s B=%d, %d threads: train step %.3f s (fwd %.3f, compress %.3f, bwd %.3f, update %.3f; %.1f GFLOP), "
           "inference %.3f s (%.1f GFLOP); weight ranks %d..%d\n", pre, B, threads_get(), best, cb.seconds[PHASE_FORWARD],
           cb.seconds[PHASE_DECOMPOSITION], cb.seconds[PHASE_BACKWARD], cb.seconds[PHASE_UPDATE], tf * 1e-9, ti,
           ci.flops[PHASE_INFERENCE] * 1e-9, k_max ? k_min : 0, k_max);
    kvf(pre, "train_s", best);
    kvf(pre, "fwd_s", cb.seconds[PHASE_FORWARD]);
    kvf(pre, "compress_s", cb.seconds[PHASE_DECOMPOSITION]);
    kvf(pre, "bwd_s", cb.seconds[PHASE_BACKWARD]);
    kvf(pre, "update_s", cb.seconds[PHASE_UPDATE]);
    kvf(pre, "train_gflop", tf * 1e-9);
    kvf(pre, "infer_s", ti);
    kvf(pre, "infer_gflop", ci.flops[PHASE_INFERENCE] * 1e-9);
    kvf(pre, "k_min", k_max ? k_min : 0);
    kvf(pre, "k_max", k_max);
    kvf(pre, "batch", B);
    kvf(pre, "reps", reps);
    mem_free(img); mem_free(y);
    model_free(&mm);
    return 0;
}

int main(int argc, char **argv) {
    double rss_start = (double)mem_current_rss_bytes();   // code and libraries, before any tracked buffer
    if ((argc == 6 || argc == 7) && !strcmp(argv[1], "speed")) {
        threads_set(atoi(argv[4]));
        return cmd_speed(argv[2], atoi(argv[3]), atoi(argv[5]), argc == 7 ? argv[6] : "vit_b_32");
    }
    if (argc >= 7 && argc <= 9 && !strcmp(argv[1], "memory")) {
        threads_set(atoi(argv[5]));
        int lean = argc == 9 && !strcmp(argv[8], "lean");
        if (argc == 9 && !lean && strcmp(argv[8], "plain")) { fprintf(stderr, "bench_vit memory: '%s': expected lean or plain\n", argv[8]); return 2; }
        return cmd_memory(argv[2], argv[3], atoi(argv[4]), atoi(argv[6]), rss_start, argc >= 8 ? (float)atof(argv[7]) : -1.0f, lean);
    }
    if ((argc == 7 || argc == 8) && !strcmp(argv[1], "whole")) {
        threads_set(atoi(argv[5]));
        return cmd_whole(argv[2], argv[3], atoi(argv[4]), atoi(argv[6]), argc == 8 ? (float)atof(argv[7]) : 0.9f);
    }
    fprintf(stderr, "usage: bench_vit speed WEIGHTS B THREADS REPS [MODEL: vit_b_32 | swin_t]\n"
                    "       bench_vit memory WEIGHTS METHOD B THREADS STEPS [EPS [plain | lean]]\n"
                    "       bench_vit whole WEIGHTS METHOD B THREADS REPS [EPS]\n");
    return 2;
}
