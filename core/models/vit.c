// vit.c: the ViT model (see vit.h): parameter layout with torchvision
// names, the saved-for-backward table, forward, backward, update, load/save.
//
// Positions. Every operation has a position in forward order:
//   0 embedding (conv_proj, class_token, pos_embedding)
//   block l, base = 1 + 10 l: ln_1 +0, q +1, k +2, v +3, attention core +4,
//     out_proj +5, ln_2 +6, fc1 (mlp.0) +7, GELU +8, fc2 (mlp.3) +9
//   encoder.ln 1 + 10 depth, heads.head 2 + 10 depth.
// p0 is the first trainable position. An operation at p >= p0 saves for
// backward ("active"); it needs to produce its input gradient only if
// p > p0; parameters at p >= p0 are trainable (the head always is).
#include "core/models/vit.h"
#include "core/linalg/half.h"
#include "core/nn/layers.h"
#include "core/nn/linear_dense.h"
#include "core/runtime/counters.h"
#include "core/runtime/memory.h"
#include "core/models/model_params.h"
#include "core/runtime/rng.h"
#include "core/io/safetensors.h"
#include "core/models/model_linears.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#define POS_BLOCK(l) (1 + 10 * (l))
static const int lin_offset[VIT_NLIN] = {1, 2, 3, 5, 7, 9};
static const char *lin_suffix[VIT_NLIN] = {"self_attention.q", "self_attention.k", "self_attention.v",
                                           "self_attention.out_proj", "mlp.0", "mlp.3"};

typedef struct { const char *name; ViTConfig c; } Preset;
static const Preset presets[] = {
    {"vit_b_32", {224, 32, 3, 768, 12, 12, 3072, 1000, 1e-6f, 0, 0, 0}},
    {"vit_b_16", {224, 16, 3, 768, 12, 12, 3072, 1000, 1e-6f, 0, 0, 0}},
    {"vit_l_32", {224, 32, 3, 1024, 24, 16, 4096, 1000, 1e-6f, 0, 0, 0}},
    {"vit_small_32", {224, 32, 3, 384, 12, 6, 1536, 1000, 1e-6f, 0, 0, 0}},
    {"vit_small_16", {224, 16, 3, 384, 12, 6, 1536, 1000, 1e-6f, 0, 0, 0}},
    {"vit_tiny_32", {224, 32, 3, 192, 12, 3, 768, 1000, 1e-6f, 0, 0, 0}},
    {"vit_tiny_16", {224, 16, 3, 192, 12, 3, 768, 1000, 1e-6f, 0, 0, 0}},
    {"vit_micro", {32, 8, 3, 64, 4, 4, 128, 10, 1e-6f, 0, 0, 0}},
};

int vit_preset(const char *name, ViTConfig *cfg) {
    for (size_t i = 0; i < sizeof presets / sizeof presets[0]; i++)
        if (!strcmp(presets[i].name, name)) { *cfg = presets[i].c; return 0; }
    return -1;
}

const char *vit_preset_names(void) {
    return "vit_b_32, vit_b_16, vit_l_32, vit_small_32, vit_small_16, vit_tiny_32, vit_tiny_16, vit_micro";
}

// The counted rule (layers: mlp counts fc1, fc2; all_linear every linear).
int vit_linear_counted(const ModelBinding *bind, int block, int which) {
    (void)block;
    return which == VIT_FC1 || which == VIT_FC2 || bind->all_linear;
}
int vit_is_counted(const ViT *m, int block, int which) { return vit_linear_counted(&m->bind, block, which); }

static int lin_pos(int l, int which) { return POS_BLOCK(l) + lin_offset[which]; }
static LinearLayer *LIN(const ViT *m, int l, int which) { return &m->lin[l * VIT_NLIN + which]; }

// p0 from num_finetune: the position of the first of the last n counted linears.
static int first_trainable_position(const ViT *m) {
    if (m->bind.num_finetune < 0) return 0;
    int n = m->bind.num_finetune, counted = 0, D = m->cfg.depth;
    for (int l = 0; l < D; l++)
        for (int w = 0; w < VIT_NLIN; w++) counted += vit_is_counted(m, l, w);
    CHECK(n <= counted, "num_of_finetune = %d but the model has only %d counted linears", n, counted);
    if (n == 0) return 2 + 10 * D;   // only the head trains
    int skip = counted - n;
    for (int l = 0; l < D; l++)
        for (int w = 0; w < VIT_NLIN; w++)
            if (vit_is_counted(m, l, w) && skip-- == 0) return lin_pos(l, w);
    return 0;
}

// --- parameters ---------------------------------------------------------------

static void declare(ViT *m, const char *name, int pos, int ndim, const int *shape) {
    ParamSet *ps = (pos >= m->p0) ? &m->train : &m->frozen;
    params_declare(ps, name, ndim, shape);
}

static float *P(const ViT *m, const char *name) { return model_param(&m->train, &m->frozen, name); }
static float *G(const ViT *m, const char *name) { return model_grad(&m->train, name); }   // NULL when frozen

static void block_name(char *dst, size_t n, int l, const char *suffix) {
    CHECK(strlen(suffix) + 40 < n, "name buffer too small for %s", suffix);
    snprintf(dst, n, "encoder.layers.encoder_layer_%d.%s", l, suffix);
}

// What the block at position base saves for backward when p0 is the first
// trainable position (x_in only when with_x_in), category activations.
static void alloc_block_acts(ViTBlockActs *a, const ViTConfig *cfg, int base, int p0, int with_x_in, int B, int N) {
    const size_t BNC = (size_t)B * N * cfg->dim, BN = (size_t)B * N, M = (size_t)cfg->mlp_dim;
    if (base + 0 >= p0) {
        if (with_x_in) a->x_in = mem_alloc_floats(BNC, MEM_ACTIVATIONS);
        a->ln1_mean = mem_alloc_floats(BN, MEM_ACTIVATIONS); a->ln1_rstd = mem_alloc_floats(BN, MEM_ACTIVATIONS);
    }
    if (base + 4 > p0) {   // attention core must pass gradients back to q, k or v
        a->q = mem_alloc_floats(BNC, MEM_ACTIVATIONS); a->k = mem_alloc_floats(BNC, MEM_ACTIVATIONS);
        a->v = mem_alloc_floats(BNC, MEM_ACTIVATIONS);
        size_t att = (size_t)B * cfg->heads * N * N;
        if (cfg->softmax_f16) a->att16 = mem_alloc(sizeof(uint16_t) * att, MEM_ACTIVATIONS);
        else a->att = mem_alloc_floats(att, MEM_ACTIVATIONS);
    }
    if (base + 6 >= p0) { a->x_mid = mem_alloc_floats(BNC, MEM_ACTIVATIONS); a->ln2_mean = mem_alloc_floats(BN, MEM_ACTIVATIONS); a->ln2_rstd = mem_alloc_floats(BN, MEM_ACTIVATIONS); }
    if (base + 8 > p0 && cfg->gelu_f16) a->dgelu16 = mem_alloc(sizeof(uint16_t) * BN * M, MEM_ACTIVATIONS);
    else if (base + 8 > p0) a->h = mem_alloc_floats(BN * M, MEM_ACTIVATIONS);
}

static void free_block_acts(ViTBlockActs *a) {
    float *bufs[] = {a->x_in, a->ln1_mean, a->ln1_rstd, a->q, a->k, a->v, a->att, a->x_mid, a->ln2_mean, a->ln2_rstd, a->h};
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++) mem_free(bufs[i]);
    mem_free(a->dgelu16);
    mem_free(a->att16);
}

void vit_build(ViT *m, const ViTConfig *cfg, const ViTBinding *bind, int B) {
    memset(m, 0, sizeof *m);
    m->cfg = *cfg;
    m->bind = *bind;
    m->B = B;
    const int C = cfg->dim, M = cfg->mlp_dim, D = cfg->depth, K = cfg->num_classes, NH = cfg->heads;
    CHECK(cfg->image_size % cfg->patch == 0, "image size %d not divisible by patch %d", cfg->image_size, cfg->patch);
    CHECK(C % NH == 0, "dim %d not divisible by heads %d", C, NH);
    m->nP = (cfg->image_size / cfg->patch) * (cfg->image_size / cfg->patch);
    m->N = m->nP + 1;
    const int N = m->N;
    m->p0 = first_trainable_position(m);

    params_init(&m->train, 1);
    params_init(&m->frozen, 0);
    char nm[PARAM_NAME_MAX];
    declare(m, "conv_proj.weight", 0, 4, (int[]){C, cfg->channels, cfg->patch, cfg->patch});
    declare(m, "conv_proj.bias", 0, 1, (int[]){C});
    declare(m, "class_token", 0, 3, (int[]){1, 1, C});
    declare(m, "encoder.pos_embedding", 0, 3, (int[]){1, N, C});
    for (int l = 0; l < D; l++) {
        int base = POS_BLOCK(l);
        block_name(nm, sizeof nm, l, "ln_1.weight"); declare(m, nm, base + 0, 1, (int[]){C});
        block_name(nm, sizeof nm, l, "ln_1.bias"); declare(m, nm, base + 0, 1, (int[]){C});
        block_name(nm, sizeof nm, l, "ln_2.weight"); declare(m, nm, base + 6, 1, (int[]){C});
        block_name(nm, sizeof nm, l, "ln_2.bias"); declare(m, nm, base + 6, 1, (int[]){C});
    }
    declare(m, "encoder.ln.weight", 1 + 10 * D, 1, (int[]){C});
    declare(m, "encoder.ln.bias", 1 + 10 * D, 1, (int[]){C});
    params_declare(&m->train, "heads.head.weight", 2, (int[]){K, C});
    params_declare(&m->train, "heads.head.bias", 1, (int[]){K});
    params_alloc(&m->train);
    params_alloc(&m->frozen);

    // Linears: counted ones get the method under study, the rest are dense.
    m->lin = mem_alloc(sizeof(LinearLayer) * (size_t)D * VIT_NLIN, MEM_WORKSPACE);
    for (int l = 0; l < D; l++)
        for (int w = 0; w < VIT_NLIN; w++) {
            LinearLayer *L = LIN(m, l, w);
            int pos = lin_pos(l, w);
            L->trainable = pos >= m->p0;
            L->method = (vit_is_counted(m, l, w) && L->trainable && bind->method) ? bind->method : &linear_dense_method;
            // recompute: backward re-runs one block at a time, so the same linear of every block can
            // save its input in one buffer (methods that save x densely use it; vit_cost.c plans it)
            L->shared_x = cfg->recompute ? &m->rx[w <= VIT_V ? 0 : w - VIT_V] : NULL;
            block_name(L->name, sizeof L->name, l, lin_suffix[w]);
            L->I = (w == VIT_FC2) ? M : C;
            L->O = (w == VIT_FC1) ? M : C;
            L->max_rows = (long)B * N;
            L->rows = L->max_rows;
            L->ndim = 3;
            L->dims[0] = B; L->dims[1] = N; L->dims[2] = L->I;
        }

    // Saved-for-backward table: only what active operations need. With
    // recompute, each active block keeps its input and the rest lives in one
    // shared set (racts), sized by the last block (the most active).
    size_t BNC = (size_t)B * N * C, BN = (size_t)B * N;
    m->acts = mem_alloc(sizeof(ViTBlockActs) * (size_t)D, MEM_WORKSPACE);
    for (int l = 0; l < D; l++) {
        if (!cfg->recompute) alloc_block_acts(&m->acts[l], cfg, POS_BLOCK(l), m->p0, 1, B, N);
        else if (POS_BLOCK(l) + 9 >= m->p0) m->acts[l].x_in = mem_alloc_floats(BNC, MEM_ACTIVATIONS);
    }
    if (cfg->recompute) alloc_block_acts(&m->racts, cfg, POS_BLOCK(D - 1), m->p0, 0, B, N);
    m->cls_tok = mem_alloc_floats((size_t)B * C, MEM_ACTIVATIONS);
    m->cls_ln = mem_alloc_floats((size_t)B * C, MEM_ACTIVATIONS);
    m->lnf_mean = mem_alloc_floats(B, MEM_ACTIVATIONS);
    m->lnf_rstd = mem_alloc_floats(B, MEM_ACTIVATIONS);
    m->probs = mem_alloc_floats((size_t)B * K, MEM_ACTIVATIONS);

    // Workspace: forward scratch shared by all blocks, backward gradients.
    size_t PP = (size_t)cfg->channels * cfg->patch * cfg->patch;
    m->logits = mem_alloc_floats((size_t)B * K, MEM_WORKSPACE);
    // im2col a few images at a time (VIT_COL_IMAGES): the GEMM's rows are independent
    m->col = mem_alloc_floats((size_t)wb_min(B, VIT_COL_IMAGES) * m->nP * PP, MEM_WORKSPACE);
    // (the linears before a residual write into its output, so no buffer holds their outputs alone)
    float **ws_bnc[] = {&m->ln_out, &m->att_out, &m->xb, &m->ws_q, &m->ws_k, &m->ws_v};
    for (size_t i = 0; i < sizeof ws_bnc / sizeof ws_bnc[0]; i++) *ws_bnc[i] = mem_alloc_floats(BNC, MEM_WORKSPACE);
    // recompute: the shared set is idle outside backward's re-runs, and a re-run
    // writes x_mid into it, never into xa, so its x_mid serves as forward scratch xa
    m->xa = m->racts.x_mid ? m->racts.x_mid : mem_alloc_floats(BNC, MEM_WORKSPACE);
    // one (B,N,M) buffer: fc1's output when not saved, the GELU output in place
    // over it (or beside the saved h), fc2's input (fc2 keeps its own copy)
    m->ws_h = mem_alloc_floats(BN * M, MEM_WORKSPACE);
    m->g = m->ws_h;
    // Backward's buffers that alias forward scratch no backward reads: the GELU
    // output (dg, and dh over it: the GELU backward runs in place), q, k, v when
    // not saved (backward reads the saved ones), the LayerNorm output (dln) and
    // attention output (datt_out), xb (dres: a recompute re-run writes x_mid into
    // the shared set, or xa, never xb), the patch embeddings.
    // A recompute re-run fills them before its block's backward starts.
    m->dg = m->dh = m->ws_h;
    m->dq = m->ws_q; m->dk = m->ws_k; m->dv = m->ws_v;
    m->dln = m->ln_out; m->datt_out = m->att_out; m->dres = m->xb;
    // the patch embeddings (and dpatches) in ws_q: tokens_forward is done with them
    // before block 0 writes q, and the embedding's backward starts after block 0's
    m->patches = m->ws_q;
    m->ws_mean = mem_alloc_floats(BN, MEM_WORKSPACE);
    m->ws_rstd = mem_alloc_floats(BN, MEM_WORKSPACE);
    // the attention's probabilities and their gradient in ws_h when it has room:
    // forward is done with ws_att before fc1 writes ws_h, backward with dh (= ws_h)
    // before the attention's backward (a re-run writes ws_att before ws_h, too)
    const size_t att = (size_t)B * NH * N * N;
    if (2 * att <= BN * M) { m->ws_att = m->ws_h; m->datt = m->ws_h + att; }
    else { m->ws_att = mem_alloc_floats(att, MEM_WORKSPACE); m->datt = mem_alloc_floats(att, MEM_WORKSPACE); }
    m->dpatches = m->patches;
    m->dcls_tok = mem_alloc_floats((size_t)B * C, MEM_WORKSPACE);
    m->dcls_ln = mem_alloc_floats((size_t)B * C, MEM_WORKSPACE);
    m->dlogits = mem_alloc_floats((size_t)B * K, MEM_WORKSPACE);
    m->targets = mem_alloc(sizeof(int) * (size_t)B, MEM_WORKSPACE);
}

void vit_free(ViT *m) {
    model_linears_free(m->lin, m->cfg.depth * VIT_NLIN);
    for (int l = 0; l < m->cfg.depth; l++) free_block_acts(&m->acts[l]);
    if (m->xa != m->racts.x_mid) mem_free(m->xa);
    if (m->ws_att != m->ws_h) { mem_free(m->ws_att); mem_free(m->datt); }
    free_block_acts(&m->racts);
    mem_free(m->acts);
    float *bufs[] = {m->cls_tok, m->cls_ln, m->lnf_mean, m->lnf_rstd, m->probs, m->logits, m->col,
                     m->ln_out, m->att_out, m->xb, m->ws_q, m->ws_k, m->ws_v, m->ws_h, m->ws_mean,
                     m->ws_rstd, m->dcls_tok, m->dcls_ln, m->dlogits};   // (g, patches, d* alias)
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++) mem_free(bufs[i]);
    mem_free(m->targets);
    params_free(&m->train);
    params_free(&m->frozen);
    memset(m, 0, sizeof *m);
}

// --- initialisation and files ---------------------------------------------------

// Linear l/w's dense W (O,I), b (O) live in the packed torchvision tensors:
// q, k, v are row blocks 0, 1, 2 of in_proj_weight (3C,C) / in_proj_bias (3C).
static void lin_tensor_names(int l, int w, char *wname, char *bname, size_t n, size_t *row0) {
    *row0 = 0;
    if (w <= VIT_V) {
        block_name(wname, n, l, "self_attention.in_proj_weight");
        block_name(bname, n, l, "self_attention.in_proj_bias");
        *row0 = (size_t)w;
    } else {
        char s[64];
        snprintf(s, sizeof s, "%s.weight", lin_suffix[w]); block_name(wname, n, l, s);
        snprintf(s, sizeof s, "%s.bias", lin_suffix[w]); block_name(bname, n, l, s);
    }
}

int vit_counted_index(const ViT *m, int block, int which) {
    if (!vit_is_counted(m, block, which)) return -1;
    int idx = 0;
    for (int l = 0; l <= block; l++)
        for (int w = 0; w < VIT_NLIN; w++) {
            if (l == block && w == which) return idx;
            idx += vit_is_counted(m, l, w);
        }
    return -1;
}

static int counted_index_of(const void *ctx, int i) { return vit_counted_index(ctx, i / VIT_NLIN, i % VIT_NLIN); }

void vit_init_random(ViT *m, uint64_t seed) {
    model_init_random_all(&m->train, &m->frozen, m->lin, m->cfg.depth * VIT_NLIN, &m->bind, counted_index_of, m, seed, "ln");
}

int vit_load(ViT *m, const char *path, int skip_head, uint64_t head_seed, WbError *err) {
    SafeTensors st;
    if (st_open(&st, path, err) < 0) return -1;
    ParamSet *sets[2] = {&m->train, &m->frozen};
    int rc = model_sets_load(sets, 2, &st, path, "heads.head.", skip_head, head_seed, err);
    const int C = m->cfg.dim, D = m->cfg.depth;
    LinearBuffers lb;
    model_linear_buffers(&lb, m->lin, D * VIT_NLIN);
    float *inw = mem_alloc_floats((size_t)3 * C * C, MEM_WORKSPACE), *inb = mem_alloc_floats((size_t)3 * C, MEM_WORKSPACE);
    char wn[PARAM_NAME_MAX], bn[PARAM_NAME_MAX];
    for (int l = 0; l < D && rc == 0; l++) {
        block_name(wn, sizeof wn, l, "self_attention.in_proj_weight");
        block_name(bn, sizeof bn, l, "self_attention.in_proj_bias");
        rc = st_read(&st, wn, inw, 2, (int[]){3 * C, C}, err);
        if (rc == 0) rc = model_check_finite(path, wn, inw, (size_t)3 * C * C, err);
        if (rc == 0) rc = st_read(&st, bn, inb, 1, (int[]){3 * C}, err);
        if (rc == 0) rc = model_check_finite(path, bn, inb, (size_t)3 * C, err);
        for (int w = 0; w < VIT_NLIN && rc == 0; w++) {
            LinearLayer *L = LIN(m, l, w);
            size_t i = (size_t)l * VIT_NLIN + w, row0;
            lin_tensor_names(l, w, wn, bn, sizeof wn, &row0);
            if (w <= VIT_V) {
                memcpy(lb.W[i], inw + row0 * C * C, sizeof(float) * (size_t)C * C);
                memcpy(lb.b[i], inb + row0 * C, sizeof(float) * (size_t)C);
            } else {
                rc = st_read(&st, wn, lb.W[i], 2, (int[]){L->O, L->I}, err);
                if (rc == 0) rc = model_check_finite(path, wn, lb.W[i], (size_t)L->O * L->I, err);
                if (rc == 0) rc = st_read(&st, bn, lb.b[i], 1, (int[]){L->O}, err);
                if (rc == 0) rc = model_check_finite(path, bn, lb.b[i], (size_t)L->O, err);
            }
        }
    }
    if (rc == 0) model_linears_init(m->lin, &lb, &m->bind, counted_index_of, m);
    model_linear_buffers_free(&lb);
    mem_free(inw); mem_free(inb);
    st_close(&st);
    return rc;
}

int vit_save(const ViT *m, const char *path, WbError *err) {
    const int C = m->cfg.dim, D = m->cfg.depth;
    StWriter w;
    st_writer_init(&w);
    const ParamSet *sets[2] = {&m->train, &m->frozen};
    model_sets_save(&w, sets, 2);
    // Linears are exported dense into one buffer, packed as torchvision stores them.
    size_t total = 0;
    for (int i = 0; i < D * VIT_NLIN; i++) total += (size_t)m->lin[i].O * m->lin[i].I + (size_t)m->lin[i].O;
    float *buf = mem_alloc_floats(total, MEM_WORKSPACE), *p = buf;
    char wn[PARAM_NAME_MAX], bn[PARAM_NAME_MAX];
    for (int l = 0; l < D; l++) {
        float *inw = p, *inb = p + (size_t)3 * C * C;
        p += (size_t)3 * C * C + 3 * C;
        for (int v = 0; v <= VIT_V; v++) {
            const LinearLayer *L = LIN(m, l, v);
            L->method->export_dense(L, inw + (size_t)v * C * C, inb + (size_t)v * C);
        }
        block_name(wn, sizeof wn, l, "self_attention.in_proj_weight");
        block_name(bn, sizeof bn, l, "self_attention.in_proj_bias");
        st_writer_add(&w, wn, 2, (int[]){3 * C, C}, inw);
        st_writer_add(&w, bn, 1, (int[]){3 * C}, inb);
        for (int v = VIT_OUT; v < VIT_NLIN; v++) {
            const LinearLayer *L = LIN(m, l, v);
            float *W = p, *b = p + (size_t)L->O * L->I;
            p += (size_t)L->O * L->I + L->O;
            L->method->export_dense(L, W, b);
            size_t row0;
            lin_tensor_names(l, v, wn, bn, sizeof wn, &row0);
            st_writer_add(&w, wn, 2, (int[]){L->O, L->I}, W);
            st_writer_add(&w, bn, 1, (int[]){L->O}, b);
        }
    }
    st_writer_meta(&w, "format", "pt");
    st_writer_meta(&w, "producer", "wasibench");
    int rc = st_writer_save(&w, path, err);
    st_writer_free(&w);
    mem_free(buf);
    return rc;
}

// --- forward --------------------------------------------------------------------

// Block l: x (B,N,C) -> the block output, returned (NULL when need_out is
// 0: backward's re-run, which only refills a). a: the buffers that keep
// what backward needs (NULL fields: the forward scratch); save: keep them;
// lin_training: the linears keep theirs. xn_keep: where the output goes when
// the next block keeps its input (NULL: a scratch buffer).
static float *block_forward(ViT *m, int l, const ViTBlockActs *a, const float *x, float *xn_keep, int B, int save,
                            int lin_training, int need_out) {
    const ViTConfig *c = &m->cfg;
    const int C = c->dim, M = c->mlp_dim, NH = c->heads, N = m->N, BN = B * N;
    const int dims3[3] = {B, N, C}, dims3m[3] = {B, N, M};
    #define ACT(field, ws) ((save && a->field) ? a->field : (ws))
    char nm[PARAM_NAME_MAX], nb[PARAM_NAME_MAX];
    float *mean = ACT(ln1_mean, m->ws_mean), *rstd = ACT(ln1_rstd, m->ws_rstd);
    block_name(nm, sizeof nm, l, "ln_1.weight"); block_name(nb, sizeof nb, l, "ln_1.bias");
    layernorm_forward(m->ln_out, mean, rstd, x, P(m, nm), P(m, nb), BN, C, c->ln_eps);
    float *q = ACT(q, m->ws_q), *k = ACT(k, m->ws_k), *v = ACT(v, m->ws_v);
    float *qkv[3] = {q, k, v};
    for (int w = VIT_Q; w <= VIT_V; w++) {
        LinearLayer *L = LIN(m, l, w);
        L->method->forward(L, qkv[w], m->ln_out, dims3, 3, lin_training);
    }
    attention_forward(m->att_out, ACT(att, m->ws_att), q, k, v, B, N, C, NH);
    if (save && a->att16) half_pack(a->att16, m->ws_att, (long)B * NH * N * N);
    LinearLayer *Lo = LIN(m, l, VIT_OUT);
    float *xm = ACT(x_mid, (x == m->xa) ? m->xb : m->xa);   // (a re-run's x is a saved x_in: xa, not dres = xb)
    Lo->method->forward(Lo, xm, m->att_out, dims3, 3, lin_training);   // out_proj into x_mid, x added in place
    residual_forward(xm, x, xm, (long)BN * C);

    mean = ACT(ln2_mean, m->ws_mean); rstd = ACT(ln2_rstd, m->ws_rstd);
    block_name(nm, sizeof nm, l, "ln_2.weight"); block_name(nb, sizeof nb, l, "ln_2.bias");
    layernorm_forward(m->ln_out, mean, rstd, xm, P(m, nm), P(m, nb), BN, C, c->ln_eps);
    float *h = ACT(h, m->ws_h);
    LinearLayer *L1 = LIN(m, l, VIT_FC1), *L2 = LIN(m, l, VIT_FC2);
    L1->method->forward(L1, h, m->ln_out, dims3, 3, lin_training);
    if (save && a->dgelu16) gelu_forward_f16grad(m->g, a->dgelu16, h, (long)BN * M);   // in place when h is m->g
    else gelu_forward(m->g, h, (long)BN * M);
    // fc2 into the block output, xm added in place; a re-run drops it into
    // att_out (dead: out_proj has kept what it needs of its input)
    float *xn = !need_out ? m->att_out : xn_keep ? xn_keep : (xm == m->xa) ? m->xb : m->xa;
    L2->method->forward(L2, xn, m->g, dims3m, 3, lin_training);
    #undef ACT
    if (!need_out) return NULL;
    residual_forward(xn, xm, xn, (long)BN * C);
    return xn;
}

float vit_forward(ViT *m, const float *img, const int *targets, int B, int training) {
    const ViTConfig *c = &m->cfg;
    const int C = c->dim, N = m->N, D = c->depth, K = c->num_classes;
    CHECK(B >= 1 && B <= m->B, "batch %d larger than the model's buffers (%d)", B, m->B);
    m->Bcur = B;
    m->training = training;
    m->img = img;   // the batch is the caller's (data memory); backward reads it again for conv_proj

    patch_embed_forward_cols(m->patches, m->col, VIT_COL_IMAGES, img, P(m, "conv_proj.weight"), P(m, "conv_proj.bias"),
                        B, c->channels, c->image_size, c->image_size, c->patch, C);
    float *x = (training && m->acts[0].x_in) ? m->acts[0].x_in : m->xa;
    tokens_forward(x, m->patches, P(m, "class_token"), P(m, "encoder.pos_embedding"), B, m->nP, C);
    // recompute: the linears save nothing now; backward re-runs each block saving
    const int lin_training = training && !c->recompute;
    for (int l = 0; l < D; l++) {
        float *keep = (training && l + 1 < D) ? m->acts[l + 1].x_in : NULL;
        x = block_forward(m, l, &m->acts[l], x, keep, B, training, lin_training, 1);
    }
    take_class_token_forward(m->cls_tok, x, B, N, C);
    layernorm_forward(m->cls_ln, m->lnf_mean, m->lnf_rstd, m->cls_tok, P(m, "encoder.ln.weight"),
                      P(m, "encoder.ln.bias"), B, C, c->ln_eps);
    linear_forward(m->logits, m->cls_ln, P(m, "heads.head.weight"), P(m, "heads.head.bias"), B, C, K);
    if (!targets) return 0.0f;
    memcpy(m->targets, targets, sizeof(int) * (size_t)B);
    return crossentropy_forward(m->probs, m->logits, targets, B, K);
}

// --- backward -------------------------------------------------------------------

void vit_backward(ViT *m) {
    CHECK(m->training, "vit_backward after a forward with training = 0");
    const ViTConfig *c = &m->cfg;
    const int B = m->Bcur, C = c->dim, M = c->mlp_dim, NH = c->heads, N = m->N, D = c->depth, K = c->num_classes;
    const int BN = B * N, p0 = m->p0;
    const size_t BNC = (size_t)BN * C;
    m->grads_clear = 0;   // gradients accumulate from here on

    memset(m->dlogits, 0, sizeof(float) * (size_t)B * K);
    crossentropy_backward(m->dlogits, m->probs, m->targets, B, K);
    memset(m->dcls_ln, 0, sizeof(float) * (size_t)B * C);
    linear_backward(m->dcls_ln, G(m, "heads.head.weight"), G(m, "heads.head.bias"), m->dlogits, m->cls_ln,
                    P(m, "heads.head.weight"), B, C, K);
    if (1 + 10 * D < p0) return;   // only the head trains
    memset(m->dcls_tok, 0, sizeof(float) * (size_t)B * C);
    layernorm_backward(m->dcls_tok, G(m, "encoder.ln.weight"), G(m, "encoder.ln.bias"), m->dcls_ln, m->cls_tok,
                       P(m, "encoder.ln.weight"), m->lnf_mean, m->lnf_rstd, B, C);
    memset(m->dres, 0, sizeof(float) * BNC);
    take_class_token_backward(m->dres, m->dcls_tok, B, N, C);

    char nm[PARAM_NAME_MAX], nb[PARAM_NAME_MAX];
    for (int l = D - 1; l >= 0; l--) {
        const ViTBlockActs *a = &m->acts[l];
        const int base = POS_BLOCK(l);
        if (base + 9 < p0) break;
        ViTBlockActs view;
        if (c->recompute) {   // re-run the block from its saved input, saving everything into the shared set
            view = m->racts;
            view.x_in = m->acts[l].x_in;
            Phase prev = phase_set(PHASE_RECOMPUTE);
            block_forward(m, l, &view, view.x_in, NULL, B, 1, 1, 0);
            phase_set(prev);
            a = &view;
        }
        // MLP: x_{l+1} = x_mid + fc2(gelu(fc1(ln_2(x_mid)))); dres holds d x_{l+1}.
        LinearLayer *L2 = LIN(m, l, VIT_FC2), *L1 = LIN(m, l, VIT_FC1);
        int need = base + 9 > p0;
        if (need) memset(m->dg, 0, sizeof(float) * (size_t)BN * M);
        L2->method->backward(L2, need ? m->dg : NULL, m->dres);
        if (!need) break;
        // dh over dg (one buffer): fc1's dy is the GELU's input gradient alone
        if (a->dgelu16) gelu_backward_f16grad_inplace(m->dg, a->dgelu16, (long)BN * M);
        else gelu_backward_inplace(m->dg, a->h, (long)BN * M);
        need = base + 7 > p0;
        if (need) memset(m->dln, 0, sizeof(float) * BNC);
        L1->method->backward(L1, need ? m->dln : NULL, m->dh);
        if (!need) break;
        block_name(nm, sizeof nm, l, "ln_2.weight"); block_name(nb, sizeof nb, l, "ln_2.bias");
        layernorm_backward(base + 6 > p0 ? m->dres : NULL, G(m, nm), G(m, nb), m->dln, a->x_mid, P(m, nm),
                           a->ln2_mean, a->ln2_rstd, BN, C);
        if (base + 6 <= p0) break;
        // Attention: x_mid = x_in + out_proj(attn(q, k, v)); dres now holds d x_mid.
        LinearLayer *Lo = LIN(m, l, VIT_OUT);
        need = base + 5 > p0;
        if (need) memset(m->datt_out, 0, sizeof(float) * BNC);
        Lo->method->backward(Lo, need ? m->datt_out : NULL, m->dres);
        if (!need) break;
        memset(m->dq, 0, sizeof(float) * BNC);
        memset(m->dk, 0, sizeof(float) * BNC);
        memset(m->dv, 0, sizeof(float) * BNC);
        const float *att = a->att;
        if (a->att16) { half_unpack(m->ws_att, a->att16, (long)B * NH * N * N); att = m->ws_att; }
        attention_backward(base + 1 >= p0 ? m->dq : NULL, base + 2 >= p0 ? m->dk : NULL, m->dv, m->datt,
                           m->datt_out, a->q, a->k, a->v, att, B, N, C, NH);
        need = base + 1 > p0;   // does ln_1 (and anything before) need d(ln_out)?
        if (need) memset(m->dln, 0, sizeof(float) * BNC);
        float *dqkv[3] = {m->dq, m->dk, m->dv};
        for (int w = VIT_Q; w <= VIT_V; w++) {
            LinearLayer *L = LIN(m, l, w);
            if (base + 1 + w >= p0) L->method->backward(L, need ? m->dln : NULL, dqkv[w]);
        }
        if (!need) break;
        block_name(nm, sizeof nm, l, "ln_1.weight"); block_name(nb, sizeof nb, l, "ln_1.bias");
        layernorm_backward(base > p0 ? m->dres : NULL, G(m, nm), G(m, nb), m->dln, a->x_in, P(m, nm),
                           a->ln1_mean, a->ln1_rstd, BN, C);
        if (base <= p0) break;
    }
    if (p0 > 0) return;
    // Embedding: x_0 = tokens(patch_embed(img)); dres holds d x_0.
    memset(m->dpatches, 0, sizeof(float) * (size_t)B * m->nP * C);
    tokens_backward(m->dpatches, G(m, "class_token"), G(m, "encoder.pos_embedding"), m->dres, B, m->nP, C);
    patch_embed_backward_cols(G(m, "conv_proj.weight"), G(m, "conv_proj.bias"), m->col, VIT_COL_IMAGES, m->dpatches, m->img,
                         B, c->channels, c->image_size, c->image_size, c->patch, C);
}

// --- parameters, update, accounting (shared with swin.c: core/models/model_params.c) ----

ModelParams vit_params(ViT *m) {
    ModelParams mp = {&m->train, m->lin, m->cfg.depth * VIT_NLIN, &m->grads_clear};
    return mp;
}

static int counted_linear(const void *ctx, int i) { return vit_is_counted(ctx, i / VIT_NLIN, i % VIT_NLIN); }

ViTPaperMemory vit_paper_memory(const ViT *m) {
    return mparams_paper_memory(m->lin, m->cfg.depth * VIT_NLIN, counted_linear, m);
}
