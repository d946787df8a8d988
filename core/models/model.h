// model.h: one interface over the models of the harness. A model family (the
// ViT of vit.h, the Swin of swin.h, the Llama decoder of llama.h) declares
// itself as a ModelFamily: a table of operations like LinearMethod's, defined
// at the end of its own file. model.c keeps the list of families and forwards
// every model_* call through the table, so the trainer, the runner, the
// config reader, the cost model and the benches drive any model without
// knowing which, and nothing outside a model's files branches on its kind.
// Lifecycle: model_build -> model_init_random | model_load ->
// (model_forward, model_backward, model_update)* -> model_free.
// Adding a model: CONTRIBUTING.md "Add a model".
#ifndef WB_MODEL_H
#define WB_MODEL_H

#include "core/models/llama.h"
#include "core/models/model_binding.h"
#include "core/models/swin.h"
#include "core/models/vit.h"
#include "core/models/vit_cost.h"   // FlopCount, LinearCostFn, MemPlan
#include "core/runtime/rng.h"

#include <stdio.h>

// The family's index in model.c's list (0 = no model; a test may add families).
typedef enum { MODEL_VIT = 1, MODEL_SWIN = 2, MODEL_LLAMA = 3 } ModelKind;
#define MODEL_MAX_FAMILIES 8

// A model's architecture: the family's own config in its member.
typedef struct {
    ModelKind kind;
    ViTConfig vit;     // when kind == MODEL_VIT
    SwinConfig swin;   // when kind == MODEL_SWIN
    LlamaConfig llama; // when kind == MODEL_LLAMA
    int extra[8];      // the config of a family without a member here (tests/test_model_registry.c)
} ModelConfig;

typedef struct {
    ModelKind kind;
    union { ViT vit; Swin swin; Llama llama; void *extra; } u;
} Model;

// How the config reader hands a family its model keys (experiments/config_sections.c
// implements it over the YAML tree; core never sees YAML). Each returns -1 after
// reporting an error at the key (or the section when the key is absent).
typedef struct {
    void *ctx;
    int (*has)(void *ctx, const char *key);                                   // 1 given, 0 absent
    int (*read_int)(void *ctx, const char *key, long hi, int *dst);            // [1, hi]: 1 read, 0 absent, -1
    int (*read_path)(void *ctx, const char *key, char *dst, size_t cap);       // 1 read, 0 absent, -1
    int (*fail)(void *ctx, const char *key, const char *msg);                  // always -1
} ModelKeyReader;

// Flags of a family.
enum {
    MODEL_TEXT = 1u << 0,              // input: token ids (a text dataset), not images
    MODEL_LAYERS_ATTENTION = 1u << 1,  // `layers: attention` counts only the attention linears
};

// The memory section's options a family may support (ModelFamily.memory_option).
enum { MODEL_MEM_GELU_F16 = 0, MODEL_MEM_SOFTMAX_F16, MODEL_MEM_RECOMPUTE, MODEL_MEM_NOPTS };

typedef struct ModelFamily {
    const char *name;            // "vit", "swin", "llama": ModelConfig's kind name in messages and files
    const char *help;            // one line for `wasibench help models`
    const char *finetune_means;  // what num_of_finetune counts ("counted linears", "decoder layers")
    unsigned flags;              // MODEL_TEXT, MODEL_LAYERS_ATTENTION
    int act_modes;               // modes of the counted linears' activations (MethodConfig.act_ranks to give)
    const char *act_modes_names; // "B, N, I"
    const char *const *keys;     // the model-section keys it reads itself (sizes, config), NULL-terminated
    size_t model_bytes;          // sizeof its model struct (checked against Model.u)

    // --- the architecture (ModelConfig) ---
    int (*preset)(const char *name, ModelConfig *cfg);   // 0, or -1 unknown (cfg untouched then)
    const char *(*preset_names)(void);
    // Its keys of the model section (keys above; from_preset: a preset was given)
    // into cfg; config_path receives a config file's path when it reads one.
    int (*read_keys)(ModelConfig *cfg, const char *preset, int from_preset, const ModelKeyReader *rd, char *config_path,
                     size_t cap);
    // The YAML lines (two-space indented, "\n"-terminated) that describe its sizes in a resolved config.
    void (*describe)(const ModelConfig *cfg, char *buf, size_t cap);
    void (*io)(const ModelConfig *cfg, int *size, int *channels, int *classes);   // text: size = T, channels = 0
    void (*set_classes)(ModelConfig *cfg, int K);
    void (*set_seq_len)(ModelConfig *cfg, int T);            // NULL: not a text model
    // A random batch of B inputs (model_config_item_floats each) of the kind a data set gives
    // (NULL: images, uniform in [-0.5, 0.5)).
    void (*random_input)(const ModelConfig *cfg, float *x, int B, Rng *g);
    int (*fit_text)(ModelConfig *cfg, int vocab, int pad_id, int num_classes, char *why, size_t cap);   // NULL: not text
    int *(*memory_option)(ModelConfig *cfg, int which);       // the option's field, NULL when not supported
    int (*finetune_units)(const ModelConfig *cfg, int all_linear);   // the range of num_of_finetune
    int (*lora_rank_max)(const ModelConfig *cfg);             // the smallest feature size of a counted linear
    // Per activation mode, the largest rank a config may give (lim[0] is the batch);
    // 0 for a mode whose ranks are clipped to its size (what[i]: the rule, for messages).
    void (*act_rank_limits)(const ModelConfig *cfg, int B, long lim[4], const char *what[4]);

    // --- one model (self = &Model.u) ---
    void (*build)(void *self, const ModelConfig *cfg, const ModelBinding *bind, int B);
    void (*free)(void *self);
    void (*init_random)(void *self, uint64_t seed);
    int (*load)(void *self, const char *path, int skip_head, uint64_t head_seed, WbError *err);
    int (*save)(const void *self, const char *path, WbError *err);
    float (*forward)(void *self, const float *x, const int *targets, int B, int training);
    void (*backward)(void *self);
    struct ModelParams (*params)(void *self);
    const float *(*logits)(const void *self);
    ModelBinding *(*binding)(void *self);
    int (*batch)(const void *self);
    int (*num_classes)(const void *self);
    ModelPaperMemory (*paper_memory)(const void *self);
    int (*num_linears)(const void *self);
    LinearLayer *(*linear)(const void *self, int i);
    int (*counted_index)(const void *self, int i);   // -1 if not counted

    // --- closed forms, without building (NULL: not modelled) ---
    // The counted trainable linears of a model built with (cfg, bind, B), in forward order.
    int (*counted_shapes)(const ModelConfig *cfg, int B, const ModelBinding *bind, LinearShape *out, int max);
    // Whether linear `which` of block `block` is counted under bind (the cost model's callback asks).
    int (*linear_counted)(const ModelBinding *bind, int block, int which);
    // One training step at batch B (num_finetune as the binding's); lin prices the linears (NULL: dense).
    FlopCount (*step_flops)(const ModelConfig *cfg, int B, int num_finetune, LinearCostFn lin, const void *ctx);
    double (*inference_flops)(const ModelConfig *cfg, int B);
    // The tracked memory of training by category (vit_cost.h MemPlan); weight_ranks per counted linear.
    MemPlan (*memory_plan)(const ModelConfig *cfg, int B, const ModelBinding *bind, const int *weight_ranks, int opt_state);
    const char *memory_plan_limits;   // what memory_plan does not cover, for messages (NULL: no restriction)
} ModelFamily;

extern const ModelFamily vit_family, swin_family, llama_family;

// The model operations of a family table, for a family file that defines
// each as a static fam_<op> (vit_family.c, swin_family.c, llama_family.c).
#define MODEL_FAMILY_OPS                                                                                                  \
    .preset = fam_preset, .read_keys = fam_read_keys, .describe = fam_describe, .io = fam_io, .set_classes = fam_set_classes, \
    .finetune_units = fam_finetune_units, .lora_rank_max = fam_lora_rank_max, .act_rank_limits = fam_act_rank_limits,       \
    .build = fam_build, .free = fam_free, .init_random = fam_init_random, .load = fam_load, .save = fam_save,               \
    .forward = fam_forward, .backward = fam_backward, .params = fam_params, .logits = fam_logits, .binding = fam_binding,    \
    .batch = fam_batch, .num_classes = fam_num_classes, .paper_memory = fam_paper_memory, .num_linears = fam_num_linears,   \
    .linear = fam_linear, .counted_index = fam_counted_index, .counted_shapes = fam_counted_shapes
// ... and its closed forms, when it defines fam_step_flops, fam_inference_flops and fam_memory_plan.
#define MODEL_FAMILY_COST_OPS .step_flops = fam_step_flops, .inference_flops = fam_inference_flops, .memory_plan = fam_memory_plan

// `wasibench help models`: every family with its presets, keys, layers,
// memory options and what its closed forms cover, from the declarations.
void model_families_help(FILE *out);
// The family of a config or model (dies on a kind that is not registered).
const ModelFamily *model_family(ModelKind kind);
// Add a family (tests); returns its kind.
ModelKind model_family_register(const ModelFamily *f);
int model_family_count(void);   // families are kinds 1 .. count

// Any preset of any model (vit_b_32, ..., swin_t, swin_micro, tinyllama_1_1b, llama_micro); -1 if unknown.
int model_preset(const char *name, ModelConfig *cfg);
const char *model_preset_names(void);
const char *model_kind_name(ModelKind kind);   // "vit", "swin", "llama"
// The input and output sizes a config asks of the data: image (H = W), channels, classes.
// A text model (llama) asks for sequences: image_size = T, channels = 0.
void model_config_io(const ModelConfig *cfg, int *image_size, int *channels, int *num_classes);
// Floats of one batch item in the model's input x: Cin*H*W for images, T token ids for text.
long model_config_item_floats(const ModelConfig *cfg);
int model_config_is_text(const ModelConfig *cfg);
// A text model's sequence length (dataset.max_length); no-op for image models.
void model_config_set_seq_len(ModelConfig *cfg, int T);
void model_config_set_classes(ModelConfig *cfg, int num_classes);
// Drop what the config's memory section sets (how training saves, not which
// weights the model has), so that two configs compare by architecture.
void model_config_clear_memory(ModelConfig *cfg);
// One memory option (MODEL_MEM_*): its value (0 when the family does not support it), and set it (a no-op then).
int model_config_memory(const ModelConfig *cfg, int which);
void model_config_set_memory(ModelConfig *cfg, int which, int on);
// A text model takes the pad id and the class count its data set decided
// (num_classes < 2 keeps the config's), and checks that the tokenizer's
// vocab pieces fit its embedding: -1 with why set. No-op for image models.
// A random batch for a step that measures memory or time (the family's random_input).
void model_config_random_input(const ModelConfig *cfg, float *x, int B, Rng *g);
int model_config_fit_text(ModelConfig *cfg, int vocab, int pad_id, int num_classes, char *why, size_t cap);
// Activation modes of the counted linears (3: (B,N,I) for the ViT and (B,T,I) for Llama; 4 for Swin):
// how many of MethodConfig.act_ranks a config must give.
int model_config_act_modes(const ModelConfig *cfg);

void model_build(Model *m, const ModelConfig *cfg, const ModelBinding *bind, int B);
void model_free(Model *m);
void model_init_random(Model *m, uint64_t seed);
int model_load(Model *m, const char *path, int skip_head, uint64_t head_seed, WbError *err);
int model_save(const Model *m, const char *path, WbError *err);

float model_forward(Model *m, const float *img, const int *targets, int B, int training);
void model_backward(Model *m);
void model_zero_grad(Model *m);
double model_clip_grad(Model *m, float max_norm);
void model_update(Model *m, const OptimConfig *oc, float lr);
// The gradient norm without clipping, and clip + optimizer step + zero_grad
// fused into one pass (mparams_update_clipped, core/models/model_params.h; clip_coef
// from grad_clip_coef): afterwards every gradient is 0 and the next
// model_zero_grad costs nothing (core/models/model_params.h).
double model_grad_norm(Model *m);
void model_update_clipped(Model *m, const OptimConfig *oc, float lr, double clip_coef);
// The trainable parameters of either model (core/models/model_params.h).
struct ModelParams model_params(Model *m);

const float *model_logits(const Model *m);   // (B,K) of the last forward
// The binding the model was built with (rank calibration rebinds it) and its batch capacity B.
ModelBinding *model_binding(Model *m);
int model_batch(const Model *m);
int model_num_classes(const Model *m);
int model_param_sets(Model *m, ParamSet **out, int max);
size_t model_num_trainable(Model *m);
ModelPaperMemory model_paper_memory(const Model *m);

// Every linear in forward order (blocks x linears per block), and which are
// counted (the paper's layers: mlp / all_linear).
int model_num_linears(const Model *m);
LinearLayer *model_linear(const Model *m, int i);
int model_linear_counted_index(const Model *m, int i);   // -1 if not counted
// The counted trainable linears in forward order (what the paper measure
// sums and rank calibration probes); returns how many (<= max).
int model_counted_linears(const Model *m, LinearLayer **out, int max);

#endif
