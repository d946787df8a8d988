// llama.h: a Llama-family decoder (TinyLlama, Llama 2 shapes, any size from
// a Hugging Face config.json) as LlamaForSequenceClassification: token
// embedding, per layer RMSNorm -> grouped-query causal self-attention with
// rotary positions and a key-padding mask -> residual -> RMSNorm -> SwiGLU
// MLP (gate, up, down) -> residual; final RMSNorm; the score head (no bias)
// on the last non-padding token. Parameter names are exactly Hugging Face's
// (model.embed_tokens.weight, model.layers.N.self_attn.q_proj.weight, ...,
// model.norm.weight, score.weight), so the model loads the real files.
// The linears inside the layers (q, k, v, o, gate, up, down; no bias) are
// LinearLayer objects bound to a LinearMethod, as in the ViT.
// Input: a batch of B sequences of T token ids, passed as floats (exact
// below 2^24) in the model_forward image slot; padding is on the right with
// cfg.pad_id, and a sequence's length is the index of its first pad (T if
// none): keys at or after it are masked, and the head reads its last token.
// Lifecycle: llama_build -> llama_init_random | llama_load -> (llama_forward,
// llama_backward, mparams_update(llama_params(m), ...))* -> llama_free.
#ifndef WB_LLAMA_H
#define WB_LLAMA_H

#include "core/runtime/common.h"
#include "core/nn/linear_method.h"
#include "core/train/params.h"
#include "core/models/model_binding.h"

typedef struct {
    int vocab;          // V  vocab_size
    int dim;            // C  hidden_size
    int hidden;         // M  intermediate_size
    int layers;         // L  num_hidden_layers
    int heads;          // NH num_attention_heads (head size hd = C / NH)
    int kv_heads;       // NKV num_key_value_heads (NH % NKV == 0; NH/NKV query heads share one k, v)
    float rms_eps;      // rms_norm_eps
    float rope_theta;   // rope_theta (10000)
    int max_pos;        // max_position_embeddings: T must not exceed it
    int seq_len;        // T: the length every batch item is padded / truncated to
    int pad_id;         // pad_token_id (TinyLlama: </s> = 2, as the authors set it)
    int num_classes;    // K: rows of score.weight
} LlamaConfig;

// Presets: tinyllama_1_1b (TinyLlama-1.1B-Chat-v1.0: V 32000, C 2048,
// M 5632, L 22, NH 32, NKV 4, eps 1e-5, theta 10000, 2048 positions),
// llama_micro (tests/demo: V 256, C 64, M 128, L 4, NH 4, NKV 2). seq_len
// 128, pad 2, 2 classes. Returns -1 for an unknown name.
int llama_preset(const char *name, LlamaConfig *cfg);
const char *llama_preset_names(void);
// Fill the architecture from a Hugging Face config.json (the keys above;
// a missing key or a wrong type is an error naming the file and the key).
// seq_len, pad_id and num_classes are left as they were.
int llama_config_from_json(LlamaConfig *cfg, const char *path, WbError *err);
// Parameters of the classifier (embedding, layers, final norm, score (K,C);
// no lm_head, no biases) in closed form, without building the model.
size_t llama_num_params(const LlamaConfig *cfg);

// Linears of every decoder layer, in forward order.
enum { LLAMA_Q = 0, LLAMA_K, LLAMA_V, LLAMA_O, LLAMA_GATE, LLAMA_UP, LLAMA_DOWN, LLAMA_NLIN };

// Binding (ModelBinding): all_linear 0 counts gate, up, down (layers: mlp);
// 1 all seven (layers: all_linear); 2 q, k, v, o (layers: attention).
// num_finetune counts DECODER LAYERS here, as the authors' num_of_finetune
// does for TinyLlama: -1 = all; n = the last n layers, the final norm and
// the head train, everything before is frozen (no gradient, nothing saved).
typedef ModelBinding LlamaBinding;
typedef ModelPaperMemory LlamaPaperMemory;

// What a trainable decoder layer saves for backward (category activations;
// frozen layers save nothing: all NULL). q and k are saved after the rotation.
typedef struct {
    float *x_in, *rstd1;        // (B,T,C), (B,T)  input_layernorm input and stats
    float *q, *k, *v, *att;     // (B,T,C), (B,T,NKV*hd) x2, (B,NH,T,T)
    float *x_mid, *rstd2;       // (B,T,C), (B,T)  post_attention_layernorm input and stats
    float *gate, *up;           // (B,T,M) x2      gate_proj, up_proj outputs (SwiGLU inputs)
} LlamaLayerActs;

typedef struct Llama {
    LlamaConfig cfg;
    LlamaBinding bind;
    int B;             // batch size the buffers are sized for (forward takes any B' <= B)
    int T, hd, kvd;    // seq_len, head size C/NH, k/v width NKV*hd
    int Bcur;          // batch size of the last forward
    int p0;            // first trainable position in forward order (see llama.c)
    int training;      // last forward saved for backward
    int grads_clear;   // every gradient is 0 (core/models/model_params.h)

    ParamSet train;    // trainable non-linear parameters (Hugging Face names)
    ParamSet frozen;   // frozen non-linear parameters
    LinearLayer *lin;  // (layers, LLAMA_NLIN)

    LlamaLayerActs *acts;   // (layers)
    int *ids, *len;         // (B,T) token ids, (B) lengths of the last forward
    float *rope_cos, *rope_sin;             // (T, hd/2) built once
    float *xf, *xfn, *rstdf, *probs;        // (B,C) pooled, (B,C) normed, (B), (B,K)
    float *logits;                          // (B,K)
    // workspace (shared across layers); the backward ones alias forward scratch backward never reads
    float *xa, *xb, *ln_out, *ws_q, *ws_k, *ws_v, *ws_att, *att_out, *tmp, *ws_gate, *ws_up, *act, *ws_rstd;
    float *dres, *dln, *datt_out, *dq, *dqp, *dk, *dkp, *dv, *datt, *dact, *dgate, *dup, *dxf, *dxfn, *dlogits;
    int *targets;      // (B)
} Llama;

void llama_build(Llama *m, const LlamaConfig *cfg, const LlamaBinding *bind, int B);
void llama_free(Llama *m);
void llama_init_random(Llama *m, uint64_t seed);
// Load Hugging Face-named weights from a safetensors file, or a sharded
// checkpoint's model.safetensors.index.json. skip_head = 1 keeps score.weight
// random (a new head). Returns -1 with err set as vit_load does.
int llama_load(Llama *m, const char *path, int skip_head, uint64_t head_seed, WbError *err);
int llama_save(const Llama *m, const char *path, WbError *err);

// tok (B,T) token ids as floats -> logits (B,K) = m->logits. training = 1
// saves for backward. With targets != NULL returns the mean cross-entropy.
float llama_forward(Llama *m, const float *tok, const int *targets, int B, int training);
void llama_backward(Llama *m);
struct ModelParams llama_params(Llama *m);
LlamaPaperMemory llama_paper_memory(const Llama *m);
// The counted-linear rule on a binding alone (the family and the cost model ask it).
int llama_linear_counted(const ModelBinding *bind, int block, int which);
int llama_is_counted(const Llama *m, int layer, int which);
int llama_counted_index(const Llama *m, int layer, int which);

#endif
