// model.c: the dispatch of model.h onto vit.c, swin.c and llama.c.
#include "core/models/model.h"
#include "core/runtime/common.h"
#include "core/models/model_params.h"

#include <string.h>

int model_preset(const char *name, ModelConfig *cfg) {
    memset(cfg, 0, sizeof *cfg);
    if (vit_preset(name, &cfg->vit) == 0) { cfg->kind = MODEL_VIT; return 0; }
    if (swin_preset(name, &cfg->swin) == 0) { cfg->kind = MODEL_SWIN; return 0; }
    if (llama_preset(name, &cfg->llama) == 0) { cfg->kind = MODEL_LLAMA; return 0; }
    return -1;
}

const char *model_preset_names(void) {
    static char names[512];
    if (!names[0]) snprintf(names, sizeof names, "%s, %s, %s", vit_preset_names(), swin_preset_names(), llama_preset_names());
    return names;
}

const char *model_kind_name(ModelKind kind) {
    switch (kind) {
    case MODEL_VIT: return "vit";
    case MODEL_SWIN: return "swin";
    case MODEL_LLAMA: return "llama";
    }
    return "unknown";
}

void model_config_io(const ModelConfig *cfg, int *image_size, int *channels, int *num_classes) {
    switch (cfg->kind) {
    case MODEL_VIT: *image_size = cfg->vit.image_size; *channels = cfg->vit.channels; *num_classes = cfg->vit.num_classes; return;
    case MODEL_SWIN: *image_size = cfg->swin.image_size; *channels = cfg->swin.channels; *num_classes = cfg->swin.num_classes; return;
    case MODEL_LLAMA: *image_size = cfg->llama.seq_len; *channels = 0; *num_classes = cfg->llama.num_classes; return;
    }
    die("model config of unknown kind %d", (int)cfg->kind);
}

int model_config_is_text(const ModelConfig *cfg) { return cfg->kind == MODEL_LLAMA; }

long model_config_item_floats(const ModelConfig *cfg) {
    int S, Cin, K;
    model_config_io(cfg, &S, &Cin, &K);
    return model_config_is_text(cfg) ? (long)S : (long)Cin * S * S;
}

void model_config_set_seq_len(ModelConfig *cfg, int T) {
    if (cfg->kind == MODEL_LLAMA) cfg->llama.seq_len = T;
}

void model_config_set_classes(ModelConfig *cfg, int num_classes) {
    if (cfg->kind == MODEL_VIT) cfg->vit.num_classes = num_classes;
    else if (cfg->kind == MODEL_SWIN) cfg->swin.num_classes = num_classes;
    else if (cfg->kind == MODEL_LLAMA) cfg->llama.num_classes = num_classes;
    else die("model config of unknown kind %d", (int)cfg->kind);
}

void model_config_clear_memory(ModelConfig *cfg) {
    if (cfg->kind == MODEL_VIT) cfg->vit.gelu_f16 = cfg->vit.softmax_f16 = cfg->vit.recompute = 0;
    if (cfg->kind == MODEL_SWIN) cfg->swin.gelu_f16 = cfg->swin.softmax_f16 = cfg->swin.recompute = 0;
}

int model_config_act_modes(const ModelConfig *cfg) { return cfg->kind == MODEL_SWIN ? 4 : 3; }

// One switch per call; the default dies (a Model that was never built).
#define DISPATCH(m, vit_call, swin_call, llama_call)                  \
    switch ((m)->kind) {                                              \
    case MODEL_VIT: vit_call;                                         \
    case MODEL_SWIN: swin_call;                                       \
    case MODEL_LLAMA: llama_call;                                     \
    }                                                                 \
    die("model of unknown kind %d (not built?)", (int)(m)->kind)

void model_build(Model *m, const ModelConfig *cfg, const ModelBinding *bind, int B) {
    memset(m, 0, sizeof *m);
    m->kind = cfg->kind;
    DISPATCH(m, vit_build(&m->u.vit, &cfg->vit, bind, B); return, swin_build(&m->u.swin, &cfg->swin, bind, B); return,
             llama_build(&m->u.llama, &cfg->llama, bind, B); return);
}

void model_free(Model *m) {
    if (m->kind == 0) return;
    DISPATCH(m, vit_free(&m->u.vit); m->kind = 0; return, swin_free(&m->u.swin); m->kind = 0; return,
             llama_free(&m->u.llama); m->kind = 0; return);
}

void model_init_random(Model *m, uint64_t seed) {
    DISPATCH(m, vit_init_random(&m->u.vit, seed); return, swin_init_random(&m->u.swin, seed); return,
             llama_init_random(&m->u.llama, seed); return);
}

int model_load(Model *m, const char *path, int skip_head, uint64_t head_seed, WbError *err) {
    DISPATCH(m, return vit_load(&m->u.vit, path, skip_head, head_seed, err),
             return swin_load(&m->u.swin, path, skip_head, head_seed, err),
             return llama_load(&m->u.llama, path, skip_head, head_seed, err));
}

int model_save(const Model *m, const char *path, WbError *err) {
    DISPATCH(m, return vit_save(&m->u.vit, path, err), return swin_save(&m->u.swin, path, err),
             return llama_save(&m->u.llama, path, err));
}

float model_forward(Model *m, const float *img, const int *targets, int B, int training) {
    DISPATCH(m, return vit_forward(&m->u.vit, img, targets, B, training),
             return swin_forward(&m->u.swin, img, targets, B, training),
             return llama_forward(&m->u.llama, img, targets, B, training));
}

void model_backward(Model *m) { DISPATCH(m, vit_backward(&m->u.vit); return, swin_backward(&m->u.swin); return,
                                        llama_backward(&m->u.llama); return); }
// The trainable parameters of either model, for the shared plumbing of core/models/model_params.h.
ModelParams model_params(Model *m) { DISPATCH(m, return vit_params(&m->u.vit), return swin_params(&m->u.swin),
                                         return llama_params(&m->u.llama)); }

void model_zero_grad(Model *m) { mparams_zero_grad(model_params(m)); }
double model_clip_grad(Model *m, float max_norm) { return mparams_clip_grad(model_params(m), max_norm); }
void model_update(Model *m, const OptimConfig *oc, float lr) { mparams_update(model_params(m), oc, lr); }
double model_grad_norm(Model *m) { return mparams_grad_norm(model_params(m)); }
void model_update_clipped(Model *m, const OptimConfig *oc, float lr, double clip_coef) {
    mparams_update_clipped(model_params(m), oc, lr, clip_coef);
}

const float *model_logits(const Model *m) { DISPATCH(m, return m->u.vit.logits, return m->u.swin.logits, return m->u.llama.logits); }

int model_num_classes(const Model *m) {
    DISPATCH(m, return m->u.vit.cfg.num_classes, return m->u.swin.cfg.num_classes, return m->u.llama.cfg.num_classes);
}

ModelBinding *model_binding(Model *m) { DISPATCH(m, return &m->u.vit.bind, return &m->u.swin.bind, return &m->u.llama.bind); }
int model_batch(const Model *m) { DISPATCH(m, return m->u.vit.B, return m->u.swin.B, return m->u.llama.B); }

int model_param_sets(Model *m, ParamSet **out, int max) { return mparams_sets(model_params(m), out, max); }
size_t model_num_trainable(Model *m) { return mparams_num_trainable(model_params(m)); }

ModelPaperMemory model_paper_memory(const Model *m) {
    DISPATCH(m, return vit_paper_memory(&m->u.vit), return swin_paper_memory(&m->u.swin),
             return llama_paper_memory(&m->u.llama));
}

int model_num_linears(const Model *m) {
    DISPATCH(m, return m->u.vit.cfg.depth * VIT_NLIN, return m->u.swin.nblocks * SWIN_NLIN,
             return m->u.llama.cfg.layers * LLAMA_NLIN);
}

LinearLayer *model_linear(const Model *m, int i) {
    CHECK(i >= 0 && i < model_num_linears(m), "linear %d of %d", i, model_num_linears(m));
    DISPATCH(m, return &m->u.vit.lin[i], return &m->u.swin.lin[i], return &m->u.llama.lin[i]);
}

int model_linear_counted_index(const Model *m, int i) {
    CHECK(i >= 0 && i < model_num_linears(m), "linear %d of %d", i, model_num_linears(m));
    DISPATCH(m, return vit_counted_index(&m->u.vit, i / VIT_NLIN, i % VIT_NLIN),
             return swin_counted_index(&m->u.swin, i / SWIN_NLIN, i % SWIN_NLIN),
             return llama_counted_index(&m->u.llama, i / LLAMA_NLIN, i % LLAMA_NLIN));
}

int model_counted_linears(const Model *m, LinearLayer **out, int max) {
    int n = 0, total = model_num_linears(m);
    for (int i = 0; i < total; i++) {
        LinearLayer *L = model_linear(m, i);
        if (model_linear_counted_index(m, i) < 0 || !L->trainable) continue;
        CHECK(n < max, "more than %d counted linears", max);
        out[n++] = L;
    }
    return n;
}
