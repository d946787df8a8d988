// llama_family.c: the Llama decoder as a model family (core/models/model.h): its presets and
// own `model:` keys, its sizes as the data and the config see them, the
// forwarding of the model operations to llama.c, its counted linears with
// their activation shapes (the paper measure of any method follows), and its
// cost model and memory plan from llama_cost.c.
#include "core/models/model.h"
#include "core/models/llama.h"
#include "core/models/llama_cost.h"
#include "core/models/model_params.h"
#include "core/runtime/rng.h"
#include "core/runtime/common.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

static const char *const llama_keys[] = {"config", NULL};

static int fam_preset(const char *name, ModelConfig *cfg) { return llama_preset(name, &cfg->llama); }
// model.config: a Hugging Face config.json over the preset's sizes.
static int fam_read_keys(ModelConfig *cfg, const char *preset, int from_preset, const ModelKeyReader *rd, char *config_path,
                         size_t cap) {
    (void)preset; (void)from_preset;
    int got = rd->read_path(rd->ctx, "config", config_path, cap);
    if (got <= 0) return got;
    WbError e = {{0}};
    if (llama_config_from_json(&cfg->llama, config_path, &e) < 0) {
        char msg[sizeof e.msg + 16];
        snprintf(msg, sizeof msg, "model.config: %s", e.msg);
        return rd->fail(rd->ctx, "config", msg);
    }
    return 0;
}
static void fam_describe(const ModelConfig *cfg, char *buf, size_t cap) {
    const LlamaConfig *l = &cfg->llama;
    snprintf(buf, cap, "  # llama: vocab %d, dim %d, hidden %d, layers %d, heads %d, kv_heads %d, length %d (dataset.max_length)\n",
             l->vocab, l->dim, l->hidden, l->layers, l->heads, l->kv_heads, l->seq_len);
}
static void fam_io(const ModelConfig *cfg, int *size, int *channels, int *classes) {
    *size = cfg->llama.seq_len; *channels = 0; *classes = cfg->llama.num_classes;
}
static void fam_set_classes(ModelConfig *cfg, int K) { cfg->llama.num_classes = K; }
static void fam_set_seq_len(ModelConfig *cfg, int T) { cfg->llama.seq_len = T; }
// Full-length sequences of ids other than the pad (the longest a batch gets: the peak).
static void fam_random_input(const ModelConfig *cfg, float *x, int B, Rng *g) {
    const LlamaConfig *l = &cfg->llama;
    for (size_t i = 0; i < (size_t)B * (size_t)l->seq_len; i++) {
        int id = (int)rng_below(g, (uint32_t)l->vocab);
        x[i] = (float)(id == l->pad_id ? (id + 1) % l->vocab : id);
    }
}
static int fam_fit_text(ModelConfig *cfg, int vocab, int pad_id, int num_classes, char *why, size_t cap) {
    LlamaConfig *l = &cfg->llama;
    if (vocab > l->vocab) {
        snprintf(why, cap, "has %d pieces but the model embeds only %d tokens (vocab_size)", vocab, l->vocab);
        return -1;
    }
    l->pad_id = pad_id;
    if (l->num_classes < 2) l->num_classes = num_classes;
    return 0;
}
// num_of_finetune counts decoder layers, as the authors' does.
static int fam_finetune_units(const ModelConfig *cfg, int all_linear) { (void)all_linear; return cfg->llama.layers; }
// k and v: NKV heads of C/NH rows, the smallest out features
static int fam_lora_rank_max(const ModelConfig *cfg) { return cfg->llama.kv_heads * (cfg->llama.dim / cfg->llama.heads); }
static void fam_act_rank_limits(const ModelConfig *cfg, int B, long lim[4], const char *what[4]) {
    lim[0] = B; lim[1] = cfg->llama.seq_len; lim[2] = wb_min(cfg->llama.dim, cfg->llama.hidden); lim[3] = 0;
    what[0] = "k1 (batch) must be <= training.batch_size";
    what[1] = "k2 (tokens) must be <= dataset.max_length";
    what[2] = "k3 (features) must be <= min(hidden_size, intermediate_size)";
    what[3] = "";
}

static void fam_build(void *self, const ModelConfig *cfg, const ModelBinding *bind, int B) { llama_build(self, &cfg->llama, bind, B); }
static void fam_free(void *self) { llama_free(self); }
static void fam_init_random(void *self, uint64_t seed) { llama_init_random(self, seed); }
static int fam_load(void *self, const char *path, int skip_head, uint64_t head_seed, WbError *err) {
    return llama_load(self, path, skip_head, head_seed, err);
}
static int fam_save(const void *self, const char *path, WbError *err) { return llama_save(self, path, err); }
static float fam_forward(void *self, const float *x, const int *targets, int B, int training) {
    return llama_forward(self, x, targets, B, training);
}
static void fam_backward(void *self) { llama_backward(self); }
static ModelParams fam_params(void *self) { return llama_params(self); }
static const float *fam_logits(const void *self) { return ((const Llama *)self)->logits; }
static ModelBinding *fam_binding(void *self) { return &((Llama *)self)->bind; }
static int fam_batch(const void *self) { return ((const Llama *)self)->B; }
static int fam_num_classes(const void *self) { return ((const Llama *)self)->cfg.num_classes; }
static ModelPaperMemory fam_paper_memory(const void *self) { return llama_paper_memory(self); }
static int fam_num_linears(const void *self) { return ((const Llama *)self)->cfg.layers * LLAMA_NLIN; }
static LinearLayer *fam_linear(const void *self, int i) { return &((const Llama *)self)->lin[i]; }
static int fam_counted_index(const void *self, int i) { return llama_counted_index(self, i / LLAMA_NLIN, i % LLAMA_NLIN); }

// The counted linears of the trained (last num_finetune) layers, each (B, T, I).
static int fam_counted_shapes(const ModelConfig *mc, int B, const ModelBinding *bind, LinearShape *out, int max) {
    const LlamaConfig *cfg = &mc->llama;
    const int C = cfg->dim, M = cfg->hidden, L = cfg->layers, T = cfg->seq_len;
    const int KV = cfg->kv_heads * (cfg->dim / cfg->heads);   // k and v rows: NKV heads of hd
    const int n_train = bind->num_finetune < 0 ? L : bind->num_finetune;
    CHECK(n_train >= 0 && n_train <= L, "num_finetune %d: the model has %d decoder layers", n_train, L);
    int n = 0;
    for (int l = L - n_train; l < L; l++)
        for (int w = 0; w < LLAMA_NLIN; w++) {
            if (!llama_linear_counted(bind, l, w)) continue;
            CHECK(n < max, "more than %d counted linears", max);
            const int I = w == LLAMA_DOWN ? M : C;
            out[n++] = (LinearShape){.O = (w == LLAMA_K || w == LLAMA_V) ? KV : (w == LLAMA_GATE || w == LLAMA_UP) ? M : C,
                                     .nd = 3, .dims = {B, T, I, 0}};
        }
    return n;
}

static FlopCount fam_step_flops(const ModelConfig *cfg, int B, int num_finetune, LinearCostFn lin, const void *ctx) {
    return llama_step_flops(&cfg->llama, B, num_finetune, lin, ctx);
}
static double fam_inference_flops(const ModelConfig *cfg, int B) { return llama_inference_flops(&cfg->llama, B); }
static MemPlan fam_memory_plan(const ModelConfig *cfg, int B, const ModelBinding *bind, const int *weight_ranks, int opt_state) {
    return llama_memory_plan(&cfg->llama, B, bind, weight_ranks, opt_state);
}

const ModelFamily llama_family = {
    .name = "llama",
    .help = "Llama-family decoder as LlamaForSequenceClassification, Hugging Face names (TinyLlama, or any size from a config.json)",
    .finetune_means = "decoder layers (the last N train)",
    .flags = MODEL_TEXT | MODEL_LAYERS_ATTENTION,
    .act_modes = 3,
    .act_modes_names = "B, T, I",
    .keys = llama_keys,
    .model_bytes = sizeof(Llama),
    .preset_names = llama_preset_names,
    .set_seq_len = fam_set_seq_len,
    .random_input = fam_random_input,
    .fit_text = fam_fit_text,
    .linear_counted = llama_linear_counted,
    MODEL_FAMILY_OPS,
    MODEL_FAMILY_COST_OPS,
};
