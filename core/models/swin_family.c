// swin_family.c: the Swin Transformer as a model family (core/models/model.h): its presets and
// own `model:` keys, its sizes as the data and the config see them, the
// forwarding of the model operations to swin.c, its counted linears with
// their activation shapes (the paper measure of any method follows), and its
// cost model and memory plan from swin_cost.c.
#include "core/models/model.h"
#include "core/models/swin.h"
#include "core/models/swin_cost.h"
#include "core/models/model_params.h"
#include "core/nn/swin_layers.h"
#include "core/runtime/common.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

static const char *const swin_keys[] = {NULL};   // sizes are the preset's (torchvision's)

static int fam_preset(const char *name, ModelConfig *cfg) { return swin_preset(name, &cfg->swin); }
static int fam_read_keys(ModelConfig *cfg, const char *preset, int from_preset, const ModelKeyReader *rd, char *config_path,
                         size_t cap) {
    (void)cfg; (void)preset; (void)from_preset; (void)rd; (void)config_path; (void)cap;
    return 0;
}
static void fam_describe(const ModelConfig *cfg, char *buf, size_t cap) {
    snprintf(buf, cap, "  # swin: %d px, %d channels, sizes of the preset\n", cfg->swin.image_size, cfg->swin.channels);
}
static void fam_io(const ModelConfig *cfg, int *size, int *channels, int *classes) {
    *size = cfg->swin.image_size; *channels = cfg->swin.channels; *classes = cfg->swin.num_classes;
}
static void fam_set_classes(ModelConfig *cfg, int K) { cfg->swin.num_classes = K; }
static int *fam_memory_option(ModelConfig *cfg, int which) {
    return which == MODEL_MEM_GELU_F16 ? &cfg->swin.gelu_f16 : which == MODEL_MEM_SOFTMAX_F16 ? &cfg->swin.softmax_f16
                                                                                               : &cfg->swin.recompute;
}
static int fam_finetune_units(const ModelConfig *cfg, int all_linear) { return swin_num_blocks(&cfg->swin) * (all_linear ? 4 : 2); }
static int fam_lora_rank_max(const ModelConfig *cfg) { return cfg->swin.embed_dim; }
// Sizes vary by stage: ranks above a mode's size are clipped to it; only the batch is bounded.
static void fam_act_rank_limits(const ModelConfig *cfg, int B, long lim[4], const char *what[4]) {
    (void)cfg;
    lim[0] = B; lim[1] = lim[2] = lim[3] = 0;
    what[0] = "k1 (batch) must be <= training.batch_size";
    what[1] = what[2] = what[3] = "";
}

static void fam_build(void *self, const ModelConfig *cfg, const ModelBinding *bind, int B) { swin_build(self, &cfg->swin, bind, B); }
static void fam_free(void *self) { swin_free(self); }
static void fam_init_random(void *self, uint64_t seed) { swin_init_random(self, seed); }
static int fam_load(void *self, const char *path, int skip_head, uint64_t head_seed, WbError *err) {
    return swin_load(self, path, skip_head, head_seed, err);
}
static int fam_save(const void *self, const char *path, WbError *err) { return swin_save(self, path, err); }
static float fam_forward(void *self, const float *x, const int *targets, int B, int training) {
    return swin_forward(self, x, targets, B, training);
}
static void fam_backward(void *self) { swin_backward(self); }
static ModelParams fam_params(void *self) { return swin_params(self); }
static const float *fam_logits(const void *self) { return ((const Swin *)self)->logits; }
static ModelBinding *fam_binding(void *self) { return &((Swin *)self)->bind; }
static int fam_batch(const void *self) { return ((const Swin *)self)->B; }
static int fam_num_classes(const void *self) { return ((const Swin *)self)->cfg.num_classes; }
static ModelPaperMemory fam_paper_memory(const void *self) { return swin_paper_memory(self); }
static int fam_num_linears(const void *self) { return ((const Swin *)self)->nblocks * SWIN_NLIN; }
static LinearLayer *fam_linear(const void *self, int i) { return &((const Swin *)self)->lin[i]; }
static int fam_counted_index(const void *self, int i) { return swin_counted_index(self, i / SWIN_NLIN, i % SWIN_NLIN); }

// The counted linears in forward order, each with its 4-mode activation:
// qkv, proj (B, nW, T, C) over the padded windows; fc1 (B, H, W, C), fc2 (B, H, W, M).
static int fam_counted_shapes(const ModelConfig *mc, int B, const ModelBinding *bind, LinearShape *out, int max) {
    const SwinConfig *cfg = &mc->swin;
    const int ws = cfg->window, T = ws * ws, counted = fam_finetune_units(mc, bind->all_linear);
    const int n_train = bind->num_finetune < 0 ? counted : bind->num_finetune;
    CHECK(n_train <= counted, "num_finetune %d > %d counted linears", n_train, counted);
    int idx = 0, n = 0, H = cfg->image_size / cfg->patch, W = H;
    for (int s = 0; s < cfg->stages; s++) {
        const int C = cfg->embed_dim << s, M = cfg->mlp_ratio * C;
        for (int i = 0; i < cfg->depths[s]; i++) {
            int Hp, Wp, sh, sw;
            window_geometry(H, W, ws, (i % 2) ? ws / 2 : 0, &Hp, &Wp, &sh, &sw);
            const int nW = (Hp / ws) * (Wp / ws);
            for (int w = 0; w < SWIN_NLIN; w++) {
                if (!swin_linear_counted(bind, 0, w)) continue;
                if (idx++ < counted - n_train) continue;   // frozen: not part of the measure
                CHECK(n < max, "more than %d counted linears", max);
                LinearShape *sp = &out[n++];
                sp->nd = 4;
                sp->dims[0] = B;
                if (w <= SWIN_PROJ) { sp->dims[1] = nW; sp->dims[2] = T; sp->dims[3] = C; sp->O = w == SWIN_QKV ? 3 * C : C; }
                else { sp->dims[1] = H; sp->dims[2] = W; sp->dims[3] = w == SWIN_FC1 ? C : M; sp->O = w == SWIN_FC1 ? M : C; }
            }
        }
        H = (H + 1) / 2; W = (W + 1) / 2;
    }
    return n;
}

static FlopCount fam_step_flops(const ModelConfig *cfg, int B, int num_finetune, LinearCostFn lin, const void *ctx) {
    if (num_finetune >= 0) return (FlopCount){NAN, NAN, NAN};   // the closed form covers num_of_finetune: all
    return swin_step_flops(&cfg->swin, B, lin, ctx);
}
static double fam_inference_flops(const ModelConfig *cfg, int B) { return swin_inference_flops(&cfg->swin, B); }

static MemPlan fam_memory_plan(const ModelConfig *cfg, int B, const ModelBinding *bind, const int *weight_ranks, int opt_state) {
    return swin_memory_plan(&cfg->swin, B, bind, weight_ranks, opt_state);
}

const ModelFamily swin_family = {
    .name = "swin",
    .help = "Swin Transformer with torchvision's layout and names (swin_t, swin_s, swin_b, swin_micro)",
    .finetune_means = "counted linears",
    .act_modes = 4,
    .act_modes_names = "B, H, W, C",
    .keys = swin_keys,
    .model_bytes = sizeof(Swin),
    .preset_names = swin_preset_names,
    .memory_option = fam_memory_option,
    .linear_counted = swin_linear_counted,
    MODEL_FAMILY_OPS,
    MODEL_FAMILY_COST_OPS,
};
