// test_paper_configs.c: the paper's experiment files (experiments/paper/)
// load, expand to the runs the paper needs with the authors' settings, and
// their dry-run numbers (the analytic cost of `wasibench run --dry-run`)
// match the paper's accounting: vanilla vit_b_32 at batch 128 keeps 1341 MB
// (MLP linears: inputs 1125 MB + weights 216 MB) and 2349 MB (all linears).
#include "experiments/config.h"
#include "experiments/cost.h"
#include "baselines/wasi.h"
#include "baselines/registry.h"
#include "core/models/vit_cost.h"
#include "tests/testlib.h"

#include <math.h>
#include <string.h>

static const char *datasets[6] = {"cifar10", "cifar100", "pets", "flowers102", "cub200", "isic2018"};
static const int classes[6] = {10, 100, 37, 102, 200, 7};
static const float wasi_eps[6] = {0.4f, 0.5f, 0.6f, 0.7f, 0.8f, 0.9f};

static int load(Experiment *ex, const char *path) {
    WbError err = {{0}};
    int rc = cfg_load(ex, path, &err);
    EXPECT(rc == 0, "%s does not load: %s", path, err.msg);
    return rc;
}

// Every run of a paper file: the authors' training settings, one stage per
// data set, the methods and their settings in order; returns the vanilla run
// of the first stage (cifar10).
static const RunSpec *check_paper_file(const Experiment *ex, const char *experiment, ModelKind kind, int all_linear) {
    EXPECT(!strcmp(ex->experiment, experiment), "experiment %s, expected %s", ex->experiment, experiment);
    EXPECT(ex->n == 6 * 14, "%s: %d runs, expected 84 (6 data sets x (vanilla, lora, 6 asi, 6 wasi))", experiment, ex->n);
    if (ex->n != 84) return NULL;
    for (int i = 0; i < ex->n; i++) {
        const RunSpec *r = &ex->runs[i];
        int d = i / 14, j = i % 14;
        EXPECT(!strcmp(r->stage, datasets[d]), "run %d in stage %s, expected %s", i, r->stage, datasets[d]);
        EXPECT(!strcmp(data_format_name(r->data.format), datasets[d]), "run %d: data set %s", i, data_format_name(r->data.format));
        int S, ch, K;
        model_config_io(&r->model, &S, &ch, &K);
        EXPECT(r->model.kind == kind && S == 224 && ch == 3 && K == classes[d], "run %s: kind %d, %d px, %d channels, %d classes",
               r->name, (int)r->model.kind, S, ch, K);
        EXPECT(r->pretrained[0] && r->new_head, "run %s: pretrained '%s', new_head %d", r->name, r->pretrained, r->new_head);
        // training: SGD lr 0.05, momentum 0, wd 1e-4, cosine to 0.1 lr over 50 epochs, batch 128, clip 2
        EXPECT(r->epochs == 50 && r->batch_size == 128, "run %s: %d epochs, batch %d", r->name, r->epochs, r->batch_size);
        EXPECT(r->opt.kind == OPT_SGD && r->opt.momentum == 0.0f && fabsf(r->opt.weight_decay - 1e-4f) < 1e-9f,
               "run %s: optimizer %d momentum %g wd %g", r->name, (int)r->opt.kind, (double)r->opt.momentum, (double)r->opt.weight_decay);
        EXPECT(r->sched.cosine && fabsf(r->sched.lr - 0.05f) < 1e-7f && fabsf(r->sched.eta_min - 0.005f) < 1e-7f &&
               r->warmup_epochs == 0.0f, "run %s: lr %g eta_min %g cosine %d warmup %g", r->name, (double)r->sched.lr,
               (double)r->sched.eta_min, r->sched.cosine, (double)r->warmup_epochs);
        EXPECT(fabsf(r->grad_clip - 2.0f) < 1e-7f, "run %s: grad_clip %g", r->name, (double)r->grad_clip);
        // data: 224 px squash, no augmentation, 80/20 split with seed 233, seed 233
        EXPECT(r->data.image_size == 224 && r->data.random_resized_crop == 0 && r->data.hflip == 0,
               "run %s: %d px, rrc %d, flip %d", r->name, r->data.image_size, r->data.random_resized_crop, r->data.hflip);
        EXPECT(fabsf(r->data.val_fraction - 0.2f) < 1e-7f && r->data.split_seed == 233 && r->seed == 233,
               "run %s: val_fraction %g split_seed %llu seed %llu", r->name, (double)r->data.val_fraction,
               (unsigned long long)r->data.split_seed, (unsigned long long)r->seed);
        EXPECT(r->all_linear == all_linear && r->num_finetune == -1, "run %s: all_linear %d num_finetune %d", r->name,
               r->all_linear, r->num_finetune);
        // methods: vanilla, lora r 8 alpha 16, asi at the minimum budget and 5 budgets, wasi at eps 0.4..0.9
        if (j == 0) {
            EXPECT(!strcmp(r->method, "vanilla"), "run %s: method %s", r->name, r->method);
        } else if (j == 1) {
            EXPECT(!strcmp(r->method, "lora") && r->mcfg.lora_rank == 8 && r->mcfg.lora_alpha == 16.0f,
                   "run %s: %s r %d alpha %g", r->name, r->method, r->mcfg.lora_rank, (double)r->mcfg.lora_alpha);
        } else if (j < 8) {
            // asi at the DP's minimum budget (0), then increasing total budgets that each leave room for
            // activations above the counted linears' dense weights (a budget below them would only repeat
            // the minimum run, with a warning)
            MethodCost ca;
            method_cost(r, &ca);
            double prev = j == 2 ? -1.0 : (double)ex->runs[i - 1].budget_mb;
            double b = (double)r->budget_mb;
            int ok_budget = j == 2 ? b == 0 : b > prev && b >= ca.paper_weight_mb + 1.0;
            EXPECT(!strcmp(r->method, "asi") && r->act_mode == ACT_RANKS_BUDGET && ok_budget && isfinite(ca.paper_weight_mb),
                   "run %s: %s act_mode %d budget %g (previous %g, dense weights %.2f MB)", r->name, r->method,
                   (int)r->act_mode, (double)r->budget_mb, prev, ca.paper_weight_mb);
        } else {
            EXPECT(!strcmp(r->method, "wasi") && fabsf(r->mcfg.epsilon - wasi_eps[j - 8]) < 1e-7f &&
                   r->act_mode == ACT_RANKS_BUDGET && r->budget_mb == 0 && r->mcfg.r_update_previous == 1 &&
                   r->mcfg.factored == 0, "run %s: %s eps %g act_mode %d budget %g r_previous %d factored %d", r->name,
                   r->method, (double)r->mcfg.epsilon, (int)r->act_mode, (double)r->budget_mb,
                   r->mcfg.r_update_previous, r->mcfg.factored);
        }
    }
    return &ex->runs[0];
}

static void test_vit_b_32_mlp(void) {
    Experiment ex;
    if (load(&ex, "experiments/paper/vit_b_32_mlp.yaml") < 0) return;
    const RunSpec *v = check_paper_file(&ex, "paper_vit_b_32_mlp", MODEL_VIT, 0);
    if (v) {
        MethodCost c;
        method_cost(v, &c);
        printf("  vanilla vit_b_32 mlp, batch 128: %.1f MB activations + %.1f MB weights = %.1f MB; %.2f GFLOP/step\n",
               c.paper_act_mb, c.paper_weight_mb, c.paper_act_mb + c.paper_weight_mb, c.train_flops_per_step / 1e9);
        EXPECT(fabs(c.paper_act_mb - 1125.0) < 1e-9 && fabs(c.paper_weight_mb - 216.0) < 1e-9,
               "paper measure %.6f + %.6f MB, expected 1125 + 216", c.paper_act_mb, c.paper_weight_mb);
        EXPECT(fabs(c.paper_act_mb + c.paper_weight_mb - 1341.0) < 1e-9, "paper total %.6f MB, expected 1341", c.paper_act_mb + c.paper_weight_mb);
        FlopCount f = vit_step_flops(&v->model.vit, 128, NULL, NULL);
        EXPECT(c.train_flops_per_step == f.forward + f.backward, "dry-run FLOPs %.0f, closed form %.0f",
               c.train_flops_per_step, f.forward + f.backward);
        // about 3 x 8.8 GFLOP per image: a sanity bound on the model the file builds
        EXPECT(c.train_flops_per_step > 128 * 25e9 && c.train_flops_per_step < 128 * 27e9, "GFLOP/step %.1f",
               c.train_flops_per_step / 1e9);
        // lora keeps the frozen weights and adds r (I + O) per layer, r columns per row of activations
        MethodCost cl;
        method_cost(&ex.runs[1], &cl);
        double r_w = 24.0 * 8 * (768 + 3072) * 4 / 1048576.0, r_a = 24.0 * 6400 * 8 * 4 / 1048576.0;
        EXPECT(fabs(cl.paper_weight_mb - (216.0 + r_w)) < 1e-9 && fabs(cl.paper_act_mb - (1125.0 + r_a)) < 1e-9,
               "lora %.6f + %.6f MB", cl.paper_act_mb, cl.paper_weight_mb);
        // wasi's weight rank comes from the SVD of the pretrained weights: unknown before the run
        MethodCost cw;
        method_cost(&ex.runs[8], &cw);
        EXPECT(isnan(cw.paper_weight_mb) && isnan(cw.paper_act_mb), "wasi dry-run memory should be unknown, got %g, %g",
               cw.paper_act_mb, cw.paper_weight_mb);
    }
    cfg_free(&ex);
}

static void test_vit_b_32_all_linear(void) {
    Experiment ex;
    if (load(&ex, "experiments/paper/vit_b_32_all_linear.yaml") < 0) return;
    const RunSpec *v = check_paper_file(&ex, "paper_vit_b_32_all_linear", MODEL_VIT, 1);
    if (v) {
        MethodCost c;
        method_cost(v, &c);
        printf("  vanilla vit_b_32 all_linear, batch 128: %.1f + %.1f = %.1f MB\n", c.paper_act_mb, c.paper_weight_mb,
               c.paper_act_mb + c.paper_weight_mb);
        // + q, k, v, out: 4 x 6400 x 768 inputs and 4 x 768^2 weights per block
        EXPECT(fabs(c.paper_act_mb - 2025.0) < 1e-9 && fabs(c.paper_weight_mb - 324.0) < 1e-9,
               "paper measure %.6f + %.6f MB, expected 2025 + 324", c.paper_act_mb, c.paper_weight_mb);
        EXPECT(fabs(c.paper_act_mb + c.paper_weight_mb - 2349.0) < 1e-9, "paper total %.6f MB, expected 2349", c.paper_act_mb + c.paper_weight_mb);
    }
    cfg_free(&ex);
}

// Swin-T: the same matrix; the counted linears of all_linear are a superset of mlp's.
static void test_swin_t(void) {
    Experiment a, b;
    if (load(&a, "experiments/paper/swin_t_mlp.yaml") < 0) return;
    if (load(&b, "experiments/paper/swin_t_all_linear.yaml") < 0) { cfg_free(&a); return; }
    const RunSpec *va = check_paper_file(&a, "paper_swin_t_mlp", MODEL_SWIN, 0);
    const RunSpec *vb = check_paper_file(&b, "paper_swin_t_all_linear", MODEL_SWIN, 1);
    if (va && vb) {
        MethodCost ca, cb;
        method_cost(va, &ca);
        method_cost(vb, &cb);
        printf("  vanilla swin_t, batch 128: mlp %.1f + %.1f MB, all_linear %.1f + %.1f MB\n", ca.paper_act_mb,
               ca.paper_weight_mb, cb.paper_act_mb, cb.paper_weight_mb);
        // swin_t MLP weights: 2 x 4 C^2 per block, C = 96, 192, 384, 768 over depths 2, 2, 6, 2
        double w = 0;
        const int depth[4] = {2, 2, 6, 2}, dim[4] = {96, 192, 384, 768};
        for (int s = 0; s < 4; s++) w += depth[s] * 8.0 * dim[s] * dim[s];
        EXPECT(fabs(ca.paper_weight_mb - w * 4 / 1048576.0) < 1e-9, "swin_t mlp weights %.6f MB, expected %.6f",
               ca.paper_weight_mb, w * 4 / 1048576.0);
        EXPECT(cb.paper_act_mb > ca.paper_act_mb && cb.paper_weight_mb > ca.paper_weight_mb,
               "all_linear (%.1f, %.1f MB) not above mlp (%.1f, %.1f MB)", cb.paper_act_mb, cb.paper_weight_mb,
               ca.paper_act_mb, ca.paper_weight_mb);
    }
    cfg_free(&a);
    cfg_free(&b);
}

// The shared base is not an experiment on its own: it has no methods.
static void test_base_is_not_an_experiment(void) {
    Experiment ex;
    WbError err = {{0}};
    int rc = cfg_load(&ex, "experiments/paper/base.yaml", &err);
    EXPECT(rc < 0 && strstr(err.msg, "methods"), "base.yaml loaded (rc %d) or failed for another reason: %s", rc, err.msg);
    if (rc == 0) cfg_free(&ex);
}

// make paper-mini's files: the run counts every figure needs (vit: 1 pretrain +
// 3 seeds x (vanilla, lora, 6 svdllm_lora, asi, 6 wasi, 6 wsi, 6 wsi svd); swin: 1 + 9),
// wsi svd runs carrying weight_update svd, the 0.8 run that Fig. 3a draws.
static void test_paper_mini(void) {
    Experiment ex;
    if (load(&ex, "experiments/paper/mini/vit.yaml") == 0) {
        EXPECT(ex.n == 1 + 3 * 27, "mini vit: %d runs, expected 82", ex.n);
        int svd = 0, eps08 = 0;
        for (int i = 0; i < ex.n; i++) {
            const RunSpec *r = &ex.runs[i];
            svd += !strcmp(r->method, "wsi") && r->mcfg.weight_update_svd;
            eps08 += !strcmp(r->method, "wasi") && fabsf(r->mcfg.epsilon - 0.8f) < 1e-6f;
        }
        EXPECT(svd == 18 && eps08 == 3, "wsi svd runs %d (18), wasi eps 0.8 runs %d (3)", svd, eps08);
        cfg_free(&ex);
    }
    if (load(&ex, "experiments/examples/demo_ablations.yaml") == 0) {   // README: the ablations on the demo task
        int svd = 0, svdllm = 0;
        for (int i = 0; i < ex.n; i++) {
            svd += ex.runs[i].mcfg.weight_update_svd;
            svdllm += !strcmp(ex.runs[i].method, "svdllm_lora");
        }
        EXPECT(ex.n == 12 && svd == 4 && svdllm == 2, "demo_ablations: %d runs (12), %d with weight_update svd (4), %d svdllm_lora (2)",
               ex.n, svd, svdllm);
        cfg_free(&ex);
    }
    if (load(&ex, "experiments/paper/mini/swin.yaml") == 0) {
        EXPECT(ex.n == 10 && ex.runs[0].model.kind == MODEL_SWIN, "mini swin: %d runs, expected 10 Swin runs", ex.n);
        cfg_free(&ex);
    }
}

// The per-figure files: run counts, one stage each, the methods each figure needs.
static void test_figure_files(void) {
    static const struct { const char *path; int runs; const char *stage; const char *needs; } F[] = {
        {"experiments/paper/vit_b_32_fig3.yaml", 13, "pets/", "wsi"},
        {"experiments/paper/vit_b_32_fig5.yaml", 14, "cifar10/", "svdllm_lora"},
        {"experiments/paper/vit_b_32_fig8.yaml", 7, "cifar10/", "wasi"},
        {"experiments/paper/vit_b_32_fig9.yaml", 24, "pets/", "asi"},
    };
    for (size_t i = 0; i < sizeof F / sizeof F[0]; i++) {
        Experiment ex;
        if (load(&ex, F[i].path) < 0) continue;
        int stage = 0, needs = 0;
        for (int r = 0; r < ex.n; r++) {
            stage += !strncmp(ex.runs[r].name, F[i].stage, strlen(F[i].stage));
            needs += !strcmp(ex.runs[r].method, F[i].needs);
        }
        EXPECT(ex.n == F[i].runs && stage == ex.n && needs > 0, "%s: %d runs (want %d), %d in stage %s, %d %s runs", F[i].path, ex.n,
               F[i].runs, stage, F[i].stage, needs, F[i].needs);
        cfg_free(&ex);
    }
}

// Fig. 7: TinyLlama on BoolQ, the authors' setup, vanilla and wasi (eps 0.1
// and 0.4 ... 0.9) on the last 1 ... 5 decoder layers; the dry run's vanilla
// measure from the real shapes (22 layers, 2048, 5632, 32 heads, 4 KV heads,
// vocab 32000) at batch 8, length 128: per layer 70 MB of inputs and 168 MB
// of weights (q, o: 2048^2; k, v: 256 x 2048; gate, up, down: 2048 x 5632).
static void test_tinyllama_boolq(void) {
    Experiment ex;
    if (load(&ex, "experiments/paper/tinyllama_boolq.yaml") < 0) return;
    EXPECT(ex.n == 5 * 8, "tinyllama_boolq: %d runs, expected 40 (5 x (vanilla + 7 wasi))", ex.n);
    int vanilla = 0, eps01 = 0;
    for (int i = 0; i < ex.n; i++) {
        const RunSpec *r = &ex.runs[i];
        const LlamaConfig *l = &r->model.llama;
        EXPECT(r->model.kind == MODEL_LLAMA && l->layers == 22 && l->dim == 2048 && l->hidden == 5632 && l->heads == 32 &&
                   l->kv_heads == 4 && l->vocab == 32000 && l->seq_len == 128 && l->pad_id == 2 && l->num_classes == 2,
               "run %s: kind %d, %d layers, dim %d, hidden %d, %d/%d heads, vocab %d, T %d, pad %d, %d classes", r->name,
               (int)r->model.kind, l->layers, l->dim, l->hidden, l->heads, l->kv_heads, l->vocab, l->seq_len, l->pad_id, l->num_classes);
        EXPECT(r->batch_size == 8 && r->epochs == 50 && r->seed == 233 && r->all_linear == 1 && r->num_finetune >= 1 &&
                   r->num_finetune <= 5 && r->opt.kind == OPT_SGD && fabsf(r->sched.lr - 0.05f) < 1e-7f && fabsf(r->grad_clip - 2.0f) < 1e-7f,
               "run %s: batch %d, %d epochs, seed %llu, layers %d, num_of_finetune %d", r->name, r->batch_size, r->epochs,
               (unsigned long long)r->seed, r->all_linear, r->num_finetune);
        eps01 += method_by_name(r->method) == &method_wasi && fabsf(r->mcfg.epsilon - 0.1f) < 1e-7f;
        if (!method_is_reference(r->method)) continue;
        MethodCost c;
        method_cost(r, &c);
        double act = 70.0 * r->num_finetune, w = 168.0 * r->num_finetune;
        EXPECT(fabs(c.paper_act_mb - act) < 1e-9 * act && fabs(c.paper_weight_mb - w) < 1e-9 * w,
               "vanilla, last %d layers: %.4f + %.4f MB, expected %.0f + %.0f", r->num_finetune, c.paper_act_mb, c.paper_weight_mb, act, w);
        printf("  vanilla TinyLlama, last %d layer(s), batch 8, length 128: %.1f MB activations + %.1f MB weights\n", r->num_finetune,
               c.paper_act_mb, c.paper_weight_mb);
        vanilla++;
    }
    EXPECT(vanilla == 5 && eps01 == 5, "%d vanilla runs (5), %d wasi runs at eps 0.1 (5)", vanilla, eps01);
    cfg_free(&ex);
    if (load(&ex, "experiments/paper/mini/llama.yaml") == 0) {
        EXPECT(ex.n == 1 + 4 * 3 && ex.runs[0].model.kind == MODEL_LLAMA, "mini llama: %d runs, expected 13 Llama runs", ex.n);
        cfg_free(&ex);
    }
}

int main(int argc, char **argv) {
    tl_init(argc, argv);
    RUN(test_vit_b_32_mlp);
    RUN(test_vit_b_32_all_linear);
    RUN(test_swin_t);
    RUN(test_base_is_not_an_experiment);
    RUN(test_paper_mini);
    RUN(test_figure_files);
    RUN(test_tinyllama_boolq);
    return tl_finish();
}
