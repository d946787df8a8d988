// test_method_registry.c: a method is one declaration. This file declares a
// test-only method ("scaled": the dense linear with W multiplied by its key
// `scale` at init), registers it, and checks that everything else learns it
// from the declaration alone: the name list and `help methods`, the config
// reader (key, range, default, sweep axis, run names, errors naming the
// file:line), the resolved YAML (which loads back), the closed-form paper
// measure, and one training step through the model (scale 1 equals vanilla
// to the bit; scale 2 does not).
#include "testlib.h"
#include "baselines/registry.h"
#include "core/runtime/common.h"
#include "core/nn/linear_dense.h"
#include "core/runtime/memory.h"
#include "core/models/model.h"
#include "core/train/train.h"
#include "experiments/config.h"

#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

// --- the test-only method: everything about it is here
static void scaled_init(LinearLayer *L, const float *W, const float *b, const MethodConfig *cfg) {
    size_t n = (size_t)L->O * L->I;
    float *Ws = mem_alloc_floats(n, MEM_WORKSPACE);
    for (size_t i = 0; i < n; i++) Ws[i] = cfg->lora_alpha * W[i];
    dense_init(L, Ws, b, cfg);
    mem_free(Ws);
}

static void scaled_paper_elems(int O, const int *dims, int nd, const MethodConfig *mc, const LayerRanks *lr,
                               double *act_elems, double *weight_elems) {
    (void)mc; (void)lr;
    double rows = 1;
    for (int n = 0; n < nd - 1; n++) rows *= dims[n];
    *act_elems = rows * dims[nd - 1];
    *weight_elems = (double)O * dims[nd - 1];
}

// A real method adds its settings' fields to MethodConfig (one line each in
// core/nn/linear_method.h); this test method borrows the float it needs.
static const MethodKey scaled_keys[] = {
    {.key = "scale", .type = MKEY_NUM, .field = offsetof(MethodConfig, lora_alpha), .lo = 0, .hi = 8, .lo_open = 1,
     .def = 1, .help = "factor on the pretrained W (test only)"},
};

static const LinearMethod method_scaled = {
    .name = "scaled",
    .help = "test only: the dense linear with W scaled at init",
    .keys = scaled_keys, .n_keys = 1,
    .paper_elems = scaled_paper_elems,
    .init = scaled_init, .forward = dense_forward, .backward = dense_backward, .param_sets = dense_param_sets,
    .update = dense_update, .account = dense_account, .export_dense = dense_export, .free = dense_free,
};
// --- end of the method

#define BASE "model:\n  preset: vit_micro\ndataset:\n  format: fashion_mnist\ntraining:\n  epochs: 1\n  batch_size: 4\n  lr: 0.05\n"

static void test_registered_and_listed(void) {
    EXPECT(method_by_name("scaled") == &method_scaled, "method_by_name finds the registered method");
    EXPECT(method_index("scaled") == method_count() - 1, "registered after the built-in ones");
    EXPECT(strstr(method_names(), "wasi, scaled") != NULL, "names: %s", method_names());
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    methods_help(f);
    fclose(f);
    EXPECT(strstr(buf, "scaled: test only") && strstr(buf, "scale ") && strstr(buf, "default: 1"),
           "help methods lists the method, its key and default:\n%s", buf);
    free(buf);   // open_memstream's buffer belongs to libc
    double a, w;
    int dims[3] = {4, 5, 6};
    method_paper_elems("scaled", 7, dims, 3, &(MethodConfig){0}, NULL, &a, &w);
    EXPECT(a == 120 && w == 42, "paper measure from the declaration: %g %g", a, w);
}

static void test_config_reads_the_keys(void) {
    Experiment ex;
    WbError err;
    const char *p = tl_write_tmp("scaled.yaml", BASE "methods:\n  - name: scaled\n    scale: [2, 0.5]\n  - name: scaled\n  - name: vanilla\n");
    EXPECT(cfg_load(&ex, p, &err) == 0, "loads: %s", err.msg);
    if (ex.n == 4) {
        EXPECT(!strcmp(ex.runs[0].method, "scaled") && ex.runs[0].mcfg.lora_alpha == 2.0f && ex.runs[1].mcfg.lora_alpha == 0.5f,
               "the sweep axis of the declared key: %s %g, %g", ex.runs[0].method, (double)ex.runs[0].mcfg.lora_alpha,
               (double)ex.runs[1].mcfg.lora_alpha);
        EXPECT(ex.runs[2].mcfg.lora_alpha == 1.0f, "the declared default: %g", (double)ex.runs[2].mcfg.lora_alpha);
        EXPECT(strstr(ex.runs[0].name, "scale2") && strstr(ex.runs[1].name, "scale0.5"), "run names from the key: %s, %s",
               ex.runs[0].name, ex.runs[1].name);
        EXPECT(strstr(ex.runs[1].resolved_yaml, "  - name: scaled\n    scale: 0.5\n") != NULL, "resolved YAML emits the key:\n%s",
               ex.runs[1].resolved_yaml);
        // the resolved YAML loads back to the same setting
        Experiment back;
        const char *q = tl_write_tmp("scaled_back.yaml", ex.runs[1].resolved_yaml);
        EXPECT(cfg_load(&back, q, &err) == 0 && back.n == 1 && back.runs[0].mcfg.lora_alpha == 0.5f, "reloads: %s", err.msg);
        cfg_free(&back);
    } else {
        EXPECT(0, "4 runs expected, got %d", ex.n);
    }
    cfg_free(&ex);
    p = tl_write_tmp("scaled_bad.yaml", BASE "methods:\n  - name: scaled\n    scale: 9\n");
    EXPECT(cfg_load(&ex, p, &err) == -1 && strstr(err.msg, "scaled_bad.yaml:11:12:") && strstr(err.msg, "scale"),
           "out of the declared range: %s", err.msg);
    p = tl_write_tmp("scaled_key.yaml", BASE "methods:\n  - name: scaled\n    rank: 4\n");
    EXPECT(cfg_load(&ex, p, &err) == -1 && strstr(err.msg, "belongs to lora") && strstr(err.msg, "valid keys for scaled: name, scale"),
           "another method's key: %s", err.msg);
    p = tl_write_tmp("vanilla_scale.yaml", BASE "methods:\n  - name: vanilla\n    scale: 2\n");
    EXPECT(cfg_load(&ex, p, &err) == -1 && strstr(err.msg, "'scale' in methods[0] (vanilla) belongs to scaled"),
           "its key in another method: %s", err.msg);
}

// One training step of the run's model with the run's method.
static float one_step(const RunSpec *r, float *w_after, size_t nw, size_t *n_w) {
    ModelBinding bind = {0};
    bind.method = method_by_name(r->method);
    bind.mcfg = r->mcfg;
    bind.all_linear = r->all_linear;
    bind.num_finetune = r->num_finetune;
    int S, C, K, B = r->batch_size;
    model_config_io(&r->model, &S, &C, &K);
    Model m;
    model_build(&m, &r->model, &bind, B);
    model_init_random(&m, 7);
    float *img = mem_alloc_floats((size_t)B * C * S * S, MEM_DATA);
    int *y = mem_alloc(sizeof(int) * (size_t)B, MEM_DATA);
    tl_random_batch(img, y, B, C, S, K, 3);
    StepResult res = train_step(&m, img, y, B, &r->opt, 0.05f, 0);
    LinearLayer *lin[64];
    int n = model_counted_linears(&m, lin, 64);
    CHECK(n > 0 && (size_t)lin[0]->O * lin[0]->I <= nw, "counted linears");
    float *b = mem_alloc_floats((size_t)lin[0]->O, MEM_WORKSPACE);
    lin[0]->method->export_dense(lin[0], w_after, b);
    *n_w = (size_t)lin[0]->O * lin[0]->I;
    mem_free(b); mem_free(img); mem_free(y);
    model_free(&m);
    return res.loss;
}

static void test_one_training_step(void) {
    Experiment ex;
    WbError err;
    const char *p = tl_write_tmp("scaled_step.yaml", BASE "methods:\n  - name: scaled\n    scale: [1, 2]\n  - name: vanilla\n");
    if (cfg_load(&ex, p, &err) != 0 || ex.n != 3) { EXPECT(0, "load: %s", err.msg); return; }
    size_t nw = 1 << 16;
    float *w1 = mem_alloc_floats(nw, MEM_WORKSPACE), *w2 = mem_alloc_floats(nw, MEM_WORKSPACE), *wv = mem_alloc_floats(nw, MEM_WORKSPACE);
    size_t n1, n2, nv;
    float l1 = one_step(&ex.runs[0], w1, nw, &n1), l2 = one_step(&ex.runs[1], w2, nw, &n2), lv = one_step(&ex.runs[2], wv, nw, &nv);
    CHECK(n1 == nv && n2 == nv, "the same layer shapes");
    EXPECT(isfinite(l1) && l1 == lv, "scale 1 is vanilla: loss %.9g vs %.9g", (double)l1, (double)lv);
    EXPECT(tl_max_abs_diff(w1, wv, nv) == 0, "scale 1: the same updated weight as vanilla");
    EXPECT(isfinite(l2) && l2 != lv, "scale 2 changes the forward: loss %.9g vs %.9g", (double)l2, (double)lv);
    EXPECT(tl_max_abs_diff(w2, wv, nv) > 0, "scale 2: another weight");
    mem_free(w1); mem_free(w2); mem_free(wv);
    cfg_free(&ex);
}

int main(int argc, char **argv) {
    tl_init(argc, argv);
    method_register(&method_scaled);
    RUN(test_registered_and_listed);
    RUN(test_config_reads_the_keys);
    RUN(test_one_training_step);
    return tl_finish();
}
