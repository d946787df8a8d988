// model.c: the list of model families and the forwarding of model.h through
// their tables (each family's table is at the end of its own file).
#include "core/models/model.h"
#include "core/runtime/common.h"
#include "core/models/model_params.h"
#include "core/runtime/rng.h"

#include <string.h>

// Kind k is families[k - 1]; a test may append its own (model_family_register).
static const ModelFamily *families[MODEL_MAX_FAMILIES] = {&vit_family, &swin_family, &llama_family};
static int n_families = 3;

const ModelFamily *model_family(ModelKind kind) {
    if ((int)kind < 1 || (int)kind > n_families) die("model of unknown kind %d (not built?)", (int)kind);
    return families[kind - 1];
}

ModelKind model_family_register(const ModelFamily *f) {
    CHECK(f && f->name && f->preset && f->io && f->build && f->forward && f->backward && f->params && f->logits &&
              f->binding && f->num_linears && f->linear && f->counted_index,
          "model_family_register: a family needs a name and every model operation");
    CHECK(n_families < MODEL_MAX_FAMILIES, "model_family_register: more than %d families", MODEL_MAX_FAMILIES);
    families[n_families++] = f;
    return (ModelKind)n_families;
}

int model_family_count(void) { return n_families; }

void model_families_help(FILE *out) {
    static const char *const mem_names[MODEL_MEM_NOPTS] = {"gelu_f16", "softmax_f16", "recompute"};
    fprintf(out, "Models (the `model:` section; `preset:` names a family's preset):\n");
    for (int k = 0; k < n_families; k++) {
        const ModelFamily *f = families[k];
        fprintf(out, "\n  %s: %s\n", f->name, f->help ? f->help : "");
        fprintf(out, "    presets: %s\n", f->preset_names());
        char keys[256] = "";
        for (int i = 0; f->keys && f->keys[i]; i++) {
            size_t o = strlen(keys);
            snprintf(keys + o, sizeof keys - o, "%s%s", i ? ", " : "", f->keys[i]);
        }
        fprintf(out, "    model keys: %s\n", keys[0] ? keys : "none (the preset's sizes)");
        fprintf(out, "    input: %s; activations of the counted linears: (%s)\n",
                (f->flags & MODEL_TEXT) ? "token ids (a text data set)" : "images", f->act_modes_names);
        fprintf(out, "    layers: mlp | all_linear%s; num_of_finetune counts %s\n", (f->flags & MODEL_LAYERS_ATTENTION) ? " | attention" : "",
                f->finetune_means ? f->finetune_means : "counted linears");
        char mem[128] = "";
        ModelConfig probe;
        memset(&probe, 0, sizeof probe);
        for (int o = 0; f->memory_option && o < MODEL_MEM_NOPTS; o++)
            if (f->memory_option(&probe, o)) {
                size_t n = strlen(mem);
                snprintf(mem + n, sizeof mem - n, "%s%s", n ? ", " : "", mem_names[o]);
            }
        fprintf(out, "    memory options: %s\n", mem[0] ? mem : "none");
        fprintf(out, "    dry-run FLOPs: %s; memory plan (memory.cap, maxbatch): %s%s%s\n", f->step_flops ? "closed form" : "unknown",
                f->memory_plan ? "closed form" : "none", f->memory_plan && f->memory_plan_limits ? ", " : "",
                f->memory_plan && f->memory_plan_limits ? f->memory_plan_limits : "");
    }
}

int model_preset(const char *name, ModelConfig *cfg) {
    for (int k = 1; k <= n_families; k++) {
        memset(cfg, 0, sizeof *cfg);
        if (families[k - 1]->preset(name, cfg) == 0) { cfg->kind = (ModelKind)k; return 0; }
    }
    memset(cfg, 0, sizeof *cfg);
    return -1;
}

const char *model_preset_names(void) {
    static char names[1024];
    names[0] = 0;
    for (int k = 0; k < n_families; k++) {
        size_t o = strlen(names);
        snprintf(names + o, sizeof names - o, "%s%s", k ? ", " : "", families[k]->preset_names());
    }
    return names;
}

const char *model_kind_name(ModelKind kind) {
    return (int)kind >= 1 && (int)kind <= n_families ? families[kind - 1]->name : "unknown";
}

void model_config_io(const ModelConfig *cfg, int *image_size, int *channels, int *num_classes) {
    model_family(cfg->kind)->io(cfg, image_size, channels, num_classes);
}

int model_config_is_text(const ModelConfig *cfg) { return (model_family(cfg->kind)->flags & MODEL_TEXT) != 0; }

long model_config_item_floats(const ModelConfig *cfg) {
    int S, Cin, K;
    model_config_io(cfg, &S, &Cin, &K);
    return model_config_is_text(cfg) ? (long)S : (long)Cin * S * S;
}

void model_config_set_seq_len(ModelConfig *cfg, int T) {
    const ModelFamily *f = model_family(cfg->kind);
    if (f->set_seq_len) f->set_seq_len(cfg, T);
}

void model_config_set_classes(ModelConfig *cfg, int num_classes) { model_family(cfg->kind)->set_classes(cfg, num_classes); }

int model_config_memory(const ModelConfig *cfg, int which) {
    const ModelFamily *f = model_family(cfg->kind);
    int *v = f->memory_option ? f->memory_option((ModelConfig *)cfg, which) : NULL;   // read only
    return v ? *v : 0;
}

void model_config_set_memory(ModelConfig *cfg, int which, int on) {
    const ModelFamily *f = model_family(cfg->kind);
    int *v = f->memory_option ? f->memory_option(cfg, which) : NULL;
    if (v) *v = on;
}

void model_config_clear_memory(ModelConfig *cfg) {
    for (int o = 0; o < MODEL_MEM_NOPTS; o++) model_config_set_memory(cfg, o, 0);
}

void model_config_random_input(const ModelConfig *cfg, float *x, int B, Rng *g) {
    const ModelFamily *f = model_family(cfg->kind);
    if (f->random_input) { f->random_input(cfg, x, B, g); return; }
    const size_t n = (size_t)B * (size_t)model_config_item_floats(cfg);
    for (size_t i = 0; i < n; i++) x[i] = rng_uniform(g) - 0.5f;
}

int model_config_fit_text(ModelConfig *cfg, int vocab, int pad_id, int num_classes, char *why, size_t cap) {
    const ModelFamily *f = model_family(cfg->kind);
    return f->fit_text ? f->fit_text(cfg, vocab, pad_id, num_classes, why, cap) : 0;
}

int model_config_act_modes(const ModelConfig *cfg) { return model_family(cfg->kind)->act_modes; }

#define FAM(m) model_family((m)->kind)

void model_build(Model *m, const ModelConfig *cfg, const ModelBinding *bind, int B) {
    memset(m, 0, sizeof *m);
    m->kind = cfg->kind;
    CHECK(FAM(m)->model_bytes <= sizeof m->u, "model family %s: its model (%zu bytes) does not fit Model.u", FAM(m)->name,
          FAM(m)->model_bytes);
    FAM(m)->build(&m->u, cfg, bind, B);
}

void model_free(Model *m) {
    if (m->kind == 0) return;
    FAM(m)->free(&m->u);
    m->kind = 0;
}

void model_init_random(Model *m, uint64_t seed) { FAM(m)->init_random(&m->u, seed); }
int model_load(Model *m, const char *path, int skip_head, uint64_t head_seed, WbError *err) {
    return FAM(m)->load(&m->u, path, skip_head, head_seed, err);
}
int model_save(const Model *m, const char *path, WbError *err) { return FAM(m)->save(&m->u, path, err); }

float model_forward(Model *m, const float *img, const int *targets, int B, int training) {
    return FAM(m)->forward(&m->u, img, targets, B, training);
}
void model_backward(Model *m) { FAM(m)->backward(&m->u); }
// The trainable parameters of any model, for the shared plumbing of core/models/model_params.h.
ModelParams model_params(Model *m) { return FAM(m)->params(&m->u); }

void model_zero_grad(Model *m) { mparams_zero_grad(model_params(m)); }
double model_clip_grad(Model *m, float max_norm) { return mparams_clip_grad(model_params(m), max_norm); }
void model_update(Model *m, const OptimConfig *oc, float lr) { mparams_update(model_params(m), oc, lr); }
double model_grad_norm(Model *m) { return mparams_grad_norm(model_params(m)); }
void model_update_clipped(Model *m, const OptimConfig *oc, float lr, double clip_coef) {
    mparams_update_clipped(model_params(m), oc, lr, clip_coef);
}

const float *model_logits(const Model *m) { return FAM(m)->logits(&m->u); }
int model_num_classes(const Model *m) { return FAM(m)->num_classes(&m->u); }
ModelBinding *model_binding(Model *m) { return FAM(m)->binding(&m->u); }
int model_batch(const Model *m) { return FAM(m)->batch(&m->u); }

int model_param_sets(Model *m, ParamSet **out, int max) { return mparams_sets(model_params(m), out, max); }
size_t model_num_trainable(Model *m) { return mparams_num_trainable(model_params(m)); }

ModelPaperMemory model_paper_memory(const Model *m) { return FAM(m)->paper_memory(&m->u); }

int model_num_linears(const Model *m) { return FAM(m)->num_linears(&m->u); }

LinearLayer *model_linear(const Model *m, int i) {
    CHECK(i >= 0 && i < model_num_linears(m), "linear %d of %d", i, model_num_linears(m));
    return FAM(m)->linear(&m->u, i);
}

int model_linear_counted_index(const Model *m, int i) {
    CHECK(i >= 0 && i < model_num_linears(m), "linear %d of %d", i, model_num_linears(m));
    return FAM(m)->counted_index(&m->u, i);
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
