// model.h: one interface over the models of the harness (the ViT of vit.h,
// the Swin of swin.h and the Llama decoder of llama.h), so the trainer, the runner, the rank calibration
// and the benches can drive either without knowing which. A thin dispatch
// layer: every call forwards to the vit_*, swin_* or llama_* function of the same
// name; nothing is copied. Both models bind their linears the same way
// (ViTBinding) and report the same paper measure (ViTPaperMemory).
// Lifecycle: model_build -> model_init_random | model_load ->
// (model_forward, model_backward, model_update)* -> model_free.
#ifndef WB_MODEL_H
#define WB_MODEL_H

#include "core/models/llama.h"
#include "core/models/swin.h"
#include "core/models/vit.h"

typedef enum { MODEL_VIT = 1, MODEL_SWIN = 2, MODEL_LLAMA = 3 } ModelKind;

typedef struct {
    ModelKind kind;
    ViTConfig vit;     // when kind == MODEL_VIT
    SwinConfig swin;   // when kind == MODEL_SWIN
    LlamaConfig llama; // when kind == MODEL_LLAMA
} ModelConfig;

typedef ViTBinding ModelBinding;
typedef ViTPaperMemory ModelPaperMemory;

typedef struct {
    ModelKind kind;
    union { ViT vit; Swin swin; Llama llama; } u;
} Model;

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
