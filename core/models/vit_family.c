// vit_family.c: the ViT as a model family (core/models/model.h): its presets and
// own `model:` keys, its sizes as the data and the config see them, the
// forwarding of the model operations to vit.c, its counted linears with
// their activation shapes (the paper measure of any method follows), and its
// cost model and memory plan from vit_cost.c.
#include "core/models/model.h"
#include "core/models/vit.h"
#include "core/models/vit_cost.h"
#include "core/models/model_params.h"
#include "core/runtime/common.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

static const char *const vit_keys[] = {"image_size", "patch", "channels", "dim", "depth", "heads", "mlp_dim", NULL};

static int fam_preset(const char *name, ModelConfig *cfg) { return vit_preset(name, &cfg->vit); }

// model: {preset?, image_size, patch, channels, dim, depth, heads, mlp_dim}: a
// preset's sizes, each overridable; without a preset all seven are required.
static int fam_read_keys(ModelConfig *cfg, const char *preset, int from_preset, const ModelKeyReader *rd, char *config_path,
                         size_t cap) {
    (void)preset; (void)config_path; (void)cap;
    ViTConfig *v = &cfg->vit;
    if (!from_preset) v->ln_eps = 1e-6f;
    int *dst[] = {&v->image_size, &v->patch, &v->channels, &v->dim, &v->depth, &v->heads, &v->mlp_dim};
    static const long hi[] = {4096, 4096, 3, 16384, 256, 1024, 65536};
    char missing[200] = "", msg[512];
    for (int i = 0; i < 7; i++) {
        int got = rd->read_int(rd->ctx, vit_keys[i], hi[i], dst[i]);
        if (got < 0) return -1;
        if (!got && !from_preset) {
            size_t o = strlen(missing);
            snprintf(missing + o, sizeof missing - o, "%s'%s'", o ? ", " : "", vit_keys[i]);
        }
    }
    if (missing[0]) {
        snprintf(msg, sizeof msg, "model: missing key(s) %s (give preset: one of %s, or all of image_size, patch, channels, dim, depth, heads, mlp_dim)",
                 missing, model_preset_names());
        return rd->fail(rd->ctx, NULL, msg);
    }
    if (v->channels != 1 && v->channels != 3) {
        snprintf(msg, sizeof msg, "model.channels: %d is out of range (expected 1 or 3)", v->channels);
        return rd->fail(rd->ctx, "channels", msg);
    }
    if (v->image_size % v->patch) {
        snprintf(msg, sizeof msg, "model.patch: %d does not divide model.image_size %d", v->patch, v->image_size);
        return rd->fail(rd->ctx, rd->has(rd->ctx, "patch") ? "patch" : "image_size", msg);
    }
    if (v->dim % v->heads) {
        snprintf(msg, sizeof msg, "model.heads: %d does not divide model.dim %d", v->heads, v->dim);
        return rd->fail(rd->ctx, rd->has(rd->ctx, "heads") ? "heads" : "dim", msg);
    }
    return 0;
}

static void fam_describe(const ModelConfig *cfg, char *buf, size_t cap) {
    const ViTConfig *v = &cfg->vit;
    snprintf(buf, cap, "  image_size: %d\n  patch: %d\n  channels: %d\n  dim: %d\n  depth: %d\n  heads: %d\n  mlp_dim: %d\n",
             v->image_size, v->patch, v->channels, v->dim, v->depth, v->heads, v->mlp_dim);
}

static void fam_io(const ModelConfig *cfg, int *size, int *channels, int *classes) {
    *size = cfg->vit.image_size; *channels = cfg->vit.channels; *classes = cfg->vit.num_classes;
}
static void fam_set_classes(ModelConfig *cfg, int K) { cfg->vit.num_classes = K; }
static int *fam_memory_option(ModelConfig *cfg, int which) {
    return which == MODEL_MEM_GELU_F16 ? &cfg->vit.gelu_f16 : which == MODEL_MEM_SOFTMAX_F16 ? &cfg->vit.softmax_f16
                                                                                              : &cfg->vit.recompute;
}
static int fam_finetune_units(const ModelConfig *cfg, int all_linear) { return cfg->vit.depth * (all_linear ? 6 : 2); }
static int fam_lora_rank_max(const ModelConfig *cfg) { return wb_min(cfg->vit.dim, cfg->vit.mlp_dim); }
static void fam_act_rank_limits(const ModelConfig *cfg, int B, long lim[4], const char *what[4]) {
    const ViTConfig *v = &cfg->vit;
    lim[0] = B;
    lim[1] = (long)(v->image_size / v->patch) * (v->image_size / v->patch) + 1;
    lim[2] = wb_min(v->dim, v->mlp_dim);
    lim[3] = 0;
    what[0] = "k1 (batch) must be <= training.batch_size";
    what[1] = "k2 (tokens) must be <= the token count";
    what[2] = "k3 (features) must be <= min(model.dim, model.mlp_dim)";
    what[3] = "";
}

static void fam_build(void *self, const ModelConfig *cfg, const ModelBinding *bind, int B) { vit_build(self, &cfg->vit, bind, B); }
static void fam_free(void *self) { vit_free(self); }
static void fam_init_random(void *self, uint64_t seed) { vit_init_random(self, seed); }
static int fam_load(void *self, const char *path, int skip_head, uint64_t head_seed, WbError *err) {
    return vit_load(self, path, skip_head, head_seed, err);
}
static int fam_save(const void *self, const char *path, WbError *err) { return vit_save(self, path, err); }
static float fam_forward(void *self, const float *x, const int *targets, int B, int training) {
    return vit_forward(self, x, targets, B, training);
}
static void fam_backward(void *self) { vit_backward(self); }
static ModelParams fam_params(void *self) { return vit_params(self); }
static const float *fam_logits(const void *self) { return ((const ViT *)self)->logits; }
static ModelBinding *fam_binding(void *self) { return &((ViT *)self)->bind; }
static int fam_batch(const void *self) { return ((const ViT *)self)->B; }
static int fam_num_classes(const void *self) { return ((const ViT *)self)->cfg.num_classes; }
static ModelPaperMemory fam_paper_memory(const void *self) { return vit_paper_memory(self); }
static int fam_num_linears(const void *self) { return ((const ViT *)self)->cfg.depth * VIT_NLIN; }
static LinearLayer *fam_linear(const void *self, int i) { return &((const ViT *)self)->lin[i]; }
static int fam_counted_index(const void *self, int i) { return vit_counted_index(self, i / VIT_NLIN, i % VIT_NLIN); }

// The counted linears in forward order (per block q, k, v, out, fc1, fc2); the
// last num_finetune of them train, and only those are part of the measure.
static int fam_counted_shapes(const ModelConfig *mc, int B, const ModelBinding *bind, LinearShape *out, int max) {
    const ViTConfig *cfg = &mc->vit;
    const int C = cfg->dim, M = cfg->mlp_dim, D = cfg->depth;
    const int N = (cfg->image_size / cfg->patch) * (cfg->image_size / cfg->patch) + 1;
    int counted = 0;
    for (int l = 0; l < D; l++)
        for (int w = 0; w < VIT_NLIN; w++) counted += vit_linear_counted(bind, l, w);
    int n_train = bind->num_finetune < 0 ? counted : bind->num_finetune;
    CHECK(n_train <= counted, "num_finetune %d > %d counted linears", n_train, counted);
    int idx = 0, n = 0;
    for (int l = 0; l < D; l++)
        for (int w = 0; w < VIT_NLIN; w++) {
            if (!vit_linear_counted(bind, l, w)) continue;
            if (idx++ < counted - n_train) continue;   // frozen
            CHECK(n < max, "more than %d counted linears", max);
            int I = (w == VIT_FC2) ? M : C;
            out[n++] = (LinearShape){.O = (w == VIT_FC1) ? M : C, .nd = 3, .dims = {B, N, I, 0}};
        }
    return n;
}

static FlopCount fam_step_flops(const ModelConfig *cfg, int B, int num_finetune, LinearCostFn lin, const void *ctx) {
    if (num_finetune >= 0) return (FlopCount){NAN, NAN, NAN};   // the closed form covers num_of_finetune: all
    return vit_step_flops(&cfg->vit, B, lin, ctx);
}
static double fam_inference_flops(const ModelConfig *cfg, int B) { return vit_inference_flops(&cfg->vit, B); }
static MemPlan fam_memory_plan(const ModelConfig *cfg, int B, const ModelBinding *bind, const int *weight_ranks, int opt_state) {
    return vit_memory_plan(&cfg->vit, B, bind, weight_ranks, opt_state);
}

const ModelFamily vit_family = {
    .name = "vit",
    .help = "Vision Transformer with torchvision's layout and names (vit_b_32 ... vit_micro, or any size)",
    .finetune_means = "counted linears",
    .act_modes = 3,
    .act_modes_names = "B, N, I",
    .keys = vit_keys,
    .model_bytes = sizeof(ViT),
    .preset_names = vit_preset_names,
    .memory_option = fam_memory_option,
    .linear_counted = vit_linear_counted,
    .memory_plan_limits = "num_of_finetune: all",
    MODEL_FAMILY_OPS,
    MODEL_FAMILY_COST_OPS,
};
