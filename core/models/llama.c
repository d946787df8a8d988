// llama.c: the Llama decoder as a sequence classifier (see llama.h):
// parameter layout with Hugging Face names, the saved-for-backward table,
// forward, backward, load/save.
//
// Positions. Every operation has a position in forward order:
//   0 embedding (model.embed_tokens)
//   layer l, base = 1 + 11 l: input_layernorm +0, q +1, k +2, v +3, rotary +
//     attention core +4, o_proj +5, post_attention_layernorm +6, gate +7,
//     up +8, SwiGLU +9, down +10
//   model.norm 1 + 11 L, score 2 + 11 L.
// p0 is the first trainable position; num_finetune counts decoder layers,
// so p0 is 0 (everything), the base of a layer, or model.norm's position.
// A layer at base >= p0 trains whole (its norms and linears) and saves for
// backward; the layers before it run as inference (nothing saved) and the
// backward stops at layer base == p0 (its input gradient is not needed).
// The final norm runs on the pooled token only (it is per-token, so this is
// HF's norm-then-pool), and score on the normed pooled token.
#include "core/models/llama.h"
#include "core/runtime/rng.h"
#include "core/nn/layers.h"
#include "core/nn/llama_layers.h"
#include "core/nn/linear_dense.h"
#include "core/runtime/memory.h"
#include "core/models/model_params.h"
#include "core/models/model_linears.h"
#include "core/io/safetensors.h"

#include <cJSON.h>
#include "core/io/json_tracked.h"
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#define POS_LAYER(l) (1 + 11 * (l))
#define POS_NORM(L) (1 + 11 * (L))
static const char *lin_suffix[LLAMA_NLIN] = {"self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj",
                                             "self_attn.o_proj", "mlp.gate_proj", "mlp.up_proj", "mlp.down_proj"};

typedef struct { const char *name; LlamaConfig c; } Preset;
static const Preset presets[] = {
    {"tinyllama_1_1b", {32000, 2048, 5632, 22, 32, 4, 1e-5f, 10000.0f, 2048, 128, 2, 2}},
    {"llama_micro", {256, 64, 128, 4, 4, 2, 1e-5f, 10000.0f, 512, 128, 2, 2}},
};

int llama_preset(const char *name, LlamaConfig *cfg) {
    for (size_t i = 0; i < sizeof presets / sizeof presets[0]; i++)
        if (!strcmp(presets[i].name, name)) { *cfg = presets[i].c; return 0; }
    return -1;
}

const char *llama_preset_names(void) { return "tinyllama_1_1b, llama_micro"; }

// --- config.json --------------------------------------------------------------------

static int json_number(const cJSON *root, const char *path, const char *key, double *v, WbError *err) {
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(root, key);
    if (!it) return wb_error(err, "'%s': missing key '%s'", path, key);
    if (!cJSON_IsNumber(it)) return wb_error(err, "'%s': key '%s' is not a number", path, key);
    *v = it->valuedouble;
    return 0;
}

static int json_int(const cJSON *root, const char *path, const char *key, int lo, int *dst, WbError *err) {
    double v;
    if (json_number(root, path, key, &v, err)) return -1;
    if (v != floor(v) || v < lo || v > 1e9)
        return wb_error(err, "'%s': key '%s' = %g is not an integer >= %d", path, key, v, lo);
    *dst = (int)v;
    return 0;
}

int llama_config_from_json(LlamaConfig *cfg, const char *path, WbError *err) {
    FILE *f = fopen(path, "rb");
    if (!f) return wb_error(err, "'%s': cannot open the model config: %s", path, strerror(errno));
    long size = fseek(f, 0, SEEK_END) == 0 ? ftell(f) : -1;
    if (size < 0 || size > (1L << 24)) { fclose(f); return wb_error(err, "'%s': cannot read the model config (size %ld)", path, size); }
    char *text = mem_alloc((size_t)size + 1, MEM_WORKSPACE);
    int got = fseek(f, 0, SEEK_SET) == 0 && fread(text, 1, (size_t)size, f) == (size_t)size;
    fclose(f);
    if (!got) { mem_free(text); return wb_error(err, "'%s': cannot read the model config", path); }
    json_tracked_begin(MEM_WORKSPACE);
    cJSON *root = cJSON_ParseWithLength(text, (size_t)size);
    LlamaConfig c = *cfg;
    double eps = 0, theta = 0;
    int rc = 0;
    if (!root || !cJSON_IsObject(root)) rc = wb_error(err, "'%s': not a JSON object (expected a Hugging Face config.json)", path);
    if (rc == 0) rc = json_int(root, path, "vocab_size", 1, &c.vocab, err);
    if (rc == 0) rc = json_int(root, path, "hidden_size", 1, &c.dim, err);
    if (rc == 0) rc = json_int(root, path, "intermediate_size", 1, &c.hidden, err);
    if (rc == 0) rc = json_int(root, path, "num_hidden_layers", 1, &c.layers, err);
    if (rc == 0) rc = json_int(root, path, "num_attention_heads", 1, &c.heads, err);
    if (rc == 0) rc = json_int(root, path, "num_key_value_heads", 1, &c.kv_heads, err);
    if (rc == 0) rc = json_int(root, path, "max_position_embeddings", 1, &c.max_pos, err);
    if (rc == 0) rc = json_number(root, path, "rms_norm_eps", &eps, err);
    if (rc == 0 && !(eps > 0 && eps < 1)) rc = wb_error(err, "'%s': key 'rms_norm_eps' = %g is not in (0, 1)", path, eps);
    if (rc == 0) rc = json_number(root, path, "rope_theta", &theta, err);
    if (rc == 0 && !(theta > 1)) rc = wb_error(err, "'%s': key 'rope_theta' = %g is not > 1", path, theta);
    if (rc == 0 && (c.dim % c.heads || (c.dim / c.heads) % 2))
        rc = wb_error(err, "'%s': hidden_size %d is not num_attention_heads %d times an even head size", path, c.dim, c.heads);
    if (rc == 0 && c.heads % c.kv_heads)
        rc = wb_error(err, "'%s': num_attention_heads %d is not a multiple of num_key_value_heads %d", path, c.heads, c.kv_heads);
    cJSON_Delete(root);
    json_tracked_end();
    mem_free(text);
    if (rc) return -1;
    c.rms_eps = (float)eps;
    c.rope_theta = (float)theta;
    *cfg = c;
    return 0;
}

size_t llama_num_params(const LlamaConfig *c) {
    const size_t C = (size_t)c->dim, M = (size_t)c->hidden, kvd = (size_t)c->kv_heads * (C / (size_t)c->heads);
    const size_t layer = 2 * C + 2 * C * C + 2 * C * kvd + 3 * C * M;   // 2 norms, q o, k v, gate up down
    return (size_t)c->vocab * C + (size_t)c->layers * layer + C + (size_t)c->num_classes * C;
}

// --- binding ------------------------------------------------------------------------

// The counted rule: layers mlp (all_linear 0) gate, up, down; all_linear (1) all seven; attention (2) q, k, v, o.
int llama_linear_counted(const ModelBinding *bind, int layer, int which) {
    (void)layer;
    switch (bind->all_linear) {
    case 1: return 1;
    case 2: return which <= LLAMA_O;
    default: return which >= LLAMA_GATE;
    }
}
int llama_is_counted(const Llama *m, int layer, int which) { return llama_linear_counted(&m->bind, layer, which); }

int llama_counted_index(const Llama *m, int layer, int which) {
    if (!llama_is_counted(m, layer, which)) return -1;
    int idx = 0;
    for (int l = 0; l <= layer; l++)
        for (int w = 0; w < LLAMA_NLIN; w++) {
            if (l == layer && w == which) return idx;
            idx += llama_is_counted(m, l, w);
        }
    return -1;
}

static LinearLayer *LIN(const Llama *m, int l, int which) { return &m->lin[l * LLAMA_NLIN + which]; }

static int first_trainable_position(const Llama *m) {
    const int n = m->bind.num_finetune, L = m->cfg.layers;
    if (n < 0) return 0;
    CHECK(n <= L, "num_of_finetune = %d but the model has only %d decoder layers", n, L);
    return n == 0 ? POS_NORM(L) : POS_LAYER(L - n);
}

// --- parameters ---------------------------------------------------------------------

static void declare(Llama *m, const char *name, int pos, int ndim, const int *shape) {
    params_declare(pos >= m->p0 ? &m->train : &m->frozen, name, ndim, shape);
}
static float *P(const Llama *m, const char *name) { return model_param(&m->train, &m->frozen, name); }
static float *G(const Llama *m, const char *name) { return model_grad(&m->train, name); }   // NULL when frozen
static void layer_name(char *dst, size_t n, int l, const char *suffix) {
    CHECK(strlen(suffix) + 32 < n, "name buffer too small for %s", suffix);
    snprintf(dst, n, "model.layers.%d.%s", l, suffix);
}

static void alloc_layer_acts(LlamaLayerActs *a, const LlamaConfig *c, int B, int T, int kvd) {
    const size_t BT = (size_t)B * T, BTC = BT * c->dim, BTK = BT * kvd, BTM = BT * c->hidden;
    a->x_in = mem_alloc_floats(BTC, MEM_ACTIVATIONS); a->rstd1 = mem_alloc_floats(BT, MEM_ACTIVATIONS);
    a->q = mem_alloc_floats(BTC, MEM_ACTIVATIONS);
    a->k = mem_alloc_floats(BTK, MEM_ACTIVATIONS); a->v = mem_alloc_floats(BTK, MEM_ACTIVATIONS);
    a->att = mem_alloc_floats((size_t)B * c->heads * T * T, MEM_ACTIVATIONS);
    a->x_mid = mem_alloc_floats(BTC, MEM_ACTIVATIONS); a->rstd2 = mem_alloc_floats(BT, MEM_ACTIVATIONS);
    a->gate = mem_alloc_floats(BTM, MEM_ACTIVATIONS); a->up = mem_alloc_floats(BTM, MEM_ACTIVATIONS);
}

void llama_build(Llama *m, const LlamaConfig *cfg, const LlamaBinding *bind, int B) {
    memset(m, 0, sizeof *m);
    m->cfg = *cfg;
    m->bind = *bind;
    m->B = B;
    const int C = cfg->dim, M = cfg->hidden, L = cfg->layers, K = cfg->num_classes, NH = cfg->heads, T = cfg->seq_len;
    CHECK(C % NH == 0 && (C / NH) % 2 == 0, "dim %d is not heads %d times an even head size", C, NH);
    CHECK(cfg->kv_heads > 0 && NH % cfg->kv_heads == 0, "heads %d not a multiple of kv_heads %d", NH, cfg->kv_heads);
    CHECK(T >= 1 && T <= cfg->max_pos, "seq_len %d outside [1, max_position_embeddings %d]", T, cfg->max_pos);
    CHECK(cfg->pad_id >= 0 && cfg->pad_id < cfg->vocab, "pad_id %d outside the vocabulary (%d)", cfg->pad_id, cfg->vocab);
    m->T = T;
    m->hd = C / NH;
    m->kvd = cfg->kv_heads * m->hd;
    m->p0 = first_trainable_position(m);

    params_init(&m->train, 1);
    params_init(&m->frozen, 0);
    char nm[PARAM_NAME_MAX];
    declare(m, "model.embed_tokens.weight", 0, 2, (int[]){cfg->vocab, C});
    for (int l = 0; l < L; l++) {
        layer_name(nm, sizeof nm, l, "input_layernorm.weight"); declare(m, nm, POS_LAYER(l), 1, (int[]){C});
        layer_name(nm, sizeof nm, l, "post_attention_layernorm.weight"); declare(m, nm, POS_LAYER(l) + 6, 1, (int[]){C});
    }
    declare(m, "model.norm.weight", POS_NORM(L), 1, (int[]){C});
    params_declare(&m->train, "score.weight", 2, (int[]){K, C});
    params_alloc(&m->train);
    params_alloc(&m->frozen);

    // Linears: counted ones in trainable layers get the method under study, the rest are dense.
    static const int lin_in_is_m[LLAMA_NLIN] = {0, 0, 0, 0, 0, 0, 1};
    m->lin = mem_alloc(sizeof(LinearLayer) * (size_t)L * LLAMA_NLIN, MEM_WORKSPACE);
    for (int l = 0; l < L; l++)
        for (int w = 0; w < LLAMA_NLIN; w++) {
            LinearLayer *Ln = LIN(m, l, w);
            Ln->trainable = POS_LAYER(l) >= m->p0;
            Ln->method = (llama_is_counted(m, l, w) && Ln->trainable && bind->method) ? bind->method : &linear_dense_method;
            Ln->no_bias = 1;
            layer_name(Ln->name, sizeof Ln->name, l, lin_suffix[w]);
            Ln->I = lin_in_is_m[w] ? M : C;
            Ln->O = (w == LLAMA_K || w == LLAMA_V) ? m->kvd : (w == LLAMA_GATE || w == LLAMA_UP) ? M : C;
            Ln->max_rows = (long)B * T;
            Ln->rows = Ln->max_rows;
            Ln->ndim = 3;
            Ln->dims[0] = B; Ln->dims[1] = T; Ln->dims[2] = Ln->I;
        }

    m->acts = mem_alloc(sizeof(LlamaLayerActs) * (size_t)L, MEM_WORKSPACE);
    for (int l = 0; l < L; l++)
        if (POS_LAYER(l) >= m->p0) alloc_layer_acts(&m->acts[l], cfg, B, T, m->kvd);
    m->xf = mem_alloc_floats((size_t)B * C, MEM_ACTIVATIONS);
    m->xfn = mem_alloc_floats((size_t)B * C, MEM_ACTIVATIONS);
    m->rstdf = mem_alloc_floats(B, MEM_ACTIVATIONS);
    m->probs = mem_alloc_floats((size_t)B * K, MEM_ACTIVATIONS);
    // token ids: what the embedding's backward scatters by (activations only when it trains)
    m->ids = mem_alloc(sizeof(int) * (size_t)B * T, m->p0 == 0 ? MEM_ACTIVATIONS : MEM_WORKSPACE);
    m->len = mem_alloc(sizeof(int) * (size_t)B, MEM_WORKSPACE);

    const size_t BT = (size_t)B * T, BTC = BT * C, BTK = BT * m->kvd, BTM = BT * M, att = (size_t)B * NH * T * T;
    m->rope_cos = mem_alloc_floats((size_t)T * m->hd / 2, MEM_WORKSPACE);
    m->rope_sin = mem_alloc_floats((size_t)T * m->hd / 2, MEM_WORKSPACE);
    rope_table(m->rope_cos, m->rope_sin, T, m->hd, cfg->rope_theta);
    m->logits = mem_alloc_floats((size_t)B * K, MEM_WORKSPACE);
    float **bnc[] = {&m->xa, &m->xb, &m->ln_out, &m->ws_q, &m->att_out, &m->tmp, &m->dres, &m->dln, &m->dqp};
    for (size_t i = 0; i < sizeof bnc / sizeof bnc[0]; i++) *bnc[i] = mem_alloc_floats(BTC, MEM_WORKSPACE);
    float **bnk[] = {&m->ws_k, &m->ws_v, &m->dkp};
    for (size_t i = 0; i < sizeof bnk / sizeof bnk[0]; i++) *bnk[i] = mem_alloc_floats(BTK, MEM_WORKSPACE);
    float **bnm[] = {&m->ws_gate, &m->ws_up, &m->act};
    for (size_t i = 0; i < sizeof bnm / sizeof bnm[0]; i++) *bnm[i] = mem_alloc_floats(BTM, MEM_WORKSPACE);
    m->ws_att = mem_alloc_floats(att, MEM_WORKSPACE);
    m->datt = mem_alloc_floats(att, MEM_WORKSPACE);
    m->ws_rstd = mem_alloc_floats(BT, MEM_WORKSPACE);
    // Backward's buffers over forward scratch that backward never reads (it
    // reads the saved acts; the linears keep their own inputs): o_proj's
    // input, q, k, v, gate, up and the SwiGLU output.
    m->datt_out = m->att_out;
    m->dq = m->ws_q; m->dk = m->ws_k; m->dv = m->ws_v;
    m->dgate = m->ws_gate; m->dup = m->ws_up; m->dact = m->act;
    m->dxf = mem_alloc_floats((size_t)B * C, MEM_WORKSPACE);
    m->dxfn = mem_alloc_floats((size_t)B * C, MEM_WORKSPACE);
    m->dlogits = mem_alloc_floats((size_t)B * K, MEM_WORKSPACE);
    m->targets = mem_alloc(sizeof(int) * (size_t)B, MEM_WORKSPACE);
}

void llama_free(Llama *m) {
    model_linears_free(m->lin, m->cfg.layers * LLAMA_NLIN);
    for (int l = 0; l < m->cfg.layers; l++) {
        LlamaLayerActs *a = &m->acts[l];
        float *bufs[] = {a->x_in, a->rstd1, a->q, a->k, a->v, a->att, a->x_mid, a->rstd2, a->gate, a->up};
        for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++) mem_free(bufs[i]);
    }
    mem_free(m->acts);
    float *bufs[] = {m->xf, m->xfn, m->rstdf, m->probs, m->rope_cos, m->rope_sin, m->logits, m->xa, m->xb, m->ln_out,
                     m->ws_q, m->att_out, m->tmp, m->dres, m->dln, m->dqp, m->ws_k, m->ws_v, m->dkp, m->ws_gate,
                     m->ws_up, m->act, m->ws_att, m->datt, m->ws_rstd, m->dxf, m->dxfn, m->dlogits};
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++) mem_free(bufs[i]);
    mem_free(m->ids); mem_free(m->len); mem_free(m->targets);
    params_free(&m->train);
    params_free(&m->frozen);
    memset(m, 0, sizeof *m);
}

// --- initialisation and files -------------------------------------------------------

static int counted_index_of(const void *ctx, int i) { return llama_counted_index(ctx, i / LLAMA_NLIN, i % LLAMA_NLIN); }

void llama_init_random(Llama *m, uint64_t seed) {
    model_init_random_all(&m->train, &m->frozen, m->lin, m->cfg.layers * LLAMA_NLIN, &m->bind, counted_index_of, m, seed, "norm");
}

// Tensors the classifier does not use (lm_head.weight) are never asked for.
int llama_load(Llama *m, const char *path, int skip_head, uint64_t head_seed, WbError *err) {
    return model_load_named(&m->train, &m->frozen, m->lin, m->cfg.layers * LLAMA_NLIN, &m->bind, counted_index_of, m, path, "score.",
                            skip_head, head_seed, err);
}

int llama_save(const Llama *m, const char *path, WbError *err) {
    StWriter w;
    st_writer_init(&w);
    const ParamSet *sets[2] = {&m->train, &m->frozen};
    model_sets_save(&w, sets, 2);
    float *buf = model_linears_save(&w, m->lin, m->cfg.layers * LLAMA_NLIN);
    st_writer_meta(&w, "format", "pt");
    st_writer_meta(&w, "producer", "wasibench");
    int rc = st_writer_save(&w, path, err);
    st_writer_free(&w);
    mem_free(buf);
    return rc;
}

// --- forward ------------------------------------------------------------------------

static float *other(const Llama *m, const float *avoid) { return avoid == m->xa ? m->xb : m->xa; }

// Layer l: x (B,T,C) -> its output (xn_keep, or a ping-pong buffer). A
// trainable layer in a training forward keeps what backward needs in acts[l].
static float *layer_forward(Llama *m, int l, const float *x, float *xn_keep, int B, int training) {
    const LlamaConfig *c = &m->cfg;
    const LlamaLayerActs *a = &m->acts[l];
    const int T = m->T, C = c->dim, M = c->hidden, BT = B * T, save = training && a->x_in;
    const int dims[3] = {B, T, C}, dims_m[3] = {B, T, M};
    #define ACT(field, ws) (save ? a->field : (ws))
    char nm[PARAM_NAME_MAX];
    layer_name(nm, sizeof nm, l, "input_layernorm.weight");
    rmsnorm_forward(m->ln_out, ACT(rstd1, m->ws_rstd), x, P(m, nm), BT, C, c->rms_eps);
    float *q = ACT(q, m->ws_q), *k = ACT(k, m->ws_k), *v = ACT(v, m->ws_v);
    float *qkv[3] = {q, k, v};
    for (int w = LLAMA_Q; w <= LLAMA_V; w++) {
        LinearLayer *L = LIN(m, l, w);
        L->method->forward(L, qkv[w], m->ln_out, dims, 3, training);
    }
    rope_forward(q, q, m->rope_cos, m->rope_sin, B, T, c->heads, m->hd);
    rope_forward(k, k, m->rope_cos, m->rope_sin, B, T, c->kv_heads, m->hd);
    gqa_attention_forward(m->att_out, ACT(att, m->ws_att), q, k, v, m->len, B, T, c->heads, c->kv_heads, m->hd);
    LinearLayer *Lo = LIN(m, l, LLAMA_O);
    Lo->method->forward(Lo, m->tmp, m->att_out, dims, 3, training);
    float *xm = ACT(x_mid, other(m, x));
    residual_forward(xm, x, m->tmp, (long)BT * C);

    layer_name(nm, sizeof nm, l, "post_attention_layernorm.weight");
    rmsnorm_forward(m->ln_out, ACT(rstd2, m->ws_rstd), xm, P(m, nm), BT, C, c->rms_eps);
    float *g = ACT(gate, m->ws_gate), *u = ACT(up, m->ws_up);
    LinearLayer *Lg = LIN(m, l, LLAMA_GATE), *Lu = LIN(m, l, LLAMA_UP), *Ld = LIN(m, l, LLAMA_DOWN);
    Lg->method->forward(Lg, g, m->ln_out, dims, 3, training);
    Lu->method->forward(Lu, u, m->ln_out, dims, 3, training);
    swiglu_forward(m->act, g, u, (long)BT * M);
    Ld->method->forward(Ld, m->tmp, m->act, dims_m, 3, training);
    #undef ACT
    float *xn = xn_keep ? xn_keep : other(m, xm);
    residual_forward(xn, xm, m->tmp, (long)BT * C);
    return xn;
}

float llama_forward(Llama *m, const float *tok, const int *targets, int B, int training) {
    const LlamaConfig *c = &m->cfg;
    const int T = m->T, C = c->dim, L = c->layers, K = c->num_classes;
    CHECK(B >= 1 && B <= m->B, "batch %d larger than the model's buffers (%d)", B, m->B);
    m->Bcur = B;
    m->training = training;
    for (int b = 0; b < B; b++) {
        m->len[b] = T;
        for (int t = T - 1; t >= 0; t--) {
            float f = tok[(size_t)b * T + t];
            CHECK(f >= 0.0f && f < (float)c->vocab && f == floorf(f), "sequence %d position %d: token %g is not an id in [0, %d)",
                  b, t, (double)f, c->vocab);
            m->ids[(size_t)b * T + t] = (int)f;
            if ((int)f == c->pad_id) m->len[b] = t;   // scanning backwards: ends at the first pad
        }
        CHECK(m->len[b] >= 1, "sequence %d starts with the pad token %d (an empty sequence)", b, c->pad_id);
    }
    float *x = (training && m->acts[0].x_in) ? m->acts[0].x_in : m->xa;
    embedding_forward(x, m->ids, P(m, "model.embed_tokens.weight"), B * T, c->vocab, C);
    for (int l = 0; l < L; l++) {
        float *keep = (training && l + 1 < L) ? m->acts[l + 1].x_in : NULL;
        x = layer_forward(m, l, x, keep, B, training);
    }
    last_token_forward(m->xf, x, m->len, B, T, C);
    rmsnorm_forward(m->xfn, m->rstdf, m->xf, P(m, "model.norm.weight"), B, C, c->rms_eps);
    linear_forward(m->logits, m->xfn, P(m, "score.weight"), NULL, B, C, K);
    if (!targets) return 0.0f;
    memcpy(m->targets, targets, sizeof(int) * (size_t)B);
    return crossentropy_forward(m->probs, m->logits, targets, B, K);
}

// --- backward -----------------------------------------------------------------------

static void zero(float *p, size_t n) { memset(p, 0, sizeof(float) * n); }

void llama_backward(Llama *m) {
    CHECK(m->training, "llama_backward after a forward with training = 0");
    const LlamaConfig *c = &m->cfg;
    const int B = m->Bcur, T = m->T, C = c->dim, M = c->hidden, L = c->layers, K = c->num_classes, p0 = m->p0;
    const int NH = c->heads, NKV = c->kv_heads, hd = m->hd;
    const size_t BT = (size_t)B * T, BTC = BT * C, BTK = BT * m->kvd, BTM = BT * M;
    m->grads_clear = 0;   // gradients accumulate from here on

    zero(m->dlogits, (size_t)B * K);
    crossentropy_backward(m->dlogits, m->probs, m->targets, B, K);
    zero(m->dxfn, (size_t)B * C);
    linear_backward(m->dxfn, G(m, "score.weight"), NULL, m->dlogits, m->xfn, P(m, "score.weight"), B, C, K);
    const int more = p0 < POS_NORM(L);   // a decoder layer trains
    if (more) zero(m->dxf, (size_t)B * C);
    rmsnorm_backward(more ? m->dxf : NULL, G(m, "model.norm.weight"), m->dxfn, m->xf, P(m, "model.norm.weight"),
                     m->rstdf, B, C);
    if (!more) return;
    zero(m->dres, BTC);
    last_token_backward(m->dres, m->dxf, m->len, B, T, C);

    char nm[PARAM_NAME_MAX];
    for (int l = L - 1; l >= 0; l--) {
        const LlamaLayerActs *a = &m->acts[l];
        const int base = POS_LAYER(l);
        // MLP: x_out = x_mid + down(silu(gate(n)) * up(n)), n = post_attention_layernorm(x_mid); dres = d x_out
        LinearLayer *Lg = LIN(m, l, LLAMA_GATE), *Lu = LIN(m, l, LLAMA_UP), *Ld = LIN(m, l, LLAMA_DOWN);
        zero(m->dact, BTM);
        Ld->method->backward(Ld, m->dact, m->dres);
        zero(m->dgate, BTM); zero(m->dup, BTM);
        swiglu_backward(m->dgate, m->dup, m->dact, a->gate, a->up, (long)BTM);
        zero(m->dln, BTC);
        Lg->method->backward(Lg, m->dln, m->dgate);
        Lu->method->backward(Lu, m->dln, m->dup);
        layer_name(nm, sizeof nm, l, "post_attention_layernorm.weight");
        rmsnorm_backward(m->dres, G(m, nm), m->dln, a->x_mid, P(m, nm), a->rstd2, (int)BT, C);
        // Attention: x_mid = x_in + o(attn(rope(q(n)), rope(k(n)), v(n))), n = input_layernorm(x_in); dres = d x_mid
        LinearLayer *Lo = LIN(m, l, LLAMA_O);
        zero(m->datt_out, BTC);
        Lo->method->backward(Lo, m->datt_out, m->dres);
        zero(m->dq, BTC); zero(m->dk, BTK); zero(m->dv, BTK);
        gqa_attention_backward(m->dq, m->dk, m->dv, m->datt, m->datt_out, a->q, a->k, a->v, a->att, B, T, NH, NKV, hd);
        zero(m->dqp, BTC); zero(m->dkp, BTK);
        rope_backward(m->dqp, m->dq, m->rope_cos, m->rope_sin, B, T, NH, hd);
        rope_backward(m->dkp, m->dk, m->rope_cos, m->rope_sin, B, T, NKV, hd);
        zero(m->dln, BTC);
        float *dqkv[3] = {m->dqp, m->dkp, m->dv};
        for (int w = LLAMA_Q; w <= LLAMA_V; w++) {
            LinearLayer *Lw = LIN(m, l, w);
            Lw->method->backward(Lw, m->dln, dqkv[w]);
        }
        const int need = base > p0;   // does anything before this layer train?
        layer_name(nm, sizeof nm, l, "input_layernorm.weight");
        rmsnorm_backward(need ? m->dres : NULL, G(m, nm), m->dln, a->x_in, P(m, nm), a->rstd1, (int)BT, C);
        if (!need) break;
    }
    if (p0 > 0) return;
    embedding_backward(G(m, "model.embed_tokens.weight"), m->dres, m->ids, (int)BT, C);
}

// --- parameters, accounting ---------------------------------------------------------

ModelParams llama_params(Llama *m) {
    ModelParams mp = {&m->train, m->lin, m->cfg.layers * LLAMA_NLIN, &m->grads_clear};
    return mp;
}

static int counted_linear(const void *ctx, int i) { return llama_is_counted(ctx, i / LLAMA_NLIN, i % LLAMA_NLIN); }

LlamaPaperMemory llama_paper_memory(const Llama *m) {
    return mparams_paper_memory(m->lin, m->cfg.layers * LLAMA_NLIN, counted_linear, m);
}
