// test_config.c: the strict experiment YAML loader (experiments/config.c):
// the committed examples expand to the exact run lists; sweeps, method
// axes, budgets, extends and stages; every error names file:line:column and
// the key; resolved YAML loads back to the same run; truncated and mutated
// files never crash and never leak tracked memory.
//
// config.c is part of the runner program, not of libwasibench.a, so the test
// compiles it in directly (see the report: the Makefile could link
// build/experiments/config.o into the tests instead).
#include "experiments/config.h"
#include "core/runtime/memory.h"

#include "core/runtime/rng.h"
#include "tests/testlib.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int quick(void) { return getenv("WB_QUICK") != NULL; }

static const char *tmp_path(const char *name) {
    static char buf[8][600];
    static int k;
    char *p = buf[k++ & 7];
    snprintf(p, 600, "%s/%s", tl_tmpdir(), name);
    return p;
}

static const char *write_yaml_n(const char *name, const char *text, size_t len) {
    const char *p = tmp_path(name);
    FILE *f = fopen(p, "wb");
    if (!f) { fprintf(stderr, "cannot write %s\n", p); exit(1); }
    fwrite(text, 1, len, f);
    fclose(f);
    return p;
}
static const char *write_yaml(const char *name, const char *text) { return write_yaml_n(name, text, strlen(text)); }

static char *read_text(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) { fprintf(stderr, "cannot read %s\n", path); exit(1); }
    char *buf = mem_alloc(1 << 16, MEM_WORKSPACE);
    *len = fread(buf, 1, (1 << 16) - 1, f);
    fclose(f);
    return buf;
}

// Load a file that must be valid; n = -1 when it is not (after reporting).
static int load_ok(Experiment *ex, const char *path) {
    WbError err;
    int rc = cfg_load(ex, path, &err);
    EXPECT(rc == 0, "%s should load: %s", path, err.msg);
    return rc;
}

static const char *run_name(const Experiment *ex, int i) { return i < ex->n ? ex->runs[i].name : "(missing)"; }
#define EXPECT_NAME(ex, i, want) EXPECT(!strcmp(run_name(ex, i), want), "run %d is '%s', expected '%s'", i, run_name(ex, i), want)

static int count_method(const Experiment *ex, const char *m) {
    int n = 0;
    for (int i = 0; i < ex->n; i++) n += !strcmp(ex->runs[i].method, m);
    return n;
}

// Names: unique, and only [A-Za-z0-9._+-] with at most one '/' (stage).
static void check_names(const Experiment *ex) {
    for (int i = 0; i < ex->n; i++) {
        const char *s = ex->runs[i].name;
        int slashes = 0, ok = s[0] != 0;
        for (const char *p = s; *p; p++) {
            char c = *p;
            slashes += c == '/';
            ok &= (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-' || c == '+' || c == '/';
        }
        EXPECT(ok && slashes <= 1, "run %d name '%s' is not file/HDF5-safe", i, s);
        EXPECT(ex->runs[i].index == i, "run %d has index %d", i, ex->runs[i].index);
        EXPECT(ex->runs[i].resolved_yaml && strstr(ex->runs[i].resolved_yaml, "\nmethods:\n"), "run %d has resolved YAML", i);
        for (int j = 0; j < i; j++) EXPECT(strcmp(s, ex->runs[j].name), "runs %d and %d share the name '%s'", j, i, s);
    }
}

// ---------------------------------------------------------------------------
// the committed examples

static void test_example_minimal(void) {
    Experiment ex;
    if (load_ok(&ex, "experiments/examples/micro_vanilla.yaml") < 0) return;
    EXPECT(ex.n == 1, "%d runs", ex.n);
    EXPECT(!strcmp(ex.experiment, "micro_vanilla"), "experiment '%s' (the file's base name)", ex.experiment);
    EXPECT(!strcmp(ex.output, "results/micro_vanilla.h5"), "output '%s'", ex.output);
    RunSpec *r = &ex.runs[0];
    EXPECT_NAME(&ex, 0, "vanilla-seed233");
    EXPECT(!strcmp(r->stage, "main") && !strcmp(r->method, "vanilla") && !strcmp(r->model_preset, "vit_micro"), "stage %s method %s preset %s",
           r->stage, r->method, r->model_preset);
    EXPECT(r->model.vit.image_size == 32 && r->model.vit.patch == 8 && r->model.vit.channels == 3 && r->model.vit.dim == 64 && r->model.vit.depth == 4 && r->model.vit.heads == 4 &&
           r->model.vit.mlp_dim == 128 && r->model.vit.num_classes == 10, "vit sizes from the preset, K = %d", r->model.vit.num_classes);
    EXPECT(r->data.format == DATA_FASHION_MNIST && !strcmp(r->data.path, FASHION_MNIST_DEFAULT_PATH) && r->data.split == SPLIT_TRAIN &&
           r->data.image_size == 32 && r->data.channels == 3 && r->data.n_classes == 0, "data defaults");
    EXPECT_NEAR("val_fraction", r->data.val_fraction, 0.2f, 0, 0);
    EXPECT(r->data.split_seed == 233 && r->data.seed == 233 && r->seed == 233 && r->init_seed == 233 && r->mcfg.seed == 233, "seeds 233");
    EXPECT(r->data.norm == NORM_HALF && r->data.shuffle == 1 && !r->data.hflip && !r->data.random_resized_crop, "norm/augment defaults");
    EXPECT(r->epochs == 1 && r->batch_size == 32 && r->opt.kind == OPT_SGD && r->opt.momentum == 0.0f, "training");
    EXPECT_NEAR("lr", r->sched.lr, 0.01f, 0, 0);
    EXPECT_NEAR("eta_min_ratio", r->eta_min_ratio, 0.1f, 0, 0);
    EXPECT_NEAR("eta_min", r->sched.eta_min, 0.001f, 1e-9, 1e-6);
    EXPECT(r->sched.cosine == 1 && r->grad_clip == 0.0f && r->max_steps == 0 && r->eval_every == 1, "schedule defaults");
    EXPECT(r->all_linear == 0 && r->num_finetune == -1 && r->budget_mb == 0.0f && r->from_run == -1 && !r->save_checkpoint && !r->new_head,
           "layers mlp, num_of_finetune all, no budget, no from_stage");
    EXPECT(r->pretrained[0] == 0 && r->pretrained_stage[0] == 0, "random init");
    EXPECT(strstr(r->resolved_yaml, "  lr: 0.01\n") && strstr(r->resolved_yaml, "  eta_min_ratio: 0.1\n") &&
           strstr(r->resolved_yaml, "  preset: vit_micro\n"), "resolved YAML has the final values:\n%s", r->resolved_yaml);
    check_names(&ex);
    cfg_free(&ex);
    EXPECT(ex.n == 0 && ex.runs == NULL, "cfg_free clears");
}

static void test_example_sweep(void) {
    Experiment ex;
    if (load_ok(&ex, "experiments/examples/sweep.yaml") < 0) return;
    // 2 lr x 2 num_of_finetune x (vanilla 1 + lora 2 + hosvd 2 + wasi 1) x 2 seeds
    EXPECT(ex.n == 48, "%d runs (expected 48)", ex.n);
    EXPECT(count_method(&ex, "vanilla") == 8 && count_method(&ex, "lora") == 16 && count_method(&ex, "hosvd") == 16 && count_method(&ex, "wasi") == 8,
           "per method: vanilla %d lora %d hosvd %d wasi %d", count_method(&ex, "vanilla"), count_method(&ex, "lora"), count_method(&ex, "hosvd"),
           count_method(&ex, "wasi"));
    static const char *const first12[] = {"lr0.01-ft2-vanilla-seed1", "lr0.01-ft2-vanilla-seed2", "lr0.01-ft2-lora-r4-seed1", "lr0.01-ft2-lora-r4-seed2",
                                           "lr0.01-ft2-lora-r8-seed1", "lr0.01-ft2-lora-r8-seed2", "lr0.01-ft2-hosvd-eps0.8-seed1", "lr0.01-ft2-hosvd-eps0.8-seed2",
                                           "lr0.01-ft2-hosvd-eps0.9-seed1", "lr0.01-ft2-hosvd-eps0.9-seed2", "lr0.01-ft2-wasi-seed1", "lr0.01-ft2-wasi-seed2"};
    for (int i = 0; i < 12; i++) EXPECT_NAME(&ex, i, first12[i]);
    EXPECT_NAME(&ex, 12, "lr0.01-ftall-vanilla-seed1");
    EXPECT_NAME(&ex, 24, "lr0.05-ft2-vanilla-seed1");
    EXPECT_NAME(&ex, 47, "lr0.05-ftall-wasi-seed2");
    if (ex.n == 48) {
        EXPECT(ex.runs[2].mcfg.lora_rank == 4 && ex.runs[2].mcfg.lora_alpha == 4.0f && ex.runs[4].mcfg.lora_rank == 8, "lora ranks and alpha = rank");
        EXPECT(ex.runs[6].mcfg.epsilon == 0.8f && ex.runs[8].mcfg.epsilon == 0.9f, "hosvd epsilons");
        RunSpec *w = &ex.runs[10];
        EXPECT(w->act_mode == ACT_RANKS_FIXED && w->mcfg.act_ranks[0] == 4 && w->mcfg.act_ranks[1] == 8 && w->mcfg.act_ranks[2] == 16 &&
               w->mcfg.epsilon == 0.8f && !w->mcfg.factored && !w->mcfg.r_update_previous, "wasi settings");
        EXPECT(ex.runs[0].num_finetune == 2 && ex.runs[12].num_finetune == -1, "num_of_finetune 2 / all");
        EXPECT(ex.runs[0].sched.lr == 0.01f && ex.runs[24].sched.lr == 0.05f && ex.runs[24].opt.momentum == 0.9f, "lr axis");
        EXPECT(ex.runs[0].seed == 1 && ex.runs[1].seed == 2 && ex.runs[1].data.seed == 2 && ex.runs[1].init_seed == 2, "seed innermost");
        EXPECT(ex.runs[0].limit_train == 512 && ex.runs[0].limit_val == 256, "limits");
        EXPECT(!strcmp(ex.experiment, "sweep_demo") && !strcmp(ex.output, "results/sweep_demo.h5"), "experiment name");
    }
    check_names(&ex);
    cfg_free(&ex);
}

static void test_example_extends(void) {
    Experiment ex;
    if (load_ok(&ex, "experiments/examples/extends_child.yaml") < 0) return;
    EXPECT(ex.n == 2, "%d runs", ex.n);
    EXPECT(!strcmp(ex.experiment, "extends_child"), "experiment from the including file: %s", ex.experiment);
    EXPECT_NAME(&ex, 0, "lora-seed233");
    EXPECT_NAME(&ex, 1, "wasi-seed233");
    if (ex.n == 2) {
        RunSpec *r = &ex.runs[1];
        EXPECT(r->sched.lr == 0.02f, "lr overridden by the child: %g", (double)r->sched.lr);
        EXPECT(r->epochs == 5 && r->batch_size == 64 && r->opt.weight_decay == 0.0001f, "training kept from the base");
        EXPECT(r->opt.momentum == 0.0f, "momentum 0.9 of the base replaced by the child's 0 (factored wasi): %g", (double)r->opt.momentum);
        EXPECT(r->data.n_classes == 5 && r->data.classes[4] == 4 && r->model.vit.num_classes == 5, "classes added by the child, K = %d", r->model.vit.num_classes);
        EXPECT(r->data.val_fraction == 0.1f && r->limit_train == 2000, "dataset keys of the base kept (deep merge)");
        EXPECT(!strcmp(ex.runs[0].method, "lora") && r->mcfg.factored == 1 && r->mcfg.epsilon == 0.9f, "methods list replaced");
        EXPECT(r->act_mode == ACT_RANKS_BUDGET && r->budget_mb == 0.0f && r->n_candidates == 6 && r->candidates[0] == 0.4f && r->candidates[5] == 0.9f,
               "wasi activations default: DP at the minimum budget over 0.4..0.9");
    }
    cfg_free(&ex);
}

static void test_example_stages(void) {
    Experiment ex;
    if (load_ok(&ex, "experiments/examples/stages.yaml") < 0) return;
    EXPECT(ex.n == 5, "%d runs", ex.n);
    static const char *const want[] = {"pretrain/vanilla-seed233", "finetune/vanilla-seed233", "finetune/lora-seed233",
                                       "finetune/wasi-eps0.7-seed233", "finetune/wasi-eps0.9-seed233"};
    for (int i = 0; i < 5; i++) EXPECT_NAME(&ex, i, want[i]);
    if (ex.n == 5) {
        RunSpec *p = &ex.runs[0], *f = &ex.runs[3];
        EXPECT(!strcmp(p->stage, "pretrain") && !strcmp(f->stage, "finetune"), "stage names");
        EXPECT(p->save_checkpoint == 1 && f->save_checkpoint == 0, "save_checkpoint only in pretrain");
        EXPECT(p->epochs == 3 && f->epochs == 1, "stage training merged over the top level: %d %d", p->epochs, f->epochs);
        EXPECT(p->data.n_classes == 5 && p->data.classes[0] == 0 && f->data.n_classes == 5 && f->data.classes[0] == 5, "classes per stage");
        EXPECT(p->limit_train == 1000 && f->limit_val == 500, "top-level dataset keys kept");
        EXPECT(!strcmp(f->pretrained_stage, "pretrain") && f->from_run == 0 && f->new_head == 1 && p->from_run == -1, "from_stage");
        for (int i = 1; i < 5; i++) EXPECT(ex.runs[i].from_run == 0, "run %d starts from run 0", i);
        EXPECT(strstr(f->resolved_yaml, "from_stage: pretrain") && strstr(f->resolved_yaml, "pretrain/vanilla-seed233"), "resolved YAML names the checkpoint run");
    }
    check_names(&ex);
    cfg_free(&ex);
}

// ---------------------------------------------------------------------------
// sweeps

#define MODEL "model:\n  preset: vit_micro\n"
#define DATA "dataset:\n  format: fashion_mnist\n"
#define TRAIN "training:\n  epochs: 1\n  batch_size: 8\n  lr: 0.01\n"
#define VAN "methods:\n  - name: vanilla\n"
#define FACTORED "methods:\n  - name: wasi\n    epsilon: 0.5\n    storage: factored\n"

static void test_method_axes_only_their_method(void) {
    Experiment ex;
    const char *p = write_yaml("axes.yaml", MODEL DATA TRAIN
                               "methods:\n  - name: vanilla\n  - name: hosvd\n    epsilon: [0.5, 0.7, 0.9]\n  - name: lora\n    rank: 4\n    alpha: [8, 16]\n");
    if (load_ok(&ex, p) < 0) return;
    EXPECT(ex.n == 6, "vanilla once + 3 hosvd + 2 lora = 6 runs, got %d", ex.n);
    static const char *const want[] = {"vanilla-seed233", "hosvd-eps0.5-seed233", "hosvd-eps0.7-seed233", "hosvd-eps0.9-seed233",
                                       "lora-alpha8-seed233", "lora-alpha16-seed233"};
    for (int i = 0; i < 6; i++) EXPECT_NAME(&ex, i, want[i]);
    if (ex.n == 6) EXPECT(ex.runs[5].mcfg.lora_alpha == 16.0f && ex.runs[5].mcfg.lora_rank == 4, "lora alpha 16");
    cfg_free(&ex);
}

static void test_budget_axis(void) {
    Experiment ex;
    const char *p = write_yaml("budget.yaml", MODEL DATA TRAIN "budget_mb: [1, 2]\n"
                               "methods:\n  - vanilla\n  - name: lora\n    rank: 4\n  - name: asi\n  - name: asi\n    budget_mb: 3\n"
                               "  - name: wasi\n    epsilon: 0.8\n    activation: {budget_mb: [4, 5], candidates: [0.5, 0.9]}\n");
    if (load_ok(&ex, p) < 0) return;
    // vanilla takes no budget; lora and asi take the top-level one; asi/wasi with their own ignore it
    static const char *const want[] = {"vanilla-seed233", "lora-budget1-seed233", "lora-budget2-seed233", "asi-budget1-seed233",
                                       "asi-budget2-seed233", "asi-budget3-seed233", "wasi-budget4-seed233", "wasi-budget5-seed233"};
    EXPECT(ex.n == 8, "%d runs (expected 8)", ex.n);
    for (int i = 0; i < 8; i++) EXPECT_NAME(&ex, i, want[i]);
    if (ex.n == 8) {
        EXPECT(ex.runs[0].budget_mb == 0.0f, "vanilla: no budget");
        EXPECT(ex.runs[2].budget_mb == 2.0f && ex.runs[4].budget_mb == 2.0f && ex.runs[5].budget_mb == 3.0f && ex.runs[7].budget_mb == 5.0f, "budgets");
        EXPECT(ex.runs[3].act_mode == ACT_RANKS_BUDGET && ex.runs[3].n_candidates == 6, "asi: DP with the default candidates");
        EXPECT(ex.runs[6].act_mode == ACT_RANKS_BUDGET && ex.runs[6].n_candidates == 2 && ex.runs[6].candidates[1] == 0.9f, "wasi candidates");
        EXPECT(strstr(ex.runs[1].resolved_yaml, "\nbudget_mb: 1\n") && strstr(ex.runs[5].resolved_yaml, "    budget_mb: 3\n") &&
               strstr(ex.runs[0].resolved_yaml, "\nbudget_mb: none\n"), "budget in the resolved YAML where it was given");
    }
    cfg_free(&ex);
}

static void test_order_and_list_axes(void) {
    Experiment ex;
    const char *p = write_yaml("order.yaml",
                               "model:\n  preset: [vit_micro, vit_tiny_32]\n"
                               "dataset:\n  format: [fashion_mnist, mnist]\n  path: /data/mnist\n"
                               TRAIN "layers: [mlp, all_linear]\nnum_of_finetune: [1, all]\nbudget_mb: 1\nseeds: [1, 2]\n"
                               "methods:\n  - name: vanilla\n  - name: lora\n    rank: [2, 4]\n");
    if (load_ok(&ex, p) < 0) return;
    EXPECT(ex.n == 96, "2 presets x 2 formats x 2 layers x 2 num_of_finetune x (1 + 2) x 2 seeds = 96, got %d", ex.n);
    EXPECT_NAME(&ex, 0, "vit_micro-fashion_mnist-mlp-ft1-vanilla-seed1");
    EXPECT_NAME(&ex, 1, "vit_micro-fashion_mnist-mlp-ft1-vanilla-seed2");
    EXPECT_NAME(&ex, 2, "vit_micro-fashion_mnist-mlp-ft1-lora-r2-seed1");
    EXPECT_NAME(&ex, 5, "vit_micro-fashion_mnist-mlp-ft1-lora-r4-seed2");
    EXPECT_NAME(&ex, 6, "vit_micro-fashion_mnist-mlp-ftall-vanilla-seed1");
    EXPECT_NAME(&ex, 12, "vit_micro-fashion_mnist-all_linear-ft1-vanilla-seed1");
    EXPECT_NAME(&ex, 24, "vit_micro-mnist-mlp-ft1-vanilla-seed1");
    EXPECT_NAME(&ex, 48, "vit_tiny_32-fashion_mnist-mlp-ft1-vanilla-seed1");
    EXPECT_NAME(&ex, 95, "vit_tiny_32-mnist-all_linear-ftall-lora-r4-seed2");
    if (ex.n == 96) {
        EXPECT(ex.runs[48].model.vit.image_size == 224 && ex.runs[48].data.image_size == 224 && ex.runs[48].model.vit.dim == 192, "dataset follows the model's size");
        EXPECT(ex.runs[24].data.format == DATA_MNIST && !strcmp(ex.runs[24].data.path, "/data/mnist"), "format axis");
        EXPECT(ex.runs[12].all_linear == 1 && ex.runs[0].all_linear == 0, "layers axis");
        EXPECT(ex.runs[2].budget_mb == 1.0f && ex.runs[0].budget_mb == 0.0f, "a single budget applies to lora, not vanilla");
        for (int i = 0; i < ex.n; i++) EXPECT(ex.runs[i].seed == (uint64_t)(1 + i % 2), "run %d seed %llu", i, (unsigned long long)ex.runs[i].seed);
    }
    check_names(&ex);
    cfg_free(&ex);

    // list-valued settings swept as lists of lists; a path axis named by its base name
    p = write_yaml("lists.yaml", MODEL
                   "dataset:\n  format: fashion_mnist\n  classes: [[0, 1], [2, 3, 4]]\n"
                   "training:\n  epochs: 1\n  batch_size: 8\n  lr: 0.01\n  optimizer: adamw\n  betas: [[0.9, 0.999], [0.8, 0.99]]\n"
                   "methods:\n  - name: asi\n    ranks: [[2, 2, 4], [4, 8, 16]]\n");
    if (load_ok(&ex, p) < 0) return;
    EXPECT(ex.n == 8, "2 x 2 x 2 = 8, got %d", ex.n);
    EXPECT_NAME(&ex, 0, "cls0_1-betas0.9_0.999-asi-k2x2x4-seed233");
    EXPECT_NAME(&ex, 7, "cls2_3_4-betas0.8_0.99-asi-k4x8x16-seed233");
    if (ex.n == 8) {
        EXPECT(ex.runs[7].model.vit.num_classes == 3 && ex.runs[0].model.vit.num_classes == 2, "K from the listed classes");
        EXPECT(ex.runs[7].opt.beta1 == 0.8f && ex.runs[7].opt.beta2 == 0.99f && ex.runs[7].mcfg.act_ranks[2] == 16, "betas and ranks axes");
    }
    cfg_free(&ex);

    p = write_yaml("paths.yaml", "model:\n  preset: vit_micro\n  pretrained: [w/a b.safetensors, w/c.safetensors]\n" DATA TRAIN VAN);
    if (load_ok(&ex, p) < 0) return;
    EXPECT_NAME(&ex, 0, "a_b-vanilla-seed233");
    EXPECT_NAME(&ex, 1, "c-vanilla-seed233");
    if (ex.n == 2) EXPECT(!strcmp(ex.runs[0].pretrained, "w/a b.safetensors") && ex.runs[0].new_head == 1, "pretrained path, new head by default");
    cfg_free(&ex);
}

// ---------------------------------------------------------------------------
// sections in detail

static void test_model_and_classes(void) {
    Experiment ex;
    const char *p = write_yaml("custom.yaml", "model:\n  image_size: 28\n  patch: 7\n  channels: 1\n  dim: 32\n  depth: 2\n  heads: 2\n  mlp_dim: 64\n"
                               DATA TRAIN VAN);
    if (load_ok(&ex, p) == 0) {
        RunSpec *r = &ex.runs[0];
        EXPECT(!strcmp(r->model_preset, "custom") && r->model.vit.image_size == 28 && r->model.vit.channels == 1 && r->model.vit.depth == 2 && r->model.vit.ln_eps == 1e-6f,
               "explicit model");
        EXPECT(r->data.image_size == 28 && r->data.channels == 1, "data size and channels follow the model");
        EXPECT(!strstr(r->resolved_yaml, "preset:"), "no preset in the YAML of a custom model");
        cfg_free(&ex);
    }
    p = write_yaml("override.yaml", "model:\n  preset: vit_micro\n  depth: 2\n  mlp_dim: 96\n" DATA TRAIN VAN);
    if (load_ok(&ex, p) == 0) {
        EXPECT(ex.runs[0].model.vit.depth == 2 && ex.runs[0].model.vit.mlp_dim == 96 && ex.runs[0].model.vit.dim == 64, "explicit keys override the preset");
        cfg_free(&ex);
    }
    struct { const char *fmt; const char *extra; int K; } tab[] = {
        {"mnist", "", 10}, {"cifar10", "", 10}, {"cifar100", "", 100}, {"cifar100", "  coarse_labels: true\n", 20},
        {"pets", "", 37}, {"flowers102", "", 102}, {"cub200", "", 200}, {"isic2018", "", 7}, {"cifar100", "  classes: [3, 1, 4]\n", 3}};
    for (size_t i = 0; i < sizeof tab / sizeof tab[0]; i++) {
        char text[512];
        snprintf(text, sizeof text, MODEL "dataset:\n  format: %s\n  path: /data/x\n%s" TRAIN VAN, tab[i].fmt, tab[i].extra);
        if (load_ok(&ex, write_yaml("classes.yaml", text)) < 0) continue;
        EXPECT(ex.runs[0].model.vit.num_classes == tab[i].K, "%s%s: K = %d, expected %d", tab[i].fmt, tab[i].extra, ex.runs[0].model.vit.num_classes, tab[i].K);
        cfg_free(&ex);
    }
}

static void test_dataset_and_training_options(void) {
    Experiment ex;
    const char *p = write_yaml("opts.yaml", MODEL
                               "dataset:\n  format: cifar10\n  path: /data/cifar\n  normalize: {mean: [0.4, 0.5, 0.6], std: [0.2]}\n"
                               "  resize: short_crop\n  augment: crop_flip\n  rrc_scale: [0.5, 1]\n  shuffle: false\n  skip_corrupt: true\n"
                               "  cache: off\n  val_fraction: 0.1\n  split_seed: 7\n"
                               "training:\n  epochs: 10\n  batch_size: 16\n  optimizer: adamw\n  lr: 0.001\n  eta_min: 0.00001\n"
                               "  warmup_epochs: 1.5\n  warmup_start: 0.1\n  grad_clip: 1.0\n  max_steps: 20\n  eval_every: 2\n" VAN);
    if (load_ok(&ex, p) == 0) {
        RunSpec *r = &ex.runs[0];
        DataConfig *d = &r->data;
        EXPECT(d->norm == NORM_EXPLICIT && d->mean[2] == 0.6f && d->std[0] == 0.2f && d->std[2] == 0.2f, "normalize map, std broadcast");
        EXPECT(d->resize == RESIZE_SHORT_CROP && d->resize_size == 32, "short_crop, resize_size defaults to the image size: %d", d->resize_size);
        EXPECT(d->hflip == 1 && d->random_resized_crop == 1 && d->rrc_scale[0] == 0.5f && d->rrc_ratio[1] == 4.0f / 3.0f, "crop_flip");
        EXPECT(d->shuffle == 0 && d->skip_corrupt == 1 && d->cache == CACHE_OFF && d->val_fraction == 0.1f && d->split_seed == 7, "flags");
        EXPECT(r->opt.kind == OPT_ADAMW && r->opt.beta1 == 0.9f && r->opt.beta2 == 0.999f && r->opt.eps == 1e-8f && r->opt.weight_decay == 0.01f,
               "AdamW defaults as torch");
        EXPECT(r->sched.eta_min == 0.00001f && r->warmup_epochs == 1.5f && r->sched.warmup_start == 0.1f && r->grad_clip == 1.0f &&
               r->max_steps == 20 && r->eval_every == 2, "training options");
        EXPECT_NEAR("eta_min_ratio from eta_min", r->eta_min_ratio, 0.01f, 1e-9, 1e-5);
        EXPECT(strstr(r->resolved_yaml, "  eta_min: 1e-05\n") && strstr(r->resolved_yaml, "  normalize: {mean: [0.4, 0.5, 0.6], std: [0.2, 0.2, 0.2]}\n"),
               "resolved YAML:\n%s", r->resolved_yaml);
        cfg_free(&ex);
    }
    p = write_yaml("opts2.yaml", MODEL DATA "training:\n  epochs: 2\n  batch_size: 4\n  lr: 0.1\n  weight_decay: 0.0001\n"
                   "  schedule: constant\n  grad_clip: none\n"
                   "methods:\n  - name: wasi\n    epsilon: 0.7\n    storage: factored\n    r_update: previous\n    activation: {epsilon: 0.85}\n"
                   "  - name: wasi\n    epsilon: 0.7\n    activation: {ranks: [2, 3, 4]}\n");
    if (load_ok(&ex, p) == 0) {
        EXPECT(ex.n == 2, "%d runs", ex.n);
        RunSpec *r = &ex.runs[0];
        EXPECT(r->sched.cosine == 0 && r->grad_clip == 0.0f, "constant schedule, no clip");
        EXPECT(r->opt.momentum == 0.0f && r->opt.weight_decay == 0.0001f, "factored wasi: plain SGD with weight decay loads");
        EXPECT(r->mcfg.factored == 1 && r->mcfg.r_update_previous == 1 && r->act_mode == ACT_RANKS_EPSILON && r->mcfg.act_epsilon == 0.85f, "wasi options");
        EXPECT(ex.n == 2 && ex.runs[1].act_mode == ACT_RANKS_FIXED && ex.runs[1].mcfg.act_ranks[1] == 3, "wasi fixed activation ranks");
        // two wasi entries: the explicitly given settings that differ name them
        EXPECT_NAME(&ex, 0, "wasi-factored-rupd_previous-aeps0.85-seed233");
        EXPECT_NAME(&ex, 1, "wasi-ak2x3x4-seed233");
        cfg_free(&ex);
    }
    // memory: the float16 saving of GELU and attention, swept
    p = write_yaml("opts4.yaml", MODEL DATA TRAIN "memory:\n  gelu_f16: true\n  softmax_f16: [false, true]\n" VAN);
    if (load_ok(&ex, p) == 0) {
        EXPECT(ex.n == 2, "%d runs", ex.n);
        for (int i = 0; i < ex.n && i < 2; i++) {
            const ViTConfig *v = &ex.runs[i].model.vit;
            EXPECT(v->gelu_f16 == 1 && v->softmax_f16 == i, "run %d: gelu_f16 %d softmax_f16 %d", i, v->gelu_f16, v->softmax_f16);
            EXPECT(strstr(ex.runs[i].resolved_yaml, "\nmemory:\n  gelu_f16: true") != NULL, "resolved YAML:\n%s", ex.runs[i].resolved_yaml);
            EXPECT((strstr(ex.runs[i].resolved_yaml, "softmax_f16: true") != NULL) == i, "run %d softmax_f16 in its YAML", i);
        }
        if (ex.n == 2) EXPECT(strcmp(ex.runs[0].name, ex.runs[1].name), "the axis names the runs: %s", ex.runs[0].name);
        cfg_free(&ex);
    }
    // memory.recompute: swept, named, written to the resolved YAML only when on
    p = write_yaml("opts5.yaml", MODEL DATA TRAIN "memory:\n  recompute: [false, true]\n" VAN);
    if (load_ok(&ex, p) == 0) {
        EXPECT(ex.n == 2, "%d runs", ex.n);
        for (int i = 0; i < ex.n && i < 2; i++) {
            EXPECT(ex.runs[i].model.vit.recompute == i, "run %d: recompute %d", i, ex.runs[i].model.vit.recompute);
            EXPECT((strstr(ex.runs[i].resolved_yaml, "recompute: true") != NULL) == i, "run %d recompute in its YAML:\n%s", i,
                   ex.runs[i].resolved_yaml);
        }
        if (ex.n == 2) EXPECT(strcmp(ex.runs[0].name, ex.runs[1].name), "the axis names the runs: %s", ex.runs[0].name);
        cfg_free(&ex);
    }
    // the Swin takes the same three (SwinConfig), and its resolved YAML keeps them
    p = write_yaml("opts6.yaml", "model: {preset: swin_micro}\ndataset: {format: cifar10, path: cifar, image_size: 32}\n" TRAIN
                   "memory:\n  gelu_f16: true\n  softmax_f16: true\n  recompute: true\n" VAN);
    if (load_ok(&ex, p) == 0) {
        const SwinConfig *sc = &ex.runs[0].model.swin;
        EXPECT(ex.n == 1 && sc->gelu_f16 && sc->softmax_f16 && sc->recompute && !ex.runs[0].model.vit.recompute,
               "swin memory flags %d %d %d", sc->gelu_f16, sc->softmax_f16, sc->recompute);
        EXPECT(strstr(ex.runs[0].resolved_yaml, "\nmemory:\n  gelu_f16: true\n  softmax_f16: true\n  recompute: true") != NULL,
               "resolved YAML:\n%s", ex.runs[0].resolved_yaml);
        cfg_free(&ex);
    }
    p = write_yaml("opts3.yaml", MODEL DATA "training:\n  epochs: 2\n  batch_size: 4\n  lr: 0.1\n  momentum: 0.9\n  nesterov: true\n" VAN);
    if (load_ok(&ex, p) == 0) {
        EXPECT(ex.n == 1 && ex.runs[0].opt.nesterov == 1 && ex.runs[0].opt.momentum == 0.9f, "nesterov");
        cfg_free(&ex);
    }
}

// ---------------------------------------------------------------------------
// extends and stages

static void test_extends_chain_and_errors(void) {
    Experiment ex;
    WbError err;
    write_yaml("c.yaml", "model:\n  preset: vit_micro\n  depth: 3\ndataset:\n  format: fashion_mnist\n  classes: [1, 2]\n  limit_val: 9\n");
    write_yaml("b.yaml", "extends: c.yaml\ntraining:\n  epochs: 2\n  batch_size: 4\n  lr: 0.1\n");
    char sub[700];
    snprintf(sub, sizeof sub, "mkdir -p '%s/sub'", tl_tmpdir());
    EXPECT(system(sub) == 0, "mkdir");
    const char *a = write_yaml("sub/a.yaml", "extends: ../b.yaml\nexperiment: chained\ndataset:\n  classes: [7, 3]\nmethods:\n  - vanilla\n");
    if (load_ok(&ex, a) == 0) {
        RunSpec *r = &ex.runs[0];
        EXPECT(!strcmp(ex.experiment, "chained") && r->model.vit.depth == 3 && r->epochs == 2 && r->data.n_classes == 2 && r->data.classes[0] == 7 &&
               r->limit_val == 9, "a -> b -> c merged (depth %d epochs %d classes %d)", r->model.vit.depth, r->epochs, r->data.n_classes);
        cfg_free(&ex);
    }
    // an error inside a base file names the base file
    write_yaml("badbase.yaml", "training:\n  epochs: x\n");
    const char *p = write_yaml("usesbad.yaml", "extends: badbase.yaml\n" MODEL DATA VAN);
    EXPECT(cfg_load(&ex, p, &err) == -1 && strstr(err.msg, "badbase.yaml:2:11:") && strstr(err.msg, "training.epochs"), "error in base: %s", err.msg);
    // cycles
    write_yaml("cyc1.yaml", "extends: cyc2.yaml\n" MODEL);
    p = write_yaml("cyc2.yaml", "extends: cyc1.yaml\n" DATA);
    EXPECT(cfg_load(&ex, p, &err) == -1 && strstr(err.msg, "cyc1.yaml:1:10:") && strstr(err.msg, "extends: cycle"), "cycle: %s", err.msg);
    p = write_yaml("self.yaml", "extends: self.yaml\n");
    EXPECT(cfg_load(&ex, p, &err) == -1 && strstr(err.msg, "self.yaml:1:10:") && strstr(err.msg, "cycle"), "self cycle: %s", err.msg);
    EXPECT(cfg_load(&ex, tmp_path("does_not_exist.yaml"), &err) == -1 && strstr(err.msg, "does_not_exist.yaml") && strstr(err.msg, "cannot open"),
           "missing file: %s", err.msg);
}

static void test_stages_from_stage(void) {
    Experiment ex;
    // one pretrain run per seed: each fine-tune run starts from the one with its seed
    const char *p = write_yaml("perseed.yaml", MODEL DATA TRAIN "seeds: [1, 2]\n"
                               "stages:\n  - name: pre\n    save_checkpoint: true\n    methods: [vanilla]\n"
                               "  - name: ft\n    model: {from_stage: pre}\n    methods: [vanilla, {name: lora, rank: 2}]\n");
    if (load_ok(&ex, p) == 0) {
        EXPECT(ex.n == 6, "%d runs", ex.n);
        static const char *const want[] = {"pre/vanilla-seed1", "pre/vanilla-seed2", "ft/vanilla-seed1", "ft/vanilla-seed2", "ft/lora-seed1", "ft/lora-seed2"};
        for (int i = 0; i < 6; i++) EXPECT_NAME(&ex, i, want[i]);
        if (ex.n == 6) EXPECT(ex.runs[2].from_run == 0 && ex.runs[3].from_run == 1 && ex.runs[4].from_run == 0 && ex.runs[5].from_run == 1,
                              "from_run by seed: %d %d %d %d", ex.runs[2].from_run, ex.runs[3].from_run, ex.runs[4].from_run, ex.runs[5].from_run);
        cfg_free(&ex);
    }
    // the memory section changes how training saves, not the weights: a lean stage starts from a plain one
    p = write_yaml("leanft.yaml", MODEL DATA TRAIN "stages:\n  - name: pre\n    save_checkpoint: true\n    methods: [vanilla]\n"
                   "  - name: ft\n    model: {from_stage: pre}\n    memory: {recompute: true, gelu_f16: true}\n    methods: [vanilla]\n");
    if (load_ok(&ex, p) == 0) {
        EXPECT(ex.n == 2 && ex.runs[1].from_run == 0 && ex.runs[1].model.vit.recompute && ex.runs[1].model.vit.gelu_f16 &&
                   !ex.runs[0].model.vit.recompute, "lean stage from a plain one: %d runs", ex.n);
        cfg_free(&ex);
    }
}

// ---------------------------------------------------------------------------
// errors: each returns -1 with file:line:column and the key in the message

typedef struct { const char *name, *yaml; const char *want[4]; } ErrCase;

static void err_case(const ErrCase *c) {
    Experiment ex;
    WbError err;
    memset(&err, 0, sizeof err);
    const char *p = write_yaml("err.yaml", c->yaml);
    int rc = cfg_load(&ex, p, &err);
    EXPECT(rc == -1, "%s: loaded (expected an error)", c->name);
    if (rc == 0) { cfg_free(&ex); return; }
    EXPECT(ex.n == 0 && ex.runs == NULL, "%s: nothing left behind", c->name);
    // starts with FILE:LINE:COL:
    size_t pl = strlen(p);
    int line = 0, col = 0, used = 0;
    int pos_ok = !strncmp(err.msg, p, pl) && sscanf(err.msg + pl, ":%d:%d:%n", &line, &col, &used) == 2 && used > 0 && line >= 1 && col >= 1;
    EXPECT(pos_ok, "%s: message does not start with %s:LINE:COL: '%s'", c->name, p, err.msg);
    if (getenv("WB_VERBOSE")) printf("  %-32s %s\n", c->name, err.msg);
    for (int k = 0; k < 4 && c->want[k]; k++)
        EXPECT(strstr(err.msg, c->want[k]) != NULL, "%s: '%s' not in the message '%s'", c->name, c->want[k], err.msg);
}

static void test_errors(void) {
    static const ErrCase cases[] = {
        {"unknown key", MODEL DATA "training:\n  epochs: 1\n  batch_size: 8\n  lr: 0.01\n  lrr: 2\n" VAN,
         {"err.yaml:9:3: unknown key 'lrr' in training; valid keys: epochs, batch_size, optimizer, lr"}},
        {"unknown top key", "seed: 3\n" MODEL DATA TRAIN VAN, {"err.yaml:1:1: unknown key 'seed' at the top level", "seeds"}},
        {"wrong type", MODEL DATA "training:\n  epochs: 1\n  batch_size: 8\n  lr: abc\n" VAN, {"err.yaml:8:7: training.lr: expected a number, got 'abc'"}},
        {"quoted number", MODEL DATA "training:\n  epochs: 1\n  batch_size: 8\n  lr: \"0.1\"\n" VAN, {"err.yaml:8:7:", "training.lr", "quoted string"}},
        {"int expected", MODEL DATA "training:\n  epochs: 1.5\n  batch_size: 8\n  lr: 0.1\n" VAN, {"err.yaml:6:11: training.epochs: expected an integer, got '1.5'"}},
        {"int overflow", MODEL DATA "training:\n  epochs: 99999999999999999999\n  batch_size: 8\n  lr: 0.1\n" VAN, {"err.yaml:6:11:", "training.epochs", "out of range"}},
        {"batch_size 0", MODEL DATA "training:\n  epochs: 1\n  batch_size: 0\n  lr: 0.1\n" VAN, {"err.yaml:7:15: training.batch_size: 0 is out of range"}},
        {"lr 0", MODEL DATA "training:\n  epochs: 1\n  batch_size: 1\n  lr: 0\n" VAN, {"err.yaml:8:7: training.lr: 0 is out of range (expected lr > 0)"}},
        {"val_fraction 1", MODEL DATA "  val_fraction: 1\n" TRAIN VAN, {"err.yaml:5:17: dataset.val_fraction: 1 is out of range (expected 0 < val_fraction < 1)"}},
        {"epsilon 1.5", MODEL DATA TRAIN "methods:\n  - name: hosvd\n    epsilon: 1.5\n", {"err.yaml:11:14: methods[0].epsilon: 1.5 is out of range (expected 0 < epsilon <= 1)"}},
        {"epsilon 0 as a float", MODEL DATA TRAIN "methods:\n  - name: wasi\n    epsilon: 0.1e-058\n", {"err.yaml:11:14: methods[0].epsilon: 0.1e-058 is out of range (expected 0 < epsilon <= 1)"}},
        {"epsilon 0 in a sweep", MODEL DATA TRAIN "methods:\n  - name: wasi\n    epsilon: [0.5, 0]\n", {"err.yaml:11:20: methods[0].epsilon: 0 is out of range"}},
        {"ranks 0", MODEL DATA TRAIN "methods:\n  - name: asi\n    ranks: [0, 4, 4]\n", {"err.yaml:11:13: methods[0].ranks: 0 is out of range"}},
        {"ranks > batch", MODEL DATA TRAIN "methods:\n  - name: asi\n    ranks: [16, 4, 4]\n", {"err.yaml:11:13:", "methods[0].ranks", "batch_size"}},
        {"4 ranks", MODEL DATA TRAIN "methods:\n  - name: asi\n    ranks: [2, 2, 2, 2]\n", {"err.yaml:11:12:", "methods[0].ranks", "3 modes"}},
        {"lora rank 0", MODEL DATA TRAIN "methods:\n  - name: lora\n    rank: 0\n", {"err.yaml:11:11: methods[0].rank: 0 is out of range"}},
        {"missing methods", MODEL DATA TRAIN, {"err.yaml:1:1: missing required key 'methods'"}},
        {"empty methods", MODEL DATA TRAIN "methods: []\n", {"err.yaml:9:10:", "methods", "empty list"}},
        {"methods not a list", MODEL DATA TRAIN "methods: vanilla\n", {"err.yaml:9:10:", "methods: expected a non-empty list"}},
        {"method entry a list", MODEL DATA TRAIN "methods:\n  - [vanilla]\n", {"err.yaml:10:5:", "methods[0]: expected a mapping"}},
        {"method without name", MODEL DATA TRAIN "methods:\n  - rank: 4\n", {"err.yaml:10:5:", "methods[0]: missing key 'name'"}},
        {"missing format", MODEL "dataset:\n  path: /x\n" TRAIN VAN, {"err.yaml:4:3: dataset: missing required key 'format'"}},
        {"missing path", MODEL "dataset:\n  format: cifar10\n" TRAIN VAN, {"err.yaml:4:3:", "missing key 'path'", "cifar10"}},
        {"missing model sizes", "model:\n  dim: 64\n  depth: 2\n" DATA TRAIN VAN,
         {"err.yaml:2:3: model: missing key(s) 'image_size', 'patch', 'channels', 'heads', 'mlp_dim'", "preset"}},
        {"missing model", DATA TRAIN VAN, {"err.yaml:1:1: missing required section 'model'"}},
        {"missing lr", MODEL DATA "training:\n  epochs: 1\n  batch_size: 8\n" VAN, {"err.yaml:6:3: training: missing required key(s) 'lr'"}},
        {"missing epochs and batch", MODEL DATA "training:\n  lr: 0.1\n" VAN, {"err.yaml:6:3:", "'epochs', 'batch_size'"}},
        {"missing training", MODEL DATA VAN, {"err.yaml:1:1: missing required section 'training'"}},
        {"section not a map", MODEL DATA "training: 3\n" VAN, {"err.yaml:5:11: training: expected a mapping"}},
        {"gelu_f16 not a bool", MODEL DATA TRAIN "memory:\n  gelu_f16: 2\n" VAN, {"err.yaml:10:13:", "gelu_f16", "true or false"}},
        {"softmax_f16 on llama", "model: {preset: llama_micro}\ndataset: {format: boolq, path: /data/boolq, max_length: 64}\n" TRAIN
         "memory:\n  softmax_f16: true\n" VAN, {"err.yaml:", "memory.softmax_f16: only the ViT and Swin models"}},
        {"recompute on llama", "model: {preset: llama_micro}\ndataset: {format: boolq, path: /data/boolq, max_length: 64}\n" TRAIN
         "memory:\n  recompute: true\n" VAN, {"err.yaml:", "memory.recompute: only the ViT and Swin models"}},
        {"recompute not a bool", MODEL DATA TRAIN "memory:\n  recompute: maybe\n" VAN, {"err.yaml:10:14:", "recompute", "true or false"}},
        {"hosvd without epsilon", MODEL DATA TRAIN "methods:\n  - name: hosvd\n", {"err.yaml:10:5:", "methods[0]", "missing required key 'epsilon'"}},
        {"lora without rank", MODEL DATA TRAIN "methods:\n  - name: lora\n", {"err.yaml:10:5:", "missing required key 'rank'"}},
        {"unknown optimizer", MODEL DATA TRAIN "  optimizer: adam\n" VAN, {"err.yaml:9:14: training.optimizer: unknown value 'adam'; valid: sgd, adamw"}},
        {"unknown preset", "model:\n  preset: vit_huge\n" DATA TRAIN VAN, {"err.yaml:2:11: model.preset: unknown value 'vit_huge'; valid: vit_b_32"}},
        {"unknown format", MODEL "dataset:\n  format: imagenet\n" TRAIN VAN,
         {"err.yaml:4:11: dataset.format: unknown value 'imagenet'; valid: fashion_mnist, mnist, cifar10, cifar100, pets"}},
        {"unknown augment", MODEL DATA "  augment: mixup\n" TRAIN VAN, {"err.yaml:5:12: dataset.augment: unknown value 'mixup'; valid: none, flip, crop_flip"}},
        {"unknown layers", MODEL DATA TRAIN "layers: mlpp\n" VAN, {"err.yaml:9:9: layers: unknown value 'mlpp'; valid: mlp, all_linear"}},
        {"unknown method", MODEL DATA TRAIN "methods:\n  - name: wasi2\n", {"err.yaml:10:11: methods[0].name: unknown value 'wasi2'; valid: vanilla, lora, svdllm_lora, hosvd, asi, wsi, wasi"}},
        {"method name list", MODEL DATA TRAIN "methods:\n  - name: [lora, wasi]\n", {"err.yaml:10:11:", "methods[0].name", "own entry"}},
        {"factored with momentum", MODEL DATA TRAIN "  momentum: 0.9\n" FACTORED,
         {"err.yaml:13:5: methods[0] (wasi).storage: factored wasi trains with plain SGD only", "training.momentum is 0.9", "storage: dense"}},
        {"factored with adamw", MODEL DATA TRAIN "  optimizer: adamw\n" FACTORED,
         {"err.yaml:13:5: methods[0] (wasi).storage: factored wasi", "training.optimizer is adamw"}},
        {"factored with nesterov", MODEL DATA TRAIN "  momentum: 0.9\n  nesterov: true\n" FACTORED,
         {"err.yaml:14:5: methods[0] (wasi).storage: factored wasi", "training.nesterov is true"}},
        {"factored, momentum sweep", MODEL DATA TRAIN "  momentum: [0, 0.9]\n" FACTORED,
         {"err.yaml:13:5: methods[0] (wasi).storage: factored wasi", "training.momentum is 0.9"}},
        {"factored second entry", MODEL DATA TRAIN "  optimizer: adamw\nmethods:\n  - name: wasi\n    epsilon: 0.5\n  - name: wasi\n    epsilon: 0.6\n    storage: factored\n",
         {"err.yaml:15:5: methods[1] (wasi).storage: factored wasi", "training.optimizer is adamw"}},
        {"factored with svd update", MODEL DATA TRAIN "methods:\n  - name: wasi\n    epsilon: 0.5\n    storage: factored\n    weight_update: svd\n",
         {"err.yaml:13:5: methods[0] (wasi).weight_update: weight_update svd", "storage: dense"}},
        {"wsi has no factored storage", MODEL DATA TRAIN "methods:\n  - name: wsi\n    epsilon: 0.5\n    storage: factored\n",
         {"err.yaml:12:5:", "'storage' in methods[0] (wsi) belongs to wasi"}},
        {"unknown weight_update", MODEL DATA TRAIN "methods:\n  - name: wsi\n    epsilon: 0.5\n    weight_update: qr\n",
         {"err.yaml:12:20: methods[0].weight_update: unknown value 'qr'; valid: iteration, svd"}},
        {"unknown storage", MODEL DATA TRAIN "methods:\n  - name: wasi\n    epsilon: 0.5\n    storage: sparse\n",
         {"err.yaml:12:14: methods[0].storage: unknown value 'sparse'; valid: dense, factored"}},
        {"duplicate key", MODEL DATA "training:\n  epochs: 1\n  batch_size: 8\n  lr: 0.01\n  lr: 0.02\n" VAN,
         {"err.yaml:9:3: duplicate key 'lr' in training (first at line 8, column 3)"}},
        {"duplicate top key", MODEL MODEL DATA TRAIN VAN, {"err.yaml:3:1: duplicate key 'model' in the top level"}},
        {"key of another method", MODEL DATA TRAIN "methods:\n  - name: lora\n    rank: 4\n    epsilon: 0.5\n",
         {"err.yaml:12:5: key 'epsilon' in methods[0] (lora) belongs to svdllm_lora, hosvd, wsi, wasi, not lora; valid keys for lora: name, rank, alpha"}},
        {"asi key in wasi", MODEL DATA TRAIN "methods:\n  - name: wasi\n    epsilon: 0.8\n    ranks: [1, 1, 1]\n",
         {"err.yaml:12:5:", "'ranks' in methods[0] (wasi) belongs to asi", "activation"}},
        {"key in vanilla", MODEL DATA TRAIN "methods:\n  - name: vanilla\n    rank: 4\n", {"err.yaml:11:5:", "'rank' in methods[0] (vanilla) belongs to lora"}},
        {"unknown method key", MODEL DATA TRAIN "methods:\n  - name: lora\n    rank: 4\n    foo: 1\n",
         {"err.yaml:12:5: unknown key 'foo' in methods[0] (lora); valid keys: name, rank, alpha"}},
        {"activation conflict", MODEL DATA TRAIN "methods:\n  - name: wasi\n    epsilon: 0.8\n    activation:\n      ranks: [1, 1, 1]\n      epsilon: 0.5\n",
         {"err.yaml:14:7:", "methods[0].activation", "'epsilon' conflicts"}},
        {"activation not a map", MODEL DATA TRAIN "methods:\n  - name: wasi\n    epsilon: 0.8\n    activation: 0.5\n", {"err.yaml:12:17:", "activation: expected a mapping"}},
        {"activation unknown key", MODEL DATA TRAIN "methods:\n  - name: wasi\n    epsilon: 0.8\n    activation: {rank: 3}\n",
         {"err.yaml:12:18: unknown key 'rank' in methods[0].activation; valid keys: ranks, epsilon, budget_mb, candidates"}},
        {"candidates not increasing", MODEL DATA TRAIN "methods:\n  - name: asi\n    candidates: [0.5, 0.4]\n", {"err.yaml:11:23:", "methods[0].candidates", "increasing"}},
        {"num_of_finetune 9", MODEL DATA TRAIN "num_of_finetune: 9\n" VAN, {"err.yaml:9:18: num_of_finetune: 9 is out of range (expected an integer from 0 to 8)"}},
        {"num_of_finetune word", MODEL DATA TRAIN "num_of_finetune: most\n" VAN, {"err.yaml:9:18: num_of_finetune: expected all or an integer, got 'most'"}},
        {"nesterov without momentum", MODEL DATA TRAIN "  nesterov: true\n" VAN, {"err.yaml:9:3: training.nesterov: needs momentum > 0"}},
        {"sgd key with adamw", MODEL DATA TRAIN "  optimizer: adamw\n  momentum: 0.9\n" VAN, {"err.yaml:10:3: training.momentum: an sgd setting, but optimizer is adamw"}},
        {"adamw key with sgd", MODEL DATA TRAIN "  betas: [0.9, 0.99]\n" VAN, {"err.yaml:9:3: training.betas: an adamw setting"}},
        {"eta both", MODEL DATA TRAIN "  eta_min: 0.001\n  eta_min_ratio: 0.1\n" VAN, {"err.yaml:10:3:", "give eta_min or eta_min_ratio, not both"}},
        {"eta with constant", MODEL DATA TRAIN "  schedule: constant\n  eta_min_ratio: 0.1\n" VAN, {"err.yaml:10:3:", "training.eta_min_ratio", "cosine"}},
        {"warmup > epochs", MODEL DATA TRAIN "  warmup_epochs: 2\n" VAN, {"err.yaml:9:3:", "training.warmup_epochs", "more than training.epochs"}},
        {"grad_clip negative", MODEL DATA TRAIN "  grad_clip: -1\n" VAN, {"err.yaml:9:14: training.grad_clip: -1 is out of range"}},
        {"bool", MODEL DATA "  shuffle: yes\n" TRAIN VAN, {"err.yaml:5:12: dataset.shuffle: expected true or false, got 'yes'"}},
        {"budget vanilla only", MODEL DATA TRAIN "budget_mb: [1, abc]\n" VAN, {"err.yaml:9:16: budget_mb: expected a number, got 'abc'"}},
        {"budget zero", MODEL DATA TRAIN "budget_mb: 0\n" VAN, {"err.yaml:9:12: budget_mb: 0 is out of range (expected budget_mb > 0)"}},
        {"seeds duplicate", MODEL DATA TRAIN "seeds: [1, 1]\n" VAN, {"err.yaml:9:12: seeds: duplicate value '1'"}},
        {"seeds negative", MODEL DATA TRAIN "seeds: -1\n" VAN, {"err.yaml:9:8: seeds: expected a non-negative integer, got '-1'"}},
        {"seeds too big", MODEL DATA TRAIN "seeds: 99999999999999999999999\n" VAN, {"err.yaml:9:8:", "seeds", "64 bits"}},
        {"empty sweep", MODEL DATA TRAIN "methods:\n  - name: hosvd\n    epsilon: []\n", {"err.yaml:11:14: methods[0].epsilon: empty list"}},
        {"mapping in a sweep", MODEL DATA "training:\n  epochs: 1\n  batch_size: 8\n  lr: [0.1, {a: 1}]\n" VAN,
         {"err.yaml:8:13: training.lr: expected a value in the sweep list, got a mapping"}},
        {"std 0", MODEL DATA "  normalize: {mean: [0.5], std: [0]}\n" TRAIN VAN, {"err.yaml:5:34: dataset.normalize.std: 0 is out of range (expected std > 0)"}},
        {"normalize unknown", MODEL DATA "  normalize: imagenett\n" TRAIN VAN, {"err.yaml:5:14: dataset.normalize: unknown value 'imagenett'"}},
        {"normalize missing std", MODEL DATA "  normalize: {mean: [0.5]}\n" TRAIN VAN, {"err.yaml:5:14:", "missing key 'std'"}},
        {"imagenet with 1 channel", "model:\n  preset: vit_micro\n  channels: 1\n" DATA "  normalize: imagenet\n" TRAIN VAN, {"err.yaml:6:3:", "dataset.normalize", "3 channels"}},
        {"classes out of range", MODEL DATA "  classes: [0, 10]\n" TRAIN VAN, {"err.yaml:5:16: dataset.classes: 10 is out of range (expected an integer from 0 to 9)"}},
        {"classes twice", MODEL DATA "  classes: [3, 3]\n" TRAIN VAN, {"err.yaml:5:16:", "class 3 listed twice"}},
        {"classes empty", MODEL DATA "  classes: []\n" TRAIN VAN, {"err.yaml:5:12:", "dataset.classes", "0 values given"}},
        {"coarse on cifar10", MODEL "dataset:\n  format: cifar10\n  path: /d\n  coarse_labels: true\n" TRAIN VAN, {"err.yaml:6:3:", "coarse_labels", "cifar100"}},
        {"image_size mismatch", MODEL DATA "  image_size: 64\n" TRAIN VAN, {"err.yaml:5:3:", "dataset.image_size: 64 differs from model.image_size 32"}},
        {"resize_size without short_crop", MODEL DATA "  resize_size: 40\n" TRAIN VAN, {"err.yaml:5:3:", "dataset.resize_size", "short_crop"}},
        {"rrc without augment", MODEL DATA "  rrc_scale: [0.5, 1]\n" TRAIN VAN, {"err.yaml:5:14:", "dataset.rrc_scale", "augment"}},
        {"split is not a key", MODEL DATA "  split: train\n" TRAIN VAN, {"err.yaml:5:3: unknown key 'split' in dataset", "the runner opens train and val itself"}},
        {"patch does not divide", "model:\n  preset: vit_micro\n  patch: 7\n" DATA TRAIN VAN, {"err.yaml:3:3: model.patch: 7 does not divide model.image_size 32"}},
        {"channels 2", "model:\n  preset: vit_micro\n  channels: 2\n" DATA TRAIN VAN, {"err.yaml:3:3:", "model.channels: 2 is out of range"}},
        {"num_classes key", "model:\n  preset: vit_micro\n  num_classes: 5\n" DATA TRAIN VAN, {"err.yaml:3:3: unknown key 'num_classes' in model", "comes from the dataset"}},
        {"experiment list", "experiment: [a, b]\n" MODEL DATA TRAIN VAN, {"err.yaml:1:13: experiment: expected a name, got a list (this key cannot be swept)"}},
        {"experiment unsafe", "experiment: ../x\n" MODEL DATA TRAIN VAN, {"err.yaml:1:13:", "experiment", "file-safe"}},
        {"save_checkpoint list", MODEL DATA TRAIN "save_checkpoint: [true, false]\n" VAN, {"err.yaml:9:18:", "save_checkpoint", "cannot be swept"}},
        {"identical runs", MODEL DATA TRAIN "methods:\n  - name: vanilla\n  - name: vanilla\n", {"err.yaml:11:5:", "identical settings"}},
        {"extends missing", "extends: nothere.yaml\n" MODEL DATA TRAIN VAN, {"err.yaml:1:10: extends: cannot open 'nothere.yaml'"}},
        {"extends not a path", "extends: [a, b]\n" MODEL DATA TRAIN VAN, {"err.yaml:1:10: extends: expected the path"}},
        // stages
        {"duplicate stage", MODEL DATA TRAIN VAN "stages:\n  - name: a\n  - name: a\n", {"err.yaml:13:11: stages[1].name: duplicate stage name 'a' (also stages[0], line 12)"}},
        {"stage without name", MODEL DATA TRAIN VAN "stages:\n  - training: {lr: 0.1}\n", {"err.yaml:12:5: stages[0]: missing required key 'name'"}},
        {"stage unknown key", MODEL DATA TRAIN VAN "stages:\n  - name: a\n    optimizer: sgd\n", {"err.yaml:13:5: unknown key 'optimizer' in stages[0]"}},
        {"stage key error", MODEL DATA TRAIN VAN "stages:\n  - name: a\n    training: {lr: -1}\n", {"err.yaml:13:20: training.lr: -1 is out of range", "[stage 'a']"}},
        {"from_stage later", MODEL DATA TRAIN VAN "stages:\n  - name: a\n    model: {from_stage: b}\n  - name: b\n    save_checkpoint: true\n",
         {"err.yaml:13:25: model.from_stage: 'b' is not an earlier stage"}},
        {"from_stage unknown", MODEL DATA TRAIN VAN "stages:\n  - name: a\n    save_checkpoint: true\n  - name: b\n    model: {from_stage: zz}\n",
         {"err.yaml:15:25: model.from_stage: 'zz' is not an earlier stage (earlier stages: a)"}},
        {"from_stage without checkpoint", MODEL DATA TRAIN VAN "stages:\n  - name: a\n  - name: b\n    model: {from_stage: a}\n",
         {"err.yaml:14:25:", "stage 'a' does not save a checkpoint"}},
        {"from_stage ambiguous", MODEL DATA TRAIN VAN "stages:\n  - name: a\n    save_checkpoint: true\n    training: {lr: [0.1, 0.2]}\n  - name: b\n    model: {from_stage: a}\n",
         {"err.yaml:16:25:", "stage 'a' has 2 runs"}},
        {"from_stage and pretrained", "model:\n  preset: vit_micro\n  pretrained: w.safetensors\n" DATA TRAIN VAN
         "stages:\n  - name: a\n    save_checkpoint: true\n  - name: b\n    model: {from_stage: a}\n",
         {"err.yaml:16:25:", "cannot be combined with model.pretrained"}},
        {"from_stage other model", MODEL DATA TRAIN VAN "stages:\n  - name: a\n    save_checkpoint: true\n  - name: b\n    model: {from_stage: a, depth: 2}\n",
         {"err.yaml:15:25:", "different model"}},
        {"from_stage head", MODEL DATA TRAIN VAN "stages:\n  - name: a\n    save_checkpoint: true\n  - name: b\n    model: {from_stage: a, new_head: false}\n"
         "    dataset: {classes: [1, 2]}\n", {"err.yaml:15:25:", "new_head"}},
        {"stages not a list", MODEL DATA TRAIN VAN "stages: a\n", {"err.yaml:11:9: stages: expected a non-empty list"}},
        {"top methods keys checked", MODEL DATA TRAIN "methods:\n  - name: lora\n    rnak: 2\nstages:\n  - name: a\n    methods: [vanilla]\n",
         {"err.yaml:11:5: unknown key 'rnak' in methods[0] (lora)"}},
        // malformed YAML and odd files
        {"unclosed flow", MODEL DATA "training: [1, 2\n" VAN, {"err.yaml:", "YAML syntax error"}},
        {"bad indentation", "model:\n  preset: vit_micro\n   dim: 3\n" DATA TRAIN VAN, {"err.yaml:3:", "YAML syntax error", "mapping values are not allowed"}},
        {"tab indentation", "model:\n\tpreset: vit_micro\n", {"err.yaml:2:", "YAML syntax error"}},
        {"empty file", "", {"err.yaml:1:1: the file is empty"}},
        {"only a comment", "# nothing\n", {"err.yaml:1:1: the file is empty"}},
        {"root is a list", "- a\n- b\n", {"err.yaml:1:1: expected a mapping of sections"}},
        {"root is a scalar", "hello\n", {"err.yaml:1:1: expected a mapping of sections"}},
        {"two documents", MODEL DATA TRAIN VAN "---\nfoo: 1\n", {"err.yaml:12:1: a second YAML document"}},
        {"complex key", "? [a]\n: 1\n", {"err.yaml:1:3:", "a key must be a plain word"}},
        {"NUL escape", "experiment: \"a\\0b\"\n" MODEL DATA TRAIN VAN, {"err.yaml:1:13:", "NUL"}},
        {"invalid UTF-8", "model:\n  preset: vit_\xff\n", {"err.yaml:2:", "YAML cannot read the text"}},
        {"undefined alias", "model: *nope\n", {"err.yaml:1:8:", "YAML", "undefined alias"}},
        {"alias bomb", "a: &a [x, x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\n"
                       "d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\ne: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\nf: [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]\n",
         {"err.yaml:", "more than 200000 YAML nodes"}},
        {"too many runs", MODEL DATA "training:\n  epochs: 1\n  batch_size: 8\n  lr: [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1]\n"
                          "methods:\n  - name: hosvd\n    epsilon: [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1]\n"
                          "seeds: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30,"
                          " 31, 32, 33, 34, 35, 36, 37, 38, 39, 40, 41, 42, 43, 44, 45, 46, 47, 48, 49, 50, 51, 52, 53, 54, 55, 56, 57, 58, 59, 60,"
                          " 61, 62, 63, 64, 65, 66, 67, 68, 69, 70, 71, 72, 73, 74, 75, 76, 77, 78, 79, 80, 81, 82, 83, 84, 85, 86, 87, 88, 89, 90,"
                          " 91, 92, 93, 94, 95, 96, 97, 98, 99, 100, 101]\n",
         {"err.yaml:1:1:", "more than 10000 runs"}},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) err_case(&cases[i]);
    // factored wasi with a momentum that comes from an extends base: reported at the child's storage key
    write_yaml("base_mom.yaml", MODEL DATA TRAIN "  momentum: 0.5\n" VAN);
    ErrCase ec = {"factored, momentum from the base", "extends: base_mom.yaml\n" FACTORED,
                  {"err.yaml:5:5: methods[0] (wasi).storage: factored wasi", "training.momentum is 0.5"}};
    err_case(&ec);
    // 100 nested lists (built here: a literal is easy to unbalance)
    char deep[300];
    size_t o = (size_t)snprintf(deep, sizeof deep, "model: ");
    for (int i = 0; i < 100; i++) deep[o++] = '[';
    for (int i = 0; i < 100; i++) deep[o++] = ']';
    deep[o++] = '\n';
    deep[o] = 0;
    ErrCase dc = {"deep nesting", deep, {"err.yaml:1:", "nested deeper than 64"}};
    err_case(&dc);
    // a stage's own keys are not reported as inside the previous stage
    Experiment ex;
    WbError err;
    cfg_load(&ex, write_yaml("err.yaml", MODEL DATA TRAIN VAN "stages:\n  - name: a\n  - name: a\n"), &err);
    EXPECT(!strstr(err.msg, "[stage"), "no stage suffix: %s", err.msg);
    printf("  %zu error cases\n", sizeof cases / sizeof cases[0] + 1);
}

// ---------------------------------------------------------------------------
// resolved YAML loads back to the same run

static void roundtrip_file(const char *path) {
    Experiment ex, back;
    WbError err;
    if (load_ok(&ex, path) < 0) return;
    int checked = 0;
    for (int i = 0; i < ex.n; i++) {
        const RunSpec *r = &ex.runs[i];
        if (r->pretrained_stage[0]) continue;   // from_stage needs its stage: not standalone
        const char *p = write_yaml("roundtrip.yaml", r->resolved_yaml);
        if (cfg_load(&back, p, &err) < 0) { EXPECT(0, "%s run %d: resolved YAML does not load: %s\n%s", path, i, err.msg, r->resolved_yaml); continue; }
        EXPECT(back.n == 1, "%s run %d: %d runs from its resolved YAML", path, i, back.n);
        const RunSpec *b = &back.runs[0];
        const char *b1 = strstr(r->resolved_yaml, "\nexperiment: "), *b2 = strstr(b->resolved_yaml, "\nexperiment: ");
        EXPECT(b1 && b2 && !strcmp(b1, b2), "%s run %d: resolved YAML is not a fixed point:\n%s\n--- reloaded:\n%s", path, i, r->resolved_yaml, b->resolved_yaml);
        EXPECT(!memcmp(&r->model, &b->model, sizeof r->model) && !memcmp(&r->mcfg, &b->mcfg, sizeof r->mcfg) && !memcmp(&r->opt, &b->opt, sizeof r->opt) &&
               !memcmp(&r->data, &b->data, sizeof r->data) && r->sched.lr == b->sched.lr && r->sched.eta_min == b->sched.eta_min &&
               r->seed == b->seed && r->budget_mb == b->budget_mb && r->act_mode == b->act_mode && r->n_candidates == b->n_candidates &&
               r->num_finetune == b->num_finetune && r->all_linear == b->all_linear && r->epochs == b->epochs,
               "%s run %d: fields differ after the round trip", path, i);
        cfg_free(&back);
        checked++;
    }
    EXPECT(checked > 0, "%s: no run checked", path);
    cfg_free(&ex);
}

static void test_resolved_yaml_roundtrip(void) {
    roundtrip_file("experiments/examples/micro_vanilla.yaml");
    roundtrip_file("experiments/examples/sweep.yaml");
    roundtrip_file("experiments/examples/extends_child.yaml");
    roundtrip_file("experiments/examples/stages.yaml");
    roundtrip_file(tmp_path("budget.yaml"));
    roundtrip_file(tmp_path("opts.yaml"));
    roundtrip_file(tmp_path("opts2.yaml"));
    roundtrip_file(tmp_path("opts4.yaml"));
    roundtrip_file(tmp_path("lists.yaml"));
    roundtrip_file(tmp_path("custom.yaml"));
    // Swin activations have 4 modes: all 4 fixed ranks must be written back.
    write_yaml("swin_ranks.yaml", "model: {preset: swin_micro}\n"
               "dataset: {format: cifar10, path: cifar, image_size: 32}\n" TRAIN
               "methods:\n  - name: asi\n    ranks: [2, 3, 3, 8]\n"
               "  - name: wasi\n    epsilon: 0.8\n    activation: {ranks: [2, 2, 3, 4]}\n");
    roundtrip_file(tmp_path("swin_ranks.yaml"));
}

// ---------------------------------------------------------------------------
// never crash: truncations and byte mutations of valid files

static void fuzz_one(const char *text, size_t len, int *ok, int *bad) {
    Experiment ex;
    WbError err;
    const char *p = write_yaml_n("fuzz.yaml", text, len);
    memset(&err, 0, sizeof err);
    int rc = cfg_load(&ex, p, &err);
    if (rc == 0) {
        (*ok)++;
        EXPECT(ex.n >= 1, "a loaded file has runs");
        cfg_free(&ex);
    } else {
        (*bad)++;
        if (rc != -1 || !strstr(err.msg, "fuzz.yaml")) EXPECT(0, "rc %d, message '%s' for:\n%.*s", rc, err.msg, (int)len, text);
    }
}

static void test_fuzz_never_crashes(void) {
    static const char *const files[] = {"experiments/examples/stages.yaml", "experiments/examples/sweep.yaml", "experiments/examples/extends_child.yaml"};
    // extends_child extends base_micro.yaml relative to itself: give the copy a base
    size_t bl;
    char *base = read_text("experiments/examples/base_micro.yaml", &bl);
    write_yaml_n("base_micro.yaml", base, bl);
    mem_free(base);
    MemStats m0 = mem_stats();
    int ok = 0, bad = 0;
    int step = quick() ? 3 : 1;
    for (size_t f = 0; f < sizeof files / sizeof files[0]; f++) {
        size_t len;
        char *text = read_text(files[f], &len);
        for (size_t cut = 0; cut <= len; cut += (size_t)step) fuzz_one(text, cut, &ok, &bad);
        // mutations: YAML punctuation dropped into random places
        static const char alphabet[] = "[]{}:,-#&*!|>'\"\n\t ?%@`0a.";
        Rng rng;
        rng_seed(&rng, 1234 + f);
        int nmut = quick() ? 150 : 600;
        char *mut = mem_alloc(len + 1, MEM_WORKSPACE);
        for (int t = 0; t < nmut; t++) {
            memcpy(mut, text, len);
            int edits = 1 + (int)rng_below(&rng, 3);
            for (int e = 0; e < edits; e++) mut[rng_below(&rng, (uint32_t)len)] = alphabet[rng_below(&rng, sizeof alphabet - 1)];
            fuzz_one(mut, len, &ok, &bad);
        }
        mem_free(mut);
        mem_free(text);
    }
    MemStats m1 = mem_stats();
    EXPECT(m1.current[MEM_WORKSPACE] == m0.current[MEM_WORKSPACE], "tracked workspace leaked: %zu -> %zu bytes", m0.current[MEM_WORKSPACE],
           m1.current[MEM_WORKSPACE]);
    EXPECT(ok > 0 && bad > 0, "both outcomes seen: %d loaded, %d rejected", ok, bad);
    printf("  fuzz: %d inputs loaded, %d rejected with a message, no crash, no leak\n", ok, bad);
}

static void test_no_leak(void) {
    MemStats m0 = mem_stats();
    Experiment ex;
    if (load_ok(&ex, "experiments/examples/sweep.yaml") == 0) cfg_free(&ex);
    WbError err;
    cfg_load(&ex, write_yaml("leak.yaml", MODEL DATA TRAIN "methods:\n  - name: lora\n    rank: [1, 2, 0]\n"), &err);
    MemStats m1 = mem_stats();
    EXPECT(m1.current[MEM_WORKSPACE] == m0.current[MEM_WORKSPACE], "workspace %zu -> %zu", m0.current[MEM_WORKSPACE], m1.current[MEM_WORKSPACE]);
    EXPECT(strstr(err.msg, "methods[0].rank: 0 is out of range") != NULL, "error from the third sweep value: %s", err.msg);
}

int main(int argc, char **argv) {
    tl_init(argc, argv);
    RUN(test_example_minimal);
    RUN(test_example_sweep);
    RUN(test_example_extends);
    RUN(test_example_stages);
    RUN(test_method_axes_only_their_method);
    RUN(test_budget_axis);
    RUN(test_order_and_list_axes);
    RUN(test_model_and_classes);
    RUN(test_dataset_and_training_options);
    RUN(test_extends_chain_and_errors);
    RUN(test_stages_from_stage);
    RUN(test_errors);
    RUN(test_resolved_yaml_roundtrip);
    RUN(test_fuzz_never_crashes);
    RUN(test_no_leak);
    return tl_finish();
}
