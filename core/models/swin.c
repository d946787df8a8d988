// swin.c: the Swin Transformer (see swin.h): parameter layout with
// torchvision names, the saved-for-backward table, forward, backward,
// update, load/save.
//
// Positions. Every operation has a position in forward order:
//   0 patch embedding (features.0: conv + LayerNorm)
//   block l (in stage order), base = its position: norm1 +0, qkv +1,
//     window attention core (with the bias table) +2, proj +3, norm2 +4,
//     fc1 (mlp.0) +5, GELU +6, fc2 (mlp.3) +7
//   patch merging after the last block of stage s < stages-1: one position
//   norm, then head.
// p0 is the first trainable position. An operation at p >= p0 saves for
// backward ("active"); it needs to produce its input gradient only if
// p > p0; parameters at p >= p0 are trainable (the head always is).
//
// Buffers. Block l's activations (norm1 input, qkv, attention, norm2 input,
// fc1 output) go to m->acts[l] when active in a training forward, else to
// workspace shared by all blocks; the linears keep their own inputs
// (or compressed versions) inside their methods. memory.recompute: the
// forward keeps only each active block's input and drop-path scales, and
// backward re-runs each block's forward into m->racts (and the linears'
// shared inputs m->rx) just before the block's backward.
#include "core/models/swin.h"
#include "core/nn/swin_layers.h"
#include "core/nn/layers.h"
#include "core/nn/linear_dense.h"
#include "core/linalg/half.h"
#include "core/runtime/counters.h"
#include "core/runtime/memory.h"
#include "core/models/model_params.h"
#include "core/io/safetensors.h"
#include "core/models/model_linears.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

static const int lin_offset[SWIN_NLIN] = {1, 3, 5, 7};
static const char *lin_suffix[SWIN_NLIN] = {"attn.qkv", "attn.proj", "mlp.0", "mlp.3"};

typedef struct { const char *name; SwinConfig c; } Preset;
static const Preset presets[] = {
    {"swin_t", {224, 4, 3, 96, 4, {2, 2, 6, 2}, {3, 6, 12, 24}, 7, 4, 1000, 1e-5f, 0.0f, 0, 0, 0}},
    {"swin_s", {224, 4, 3, 96, 4, {2, 2, 18, 2}, {3, 6, 12, 24}, 7, 4, 1000, 1e-5f, 0.0f, 0, 0, 0}},
    {"swin_b", {224, 4, 3, 128, 4, {2, 2, 18, 2}, {4, 8, 16, 32}, 7, 4, 1000, 1e-5f, 0.0f, 0, 0, 0}},
    {"swin_micro", {32, 2, 3, 32, 3, {2, 2, 2, 0}, {2, 4, 8, 0}, 4, 4, 10, 1e-5f, 0.0f, 0, 0, 0}},
};

int swin_preset(const char *name, SwinConfig *cfg) {
    for (size_t i = 0; i < sizeof presets / sizeof presets[0]; i++)
        if (!strcmp(presets[i].name, name)) { *cfg = presets[i].c; return 0; }
    return -1;
}

const char *swin_preset_names(void) { return "swin_t, swin_s, swin_b, swin_micro"; }

// The counted rule (layers: mlp counts fc1, fc2; all_linear every linear).
int swin_linear_counted(const ModelBinding *bind, int block, int which) {
    (void)block;
    return which == SWIN_FC1 || which == SWIN_FC2 || bind->all_linear;
}
int swin_is_counted(const Swin *m, int block, int which) { return swin_linear_counted(&m->bind, block, which); }

LinearLayer *swin_linear(const Swin *m, int block, int which) { return &m->lin[block * SWIN_NLIN + which]; }
#define LIN swin_linear


int swin_counted_index(const Swin *m, int block, int which) {
    if (!swin_is_counted(m, block, which)) return -1;
    int idx = 0;
    for (int l = 0; l <= block; l++)
        for (int w = 0; w < SWIN_NLIN; w++) {
            if (l == block && w == which) return idx;
            idx += swin_is_counted(m, l, w);
        }
    return -1;
}

int swin_linear_position(const SwinBlock *b, int which) { return b->base + lin_offset[which]; }
static int lin_pos(const Swin *m, int l, int which) { return swin_linear_position(&m->blk[l], which); }

int swin_first_trainable(const ModelBinding *bind, const SwinBlock *blk, int nblocks, int pos_head) {
    if (bind->num_finetune < 0) return 0;
    int n = bind->num_finetune, counted = 0;
    for (int l = 0; l < nblocks; l++)
        for (int w = 0; w < SWIN_NLIN; w++) counted += swin_linear_counted(bind, l, w);
    CHECK(n <= counted, "num_of_finetune = %d but the model has only %d counted linears", n, counted);
    if (n == 0) return pos_head;   // only the head trains
    int skip = counted - n;
    for (int l = 0; l < nblocks; l++)
        for (int w = 0; w < SWIN_NLIN; w++)
            if (swin_linear_counted(bind, l, w) && skip-- == 0) return swin_linear_position(&blk[l], w);
    return 0;
}

// --- parameters ---------------------------------------------------------------

static void declare(Swin *m, const char *name, int pos, int ndim, const int *shape) {
    params_declare(pos >= m->p0 ? &m->train : &m->frozen, name, ndim, shape);
}

static float *P(const Swin *m, const char *name) { return model_param(&m->train, &m->frozen, name); }
static float *G(const Swin *m, const char *name) { return model_grad(&m->train, name); }   // NULL when frozen

// "features.{1+2s}.{i}.<suffix>"
static void block_name(char *dst, size_t n, const SwinBlock *b, const char *suffix) {
    CHECK(strlen(suffix) + 32 < n, "name buffer too small for %s", suffix);
    snprintf(dst, n, "features.%d.%d.%s", 1 + 2 * b->stage, b->index, suffix);
}
static void merge_name(char *dst, size_t n, int s, const char *suffix) {
    snprintf(dst, n, "features.%d.%s", 2 + 2 * s, suffix);
}

static int stage_dim(const SwinConfig *c, int s) { return c->embed_dim << s; }

static size_t zmax(size_t a, size_t b) { return a > b ? a : b; }

SwinBlockSaved swin_block_saved(const SwinBlock *b, int p0, int B) {
    const size_t BHW = (size_t)B * b->H * b->W, BWC = (size_t)B * b->nW * b->T * b->C;
    SwinBlockSaved z;
    memset(&z, 0, sizeof z);
    if (b->base + 0 >= p0) { z.x_in = BHW * b->C; z.ln1 = BHW; }
    if (b->base + 2 >= p0) { z.qkv = 3 * BWC; z.att = (size_t)B * b->nW * b->NH * b->T * b->T; }
    if (b->base + 4 >= p0) { z.x_mid = BHW * b->C; z.ln2 = BHW; }
    if (b->base + 6 > p0) z.h = BHW * b->hidden;
    return z;
}

static float *alloc_opt(size_t n) { return n ? mem_alloc_floats(n, MEM_ACTIVATIONS) : NULL; }
static uint16_t *alloc_opt16(size_t n) { return n ? mem_alloc(sizeof(uint16_t) * n, MEM_ACTIVATIONS) : NULL; }

// The buffers of z (category activations), x_in only when with_x_in; the
// float16 options keep att and the GELU derivative (instead of h) in 2 bytes.
static void alloc_block_acts(SwinBlockActs *a, const SwinBlockSaved *z, const SwinConfig *cfg, int with_x_in) {
    if (with_x_in) a->x_in = alloc_opt(z->x_in);
    a->ln1_mean = alloc_opt(z->ln1); a->ln1_rstd = alloc_opt(z->ln1);
    a->qkv = alloc_opt(z->qkv);
    if (cfg->softmax_f16) a->att16 = alloc_opt16(z->att);
    else a->att = alloc_opt(z->att);
    a->x_mid = alloc_opt(z->x_mid);
    a->ln2_mean = alloc_opt(z->ln2); a->ln2_rstd = alloc_opt(z->ln2);
    if (cfg->gelu_f16) a->dgelu16 = alloc_opt16(z->h);
    else a->h = alloc_opt(z->h);
}

static void free_block_acts(SwinBlockActs *a) {
    float *bufs[] = {a->x_in, a->ln1_mean, a->ln1_rstd, a->qkv, a->att, a->x_mid, a->ln2_mean, a->ln2_rstd, a->h,
                     a->sd_attn, a->sd_mlp};
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++) mem_free(bufs[i]);
    mem_free(a->dgelu16);
    mem_free(a->att16);
}

int swin_num_blocks(const SwinConfig *cfg) {
    int n = 0;
    for (int s = 0; s < cfg->stages; s++) {
        CHECK(cfg->depths[s] >= 1 && cfg->heads[s] >= 1 && stage_dim(cfg, s) % cfg->heads[s] == 0,
              "stage %d: depth %d, heads %d, dim %d", s, cfg->depths[s], cfg->heads[s], stage_dim(cfg, s));
        n += cfg->depths[s];
    }
    return n;
}

int swin_layout(const SwinConfig *cfg, SwinBlock *blk, int merge_pos[SWIN_MAX_STAGES]) {
    const int S = cfg->stages, ws = cfg->window, nblocks = swin_num_blocks(cfg);
    int pos = 1, l = 0, H = cfg->image_size / cfg->patch, W = H;
    for (int s = 0; s < S; s++) {
        for (int i = 0; i < cfg->depths[s]; i++, l++) {
            SwinBlock *b = &blk[l];
            b->stage = s; b->index = i;
            b->H = H; b->W = W; b->C = stage_dim(cfg, s); b->NH = cfg->heads[s];
            b->hidden = cfg->mlp_ratio * b->C;
            window_geometry(H, W, ws, (i % 2) ? ws / 2 : 0, &b->Hp, &b->Wp, &b->sh, &b->sw);
            b->nW = (b->Hp / ws) * (b->Wp / ws);
            b->T = ws * ws;
            b->base = pos;
            b->sd_prob = nblocks > 1 ? cfg->stochastic_depth * (float)l / (float)(nblocks - 1) : 0.0f;
            pos += 8;
        }
        merge_pos[s] = 0;
        if (s < S - 1) {
            merge_pos[s] = pos++;
            H = (H + 1) / 2; W = (W + 1) / 2;
        }
    }
    return pos;
}

void swin_build(Swin *m, const SwinConfig *cfg, const SwinBinding *bind, int B) {
    memset(m, 0, sizeof *m);
    m->cfg = *cfg;
    m->bind = *bind;
    m->B = B;
    const int S = cfg->stages, ws = cfg->window, T = ws * ws, K = cfg->num_classes;
    CHECK(B >= 1, "batch %d", B);
    CHECK(S >= 1 && S <= SWIN_MAX_STAGES, "%d stages (1..%d)", S, SWIN_MAX_STAGES);
    CHECK(cfg->patch >= 1 && cfg->image_size % cfg->patch == 0, "image size %d not a multiple of the patch %d",
          cfg->image_size, cfg->patch);
    CHECK(ws >= 1 && cfg->mlp_ratio >= 1 && cfg->embed_dim >= 1 && cfg->channels >= 1 && K >= 1,
          "window %d, mlp_ratio %d, embed_dim %d, channels %d, classes %d", ws, cfg->mlp_ratio, cfg->embed_dim,
          cfg->channels, K);
    CHECK(cfg->stochastic_depth >= 0.0f && cfg->stochastic_depth < 1.0f, "stochastic depth %g outside [0, 1)",
          (double)cfg->stochastic_depth);
    m->H0 = m->W0 = cfg->image_size / cfg->patch;

    // Geometry and positions.
    m->nblocks = swin_num_blocks(cfg);
    m->blk = mem_alloc(sizeof(SwinBlock) * (size_t)m->nblocks, MEM_WORKSPACE);
    m->pos_norm = swin_layout(cfg, m->blk, m->merge_pos);
    m->pos_head = m->pos_norm + 1;
    m->p0 = swin_first_trainable(&m->bind, m->blk, m->nblocks, m->pos_head);
    int l;

    m->rpi = mem_alloc(sizeof(int) * (size_t)T * T, MEM_WORKSPACE);
    relative_position_index(m->rpi, ws);
    for (l = 0; l < m->nblocks; l++) {
        const SwinBlock *b = &m->blk[l];
        if (b->sh + b->sw == 0 || m->regions[b->stage]) continue;
        m->regions[b->stage] = mem_alloc(sizeof(int) * (size_t)b->nW * T, MEM_WORKSPACE);
        window_mask_regions(m->regions[b->stage], b->H, b->W, ws, b->sh, b->sw);
    }

    // Parameters, in torchvision's order.
    params_init(&m->train, 1);
    params_init(&m->frozen, 0);
    char nm[PARAM_NAME_MAX];
    const int C0 = cfg->embed_dim, P0 = cfg->patch;
    declare(m, "features.0.0.weight", 0, 4, (int[]){C0, cfg->channels, P0, P0});
    declare(m, "features.0.0.bias", 0, 1, (int[]){C0});
    declare(m, "features.0.2.weight", 0, 1, (int[]){C0});
    declare(m, "features.0.2.bias", 0, 1, (int[]){C0});
    for (l = 0; l < m->nblocks; l++) {
        const SwinBlock *b = &m->blk[l];
        block_name(nm, sizeof nm, b, "norm1.weight"); declare(m, nm, b->base, 1, (int[]){b->C});
        block_name(nm, sizeof nm, b, "norm1.bias"); declare(m, nm, b->base, 1, (int[]){b->C});
        block_name(nm, sizeof nm, b, "attn.relative_position_bias_table");
        declare(m, nm, b->base + 2, 2, (int[]){(2 * ws - 1) * (2 * ws - 1), b->NH});
        block_name(nm, sizeof nm, b, "norm2.weight"); declare(m, nm, b->base + 4, 1, (int[]){b->C});
        block_name(nm, sizeof nm, b, "norm2.bias"); declare(m, nm, b->base + 4, 1, (int[]){b->C});
        if (b->index == cfg->depths[b->stage] - 1 && b->stage < S - 1) {
            int s = b->stage, C = b->C, mp = m->merge_pos[s];
            merge_name(nm, sizeof nm, s, "reduction.weight"); declare(m, nm, mp, 2, (int[]){2 * C, 4 * C});
            merge_name(nm, sizeof nm, s, "norm.weight"); declare(m, nm, mp, 1, (int[]){4 * C});
            merge_name(nm, sizeof nm, s, "norm.bias"); declare(m, nm, mp, 1, (int[]){4 * C});
        }
    }
    const int Cl = stage_dim(cfg, S - 1);
    declare(m, "norm.weight", m->pos_norm, 1, (int[]){Cl});
    declare(m, "norm.bias", m->pos_norm, 1, (int[]){Cl});
    params_declare(&m->train, "head.weight", 2, (int[]){K, Cl});
    params_declare(&m->train, "head.bias", 1, (int[]){K});
    params_alloc(&m->train);
    params_alloc(&m->frozen);

    // Linears: counted ones get the method under study, the rest are dense.
    m->lin = mem_alloc(sizeof(LinearLayer) * (size_t)m->nblocks * SWIN_NLIN, MEM_WORKSPACE);
    for (l = 0; l < m->nblocks; l++) {
        const SwinBlock *b = &m->blk[l];
        for (int w = 0; w < SWIN_NLIN; w++) {
            LinearLayer *L = LIN(m, l, w);
            L->trainable = lin_pos(m, l, w) >= m->p0;
            L->method = (swin_is_counted(m, l, w) && L->trainable && bind->method) ? bind->method : &linear_dense_method;
            // recompute: backward re-runs one block at a time, so the same linear of every block
            // can save its input in one buffer, sized below for the largest trainable one
            L->shared_x = cfg->recompute ? &m->rx[w] : NULL;
            block_name(L->name, sizeof L->name, b, lin_suffix[w]);
            L->I = w == SWIN_FC2 ? b->hidden : b->C;
            L->O = w == SWIN_QKV ? 3 * b->C : w == SWIN_FC1 ? b->hidden : b->C;
            L->ndim = 4;
            L->dims[0] = B;
            if (w <= SWIN_PROJ) { L->dims[1] = b->nW; L->dims[2] = T; }
            else { L->dims[1] = b->H; L->dims[2] = b->W; }
            L->dims[3] = L->I;
            L->max_rows = (long)L->dims[0] * L->dims[1] * L->dims[2];
            L->rows = L->max_rows;
            if (L->shared_x && L->trainable) L->shared_x->floats = zmax(L->shared_x->floats, (size_t)L->max_rows * L->I);
        }
    }

    // Saved-for-backward table: only what active operations need. With
    // recompute, each block with an active operation keeps its input and the
    // rest lives in one set (racts), each field at the largest block's need.
    m->acts = mem_alloc(sizeof(SwinBlockActs) * (size_t)m->nblocks, MEM_WORKSPACE);
    size_t mapC = 0, mapH = 0, rows = 0, winC = 0, attn = 0, mrg = 0, nhtt = 0;
    SwinBlockSaved rz;
    memset(&rz, 0, sizeof rz);
    for (l = 0; l < m->nblocks; l++) {
        const SwinBlock *b = &m->blk[l];
        SwinBlockActs *a = &m->acts[l];
        size_t BHW = (size_t)B * b->H * b->W, BHWC = BHW * b->C, BWC = (size_t)B * b->nW * T * b->C;
        size_t BATT = (size_t)B * b->nW * b->NH * T * T;
        mapC = zmax(mapC, BHWC); mapH = zmax(mapH, BHW * b->hidden); rows = zmax(rows, BHW);
        winC = zmax(winC, BWC); attn = zmax(attn, BATT); nhtt = zmax(nhtt, (size_t)b->NH * T * T);
        SwinBlockSaved z = swin_block_saved(b, m->p0, B);
        if (!cfg->recompute) alloc_block_acts(a, &z, cfg, 1);
        else if (b->base + 7 >= m->p0) {   // the re-run starts from the block's input
            a->x_in = mem_alloc_floats(BHWC, MEM_ACTIVATIONS);
            rz.ln1 = zmax(rz.ln1, z.ln1); rz.qkv = zmax(rz.qkv, z.qkv); rz.att = zmax(rz.att, z.att);
            rz.x_mid = zmax(rz.x_mid, z.x_mid); rz.ln2 = zmax(rz.ln2, z.ln2); rz.h = zmax(rz.h, z.h);
        }
        if (b->sd_prob > 0.0f) {   // frozen blocks drop paths in training too (as torch)
            a->sd_attn = mem_alloc_floats(B, MEM_ACTIVATIONS);
            a->sd_mlp = mem_alloc_floats(B, MEM_ACTIVATIONS);
        }
        if (b->index == cfg->depths[b->stage] - 1 && b->stage < S - 1) {
            int s = b->stage;
            size_t r2 = (size_t)B * ((b->H + 1) / 2) * ((b->W + 1) / 2), g2 = r2 * 4 * b->C;
            mrg = zmax(mrg, g2);
            mapC = zmax(mapC, r2 * 2 * b->C);
            if (m->merge_pos[s] >= m->p0) {
                SwinMergeActs *ma = &m->merge[s];
                ma->xg = mem_alloc_floats(g2, MEM_ACTIVATIONS);
                ma->xn = mem_alloc_floats(g2, MEM_ACTIVATIONS);
                ma->mean = mem_alloc_floats(r2, MEM_ACTIVATIONS);
                ma->rstd = mem_alloc_floats(r2, MEM_ACTIVATIONS);
            }
        }
    }
    if (cfg->recompute) alloc_block_acts(&m->racts, &rz, cfg, 0);
    const SwinBlock *last = &m->blk[m->nblocks - 1];
    size_t rows0 = (size_t)B * m->H0 * m->W0, rowsl = (size_t)B * last->H * last->W;
    if (m->p0 == 0) {
        m->emb_in = mem_alloc_floats(rows0 * C0, MEM_ACTIVATIONS);
        m->emb_mean = mem_alloc_floats(rows0, MEM_ACTIVATIONS);
        m->emb_rstd = mem_alloc_floats(rows0, MEM_ACTIVATIONS);
    }
    if (m->pos_norm >= m->p0) {
        m->xf = mem_alloc_floats(rowsl * Cl, MEM_ACTIVATIONS);
        m->lnf_mean = mem_alloc_floats(rowsl, MEM_ACTIVATIONS);
        m->lnf_rstd = mem_alloc_floats(rowsl, MEM_ACTIVATIONS);
    }
    m->pooled = mem_alloc_floats((size_t)B * Cl, MEM_ACTIVATIONS);
    m->probs = mem_alloc_floats((size_t)B * K, MEM_ACTIVATIONS);

    // Workspace.
    size_t big = zmax(mapC, mrg);   // map-sized buffers also hold merge tensors
    rows = zmax(rows, rows0);
    m->logits = mem_alloc_floats((size_t)B * K, MEM_WORKSPACE);
    m->col = mem_alloc_floats(rows0 * cfg->channels * P0 * P0, MEM_WORKSPACE);
    m->patches = mem_alloc_floats(rows0 * C0, MEM_WORKSPACE);
    float **ws_big[] = {&m->xa, &m->xb, &m->ln_out, &m->tmp, &m->dres, &m->dln, &m->dtmp};
    for (size_t i = 0; i < sizeof ws_big / sizeof ws_big[0]; i++) *ws_big[i] = mem_alloc_floats(big, MEM_WORKSPACE);
    float **ws_win[] = {&m->xw, &m->att_out, &m->proj_out, &m->dxw, &m->datt_out, &m->dproj};
    for (size_t i = 0; i < sizeof ws_win / sizeof ws_win[0]; i++) *ws_win[i] = mem_alloc_floats(winC, MEM_WORKSPACE);
    m->ws_qkv = mem_alloc_floats(3 * winC, MEM_WORKSPACE);
    m->dqkv = mem_alloc_floats(3 * winC, MEM_WORKSPACE);
    m->ws_att = mem_alloc_floats(attn, MEM_WORKSPACE);
    m->datt = mem_alloc_floats(attn, MEM_WORKSPACE);
    m->ws_h = mem_alloc_floats(mapH, MEM_WORKSPACE);
    m->g = mem_alloc_floats(mapH, MEM_WORKSPACE);
    m->dh = mem_alloc_floats(mapH, MEM_WORKSPACE);
    m->dg = mem_alloc_floats(mapH, MEM_WORKSPACE);
    m->ws_mean = mem_alloc_floats(rows, MEM_WORKSPACE);
    m->ws_rstd = mem_alloc_floats(rows, MEM_WORKSPACE);
    if (mrg) { m->ws_xg = mem_alloc_floats(mrg, MEM_WORKSPACE); m->ws_xn = mem_alloc_floats(mrg, MEM_WORKSPACE); }
    m->bias = mem_alloc_floats(nhtt, MEM_WORKSPACE);
    m->dbias = mem_alloc_floats(nhtt, MEM_WORKSPACE);
    m->dpooled = mem_alloc_floats((size_t)B * Cl, MEM_WORKSPACE);
    m->dlogits = mem_alloc_floats((size_t)B * K, MEM_WORKSPACE);
    m->targets = mem_alloc(sizeof(int) * (size_t)B, MEM_WORKSPACE);
    rng_seed(&m->sd_rng, 0);
}

void swin_free(Swin *m) {
    model_linears_free(m->lin, m->nblocks * SWIN_NLIN);
    for (int l = 0; l < m->nblocks; l++) free_block_acts(&m->acts[l]);
    free_block_acts(&m->racts);
    mem_free(m->acts);
    for (int s = 0; s < SWIN_MAX_STAGES; s++) {
        mem_free(m->merge[s].xg); mem_free(m->merge[s].xn); mem_free(m->merge[s].mean); mem_free(m->merge[s].rstd);
        mem_free(m->regions[s]);
    }
    float *bufs[] = {m->emb_in, m->emb_mean, m->emb_rstd, m->xf, m->lnf_mean, m->lnf_rstd, m->pooled, m->probs,
                     m->logits, m->col, m->patches, m->xa, m->xb, m->ln_out, m->xw, m->ws_qkv, m->ws_att, m->att_out,
                     m->proj_out, m->tmp, m->ws_h, m->g, m->ws_mean, m->ws_rstd, m->ws_xg, m->ws_xn, m->bias,
                     m->dres, m->dln, m->dtmp, m->dxw, m->dqkv, m->datt, m->datt_out, m->dproj, m->dh, m->dg,
                     m->dbias, m->dpooled, m->dlogits};
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++) mem_free(bufs[i]);
    mem_free(m->targets);
    mem_free(m->rpi);
    mem_free(m->blk);
    params_free(&m->train);
    params_free(&m->frozen);
    memset(m, 0, sizeof *m);
}

// --- initialisation and files ---------------------------------------------------

static int counted_index_of(const void *ctx, int i) {
    return swin_counted_index(ctx, i / SWIN_NLIN, i % SWIN_NLIN);
}

void swin_init_random(Swin *m, uint64_t seed) {
    model_init_random_all(&m->train, &m->frozen, m->lin, m->nblocks * SWIN_NLIN, &m->bind, counted_index_of, m, seed, "norm");
    rng_seed(&m->sd_rng, seed ^ 0x5d5d5d5dull);
}

int swin_load(Swin *m, const char *path, int skip_head, uint64_t head_seed, WbError *err) {
    return model_load_named(&m->train, &m->frozen, m->lin, m->nblocks * SWIN_NLIN, &m->bind, counted_index_of, m, path, "head.",
                            skip_head, head_seed, err);
}

int swin_save(const Swin *m, const char *path, WbError *err) {
    StWriter w;
    st_writer_init(&w);
    const ParamSet *sets[2] = {&m->train, &m->frozen};
    model_sets_save(&w, sets, 2);
    float *buf = model_linears_save(&w, m->lin, m->nblocks * SWIN_NLIN);
    // torchvision's relative_position_index buffers, as floats
    const int T = m->cfg.window * m->cfg.window;
    float *p = mem_alloc_floats((size_t)T * T, MEM_WORKSPACE);
    char nm[PARAM_NAME_MAX + 8];
    for (int i = 0; i < T * T; i++) p[i] = (float)m->rpi[i];
    for (int l = 0; l < m->nblocks; l++) {
        block_name(nm, sizeof nm, &m->blk[l], "attn.relative_position_index");
        st_writer_add(&w, nm, 1, (int[]){T * T}, p);
    }
    st_writer_meta(&w, "format", "pt");
    st_writer_meta(&w, "producer", "wasibench");
    int rc = st_writer_save(&w, path, err);
    st_writer_free(&w);
    mem_free(buf);
    mem_free(p);
    return rc;
}

// --- forward --------------------------------------------------------------------

// A ping-pong workspace buffer other than `avoid`.
static float *other(const Swin *m, const float *avoid) { return avoid == m->xa ? m->xb : m->xa; }

// Block l: x (B,H,W,C) -> returns its output (B,H,W,C): out_saved, or a
// ping-pong workspace buffer when out_saved is NULL. a: the buffers that
// keep what backward needs (NULL fields: the forward scratch); save: keep
// them and apply stochastic depth; lin_training: the linears keep theirs.
// rerun (backward's re-run under recompute): the drop-path scales already
// in a are replayed, not drawn, and the output is not formed (returns NULL).
static float *block_forward(Swin *m, int l, const SwinBlockActs *a, const float *x, float *out_saved, int B, int save,
                            int lin_training, int rerun) {
    const SwinBlock *b = &m->blk[l];
    const int H = b->H, W = b->W, C = b->C, NH = b->NH, T = b->T, ws = m->cfg.window;
    const int BHW = B * H * W;
    const long nC = (long)H * W * C;
    #define ACT(field, ws_buf) ((save && a->field) ? a->field : (ws_buf))
    char nw[PARAM_NAME_MAX], nb[PARAM_NAME_MAX];

    // x_mid = x + sd * reverse(proj(attn(qkv(partition(norm1(x))))))
    block_name(nw, sizeof nw, b, "norm1.weight"); block_name(nb, sizeof nb, b, "norm1.bias");
    layernorm_forward(m->ln_out, ACT(ln1_mean, m->ws_mean), ACT(ln1_rstd, m->ws_rstd), x, P(m, nw), P(m, nb), BHW, C,
                      m->cfg.ln_eps);
    window_partition_forward(m->xw, m->ln_out, B, H, W, C, ws, b->sh, b->sw);
    const int wdims[4] = {B, b->nW, T, C};
    float *qkv = ACT(qkv, m->ws_qkv), *att = ACT(att, m->ws_att);
    LinearLayer *Lq = LIN(m, l, SWIN_QKV), *Lp = LIN(m, l, SWIN_PROJ);
    Lq->method->forward(Lq, qkv, m->xw, wdims, 4, lin_training);
    block_name(nw, sizeof nw, b, "attn.relative_position_bias_table");
    relative_bias_forward(m->bias, P(m, nw), m->rpi, NH, ws);
    window_attention_forward(m->att_out, att, qkv, m->bias, (b->sh + b->sw) ? m->regions[b->stage] : NULL,
                             B * b->nW, b->nW, T, C, NH);
    if (save && a->att16) half_pack(a->att16, att, (long)B * b->nW * NH * T * T);   // softmax_f16 (att: ws_att)
    Lp->method->forward(Lp, m->proj_out, m->att_out, wdims, 4, lin_training);
    window_reverse_forward(m->tmp, m->proj_out, B, H, W, C, ws, b->sh, b->sw);
    float *sd = (save && a->sd_attn) ? a->sd_attn : NULL;
    if (sd && !rerun) drop_path_draw(sd, &m->sd_rng, b->sd_prob, B);
    float *xm = ACT(x_mid, other(m, x));
    drop_path_residual_forward(xm, x, m->tmp, sd, B, nC);

    // out = x_mid + sd * fc2(gelu(fc1(norm2(x_mid))))
    block_name(nw, sizeof nw, b, "norm2.weight"); block_name(nb, sizeof nb, b, "norm2.bias");
    layernorm_forward(m->ln_out, ACT(ln2_mean, m->ws_mean), ACT(ln2_rstd, m->ws_rstd), xm, P(m, nw), P(m, nb), BHW, C,
                      m->cfg.ln_eps);
    const int d1[4] = {B, H, W, C}, d2[4] = {B, H, W, b->hidden};
    float *h = ACT(h, m->ws_h);
    LinearLayer *L1 = LIN(m, l, SWIN_FC1), *L2 = LIN(m, l, SWIN_FC2);
    L1->method->forward(L1, h, m->ln_out, d1, 4, lin_training);
    if (save && a->dgelu16) gelu_forward_f16grad(m->g, a->dgelu16, h, (long)BHW * b->hidden);
    else gelu_forward(m->g, h, (long)BHW * b->hidden);
    L2->method->forward(L2, m->tmp, m->g, d2, 4, lin_training);
    sd = (save && a->sd_mlp) ? a->sd_mlp : NULL;
    if (sd && !rerun) drop_path_draw(sd, &m->sd_rng, b->sd_prob, B);
    if (rerun) return NULL;   // backward needs only what a now holds
    float *out = out_saved ? out_saved : other(m, xm);
    drop_path_residual_forward(out, xm, m->tmp, sd, B, nC);
    #undef ACT
    return out;
}

// Where block l's output goes: the next block's saved input, the final
// norm's saved input, or (NULL) a workspace buffer.
static float *block_dest(const Swin *m, int l, int training) {
    if (!training) return NULL;
    const SwinBlock *b = &m->blk[l];
    if (l + 1 == m->nblocks) return m->xf;
    if (b->index + 1 < m->cfg.depths[b->stage]) return m->acts[l + 1].x_in;
    return NULL;   // the patch merging reads it and keeps its own copy
}

float swin_forward(Swin *m, const float *img, const int *targets, int B, int training) {
    const SwinConfig *c = &m->cfg;
    const int S = c->stages, K = c->num_classes, C0 = c->embed_dim;
    CHECK(B >= 1 && B <= m->B, "batch %d larger than the model's buffers (%d)", B, m->B);
    m->Bcur = B;
    m->training = training;
    m->img = img;   // the caller's (data memory); backward reads it again for the conv
    char nm[PARAM_NAME_MAX], nb[PARAM_NAME_MAX];

    const int rows0 = B * m->H0 * m->W0;
    float *pe = (training && m->emb_in) ? m->emb_in : m->patches;
    patch_embed_forward(pe, m->col, img, P(m, "features.0.0.weight"), P(m, "features.0.0.bias"), B, c->channels,
                        c->image_size, c->image_size, c->patch, C0);
    float *x = (training && m->acts[0].x_in) ? m->acts[0].x_in : m->xa;
    layernorm_forward(x, (training && m->emb_mean) ? m->emb_mean : m->ws_mean,
                      (training && m->emb_rstd) ? m->emb_rstd : m->ws_rstd, pe, P(m, "features.0.2.weight"),
                      P(m, "features.0.2.bias"), rows0, C0, c->ln_eps);
    // recompute: the linears save nothing now; backward re-runs each block saving
    const int lin_training = training && !c->recompute;
    for (int l = 0; l < m->nblocks; l++) {
        const SwinBlock *b = &m->blk[l];
        x = block_forward(m, l, &m->acts[l], x, block_dest(m, l, training), B, training, lin_training, 0);
        if (b->index + 1 == c->depths[b->stage] && b->stage < S - 1) {
            // patch merging: gather, LayerNorm(4C), reduction Linear(4C, 2C)
            int s = b->stage, C = b->C, H2 = (b->H + 1) / 2, W2 = (b->W + 1) / 2, r2 = B * H2 * W2;
            SwinMergeActs *ma = &m->merge[s];
            int save = training && ma->xg;
            float *xg = save ? ma->xg : m->ws_xg, *xn = save ? ma->xn : m->ws_xn;
            patch_merge_forward(xg, x, B, b->H, b->W, C);
            merge_name(nm, sizeof nm, s, "norm.weight"); merge_name(nb, sizeof nb, s, "norm.bias");
            layernorm_forward(xn, save ? ma->mean : m->ws_mean, save ? ma->rstd : m->ws_rstd, xg, P(m, nm), P(m, nb),
                              r2, 4 * C, c->ln_eps);
            float *nx = (training && m->acts[l + 1].x_in) ? m->acts[l + 1].x_in : other(m, x);
            merge_name(nm, sizeof nm, s, "reduction.weight");
            linear_forward(nx, xn, P(m, nm), NULL, r2, 4 * C, 2 * C);
            x = nx;
        }
    }
    const SwinBlock *lb = &m->blk[m->nblocks - 1];
    const int Cl = lb->C, Nl = lb->H * lb->W;
    int save = training && m->xf;
    // x is m->xf already when saved (block_dest)
    layernorm_forward(m->ln_out, save ? m->lnf_mean : m->ws_mean, save ? m->lnf_rstd : m->ws_rstd, x,
                      P(m, "norm.weight"), P(m, "norm.bias"), B * Nl, Cl, c->ln_eps);
    avgpool_forward(m->pooled, m->ln_out, B, Nl, Cl);
    linear_forward(m->logits, m->pooled, P(m, "head.weight"), P(m, "head.bias"), B, Cl, K);
    if (!targets) return 0.0f;
    memcpy(m->targets, targets, sizeof(int) * (size_t)B);
    return crossentropy_forward(m->probs, m->logits, targets, B, K);
}

// --- backward -------------------------------------------------------------------

// Block l with its saved activations a: m->dres holds d(out) on entry and
// d(x) on exit. Returns 0 when nothing before this point needs gradients
// (backward stops).
static int block_backward(Swin *m, int l, const SwinBlockActs *a) {
    const SwinBlock *b = &m->blk[l];
    const int B = m->Bcur, H = b->H, W = b->W, C = b->C, NH = b->NH, T = b->T, ws = m->cfg.window;
    const int base = b->base, p0 = m->p0, BHW = B * H * W;
    const long nC = (long)H * W * C;
    const size_t BHWC = (size_t)BHW * C, BHWH = (size_t)BHW * b->hidden, BWC = (size_t)B * b->nW * T * C;
    char nw[PARAM_NAME_MAX], nb[PARAM_NAME_MAX];

    // MLP: out = x_mid + sd * fc2(gelu(fc1(norm2(x_mid))))
    const float *dy = m->dres;
    if (a->sd_mlp) {
        memset(m->dtmp, 0, sizeof(float) * BHWC);
        drop_path_residual_backward(m->dtmp, a->sd_mlp, m->dres, B, nC);
        dy = m->dtmp;
    }
    LinearLayer *L2 = LIN(m, l, SWIN_FC2), *L1 = LIN(m, l, SWIN_FC1);
    int need = base + 7 > p0;
    if (need) memset(m->dg, 0, sizeof(float) * BHWH);
    L2->method->backward(L2, need ? m->dg : NULL, dy);
    if (!need) return 0;
    memset(m->dh, 0, sizeof(float) * BHWH);
    if (a->dgelu16) gelu_backward_f16grad(m->dh, a->dgelu16, m->dg, (long)BHWH);
    else gelu_backward(m->dh, a->h, m->dg, (long)BHWH);
    need = base + 5 > p0;
    if (need) memset(m->dln, 0, sizeof(float) * BHWC);
    L1->method->backward(L1, need ? m->dln : NULL, m->dh);
    if (!need) return 0;
    block_name(nw, sizeof nw, b, "norm2.weight"); block_name(nb, sizeof nb, b, "norm2.bias");
    layernorm_backward(base + 4 > p0 ? m->dres : NULL, G(m, nw), G(m, nb), m->dln, a->x_mid, P(m, nw), a->ln2_mean,
                       a->ln2_rstd, BHW, C);
    if (base + 4 <= p0) return 0;

    // Attention: x_mid = x + sd * reverse(proj(attn(qkv(partition(norm1(x))))))
    dy = m->dres;
    if (a->sd_attn) {
        memset(m->dtmp, 0, sizeof(float) * BHWC);
        drop_path_residual_backward(m->dtmp, a->sd_attn, m->dres, B, nC);
        dy = m->dtmp;
    }
    memset(m->dproj, 0, sizeof(float) * BWC);
    window_reverse_backward(m->dproj, dy, B, H, W, C, ws, b->sh, b->sw);
    LinearLayer *Lp = LIN(m, l, SWIN_PROJ), *Lq = LIN(m, l, SWIN_QKV);
    need = base + 3 > p0;
    if (need) memset(m->datt_out, 0, sizeof(float) * BWC);
    Lp->method->backward(Lp, need ? m->datt_out : NULL, m->dproj);
    if (!need) return 0;
    block_name(nw, sizeof nw, b, "attn.relative_position_bias_table");
    float *dtable = G(m, nw);
    memset(m->dqkv, 0, sizeof(float) * 3 * BWC);
    if (dtable) memset(m->dbias, 0, sizeof(float) * (size_t)NH * T * T);
    const float *att = a->att;
    if (a->att16) { half_unpack(m->ws_att, a->att16, (long)B * b->nW * NH * T * T); att = m->ws_att; }
    window_attention_backward(m->dqkv, dtable ? m->dbias : NULL, m->datt, m->datt_out, a->qkv, att, B * b->nW, T, C,
                              NH);
    relative_bias_backward(dtable, m->dbias, m->rpi, NH, ws);
    need = base + 1 > p0;
    if (need) memset(m->dxw, 0, sizeof(float) * BWC);
    Lq->method->backward(Lq, need ? m->dxw : NULL, m->dqkv);
    if (!need) return 0;
    memset(m->dln, 0, sizeof(float) * BHWC);
    window_partition_backward(m->dln, m->dxw, B, H, W, C, ws, b->sh, b->sw);
    block_name(nw, sizeof nw, b, "norm1.weight"); block_name(nb, sizeof nb, b, "norm1.bias");
    layernorm_backward(base > p0 ? m->dres : NULL, G(m, nw), G(m, nb), m->dln, a->x_in, P(m, nw), a->ln1_mean,
                       a->ln1_rstd, BHW, C);
    return base > p0;
}

// Patch merging after stage s: m->dres holds d(merged map) on entry and
// d(stage-s map) on exit. Returns 0 when backward stops here.
static int merge_backward(Swin *m, int s, const SwinBlock *b) {
    const int B = m->Bcur, C = b->C, H2 = (b->H + 1) / 2, W2 = (b->W + 1) / 2, r2 = B * H2 * W2;
    const SwinMergeActs *ma = &m->merge[s];
    const int mp = m->merge_pos[s];
    const size_t g2 = (size_t)r2 * 4 * C;
    char nw[PARAM_NAME_MAX], nb[PARAM_NAME_MAX];
    int need = mp > m->p0;
    merge_name(nw, sizeof nw, s, "reduction.weight");
    if (need) memset(m->dln, 0, sizeof(float) * g2);
    linear_backward(need ? m->dln : NULL, G(m, nw), NULL, m->dres, ma->xn, P(m, nw), r2, 4 * C, 2 * C);
    if (!need) return 0;
    merge_name(nw, sizeof nw, s, "norm.weight"); merge_name(nb, sizeof nb, s, "norm.bias");
    memset(m->dtmp, 0, sizeof(float) * g2);
    layernorm_backward(m->dtmp, G(m, nw), G(m, nb), m->dln, ma->xg, P(m, nw), ma->mean, ma->rstd, r2, 4 * C);
    memset(m->dres, 0, sizeof(float) * (size_t)B * b->H * b->W * C);
    patch_merge_backward(m->dres, m->dtmp, B, b->H, b->W, C);
    return 1;
}

// recompute: what block l's re-run saves into: racts (sized for the largest
// block) without the fields this block does not save (they may be smaller
// than its map: sized by a later stage), plus its own input and scales.
static SwinBlockActs rerun_view(const Swin *m, int l) {
    const SwinBlockActs *a = &m->acts[l];
    SwinBlockActs v = m->racts;
    SwinBlockSaved z = swin_block_saved(&m->blk[l], m->p0, m->B);
    if (!z.ln1) v.ln1_mean = v.ln1_rstd = NULL;
    if (!z.qkv) { v.qkv = v.att = NULL; v.att16 = NULL; }
    if (!z.x_mid) v.x_mid = v.ln2_mean = v.ln2_rstd = NULL;
    if (!z.h) { v.h = NULL; v.dgelu16 = NULL; }
    v.x_in = a->x_in;
    v.sd_attn = a->sd_attn;
    v.sd_mlp = a->sd_mlp;
    return v;
}

void swin_backward(Swin *m) {
    CHECK(m->training, "swin_backward after a forward with training = 0");
    const SwinConfig *c = &m->cfg;
    const int B = m->Bcur, K = c->num_classes, S = c->stages, C0 = c->embed_dim;
    const SwinBlock *lb = &m->blk[m->nblocks - 1];
    const int Cl = lb->C, Nl = lb->H * lb->W;

    m->grads_clear = 0;   // gradients accumulate from here on
    memset(m->dlogits, 0, sizeof(float) * (size_t)B * K);
    crossentropy_backward(m->dlogits, m->probs, m->targets, B, K);
    memset(m->dpooled, 0, sizeof(float) * (size_t)B * Cl);
    linear_backward(m->dpooled, G(m, "head.weight"), G(m, "head.bias"), m->dlogits, m->pooled, P(m, "head.weight"), B,
                    Cl, K);
    if (m->pos_norm < m->p0) return;   // only the head trains
    memset(m->dln, 0, sizeof(float) * (size_t)B * Nl * Cl);
    avgpool_backward(m->dln, m->dpooled, B, Nl, Cl);
    memset(m->dres, 0, sizeof(float) * (size_t)B * Nl * Cl);
    layernorm_backward(m->dres, G(m, "norm.weight"), G(m, "norm.bias"), m->dln, m->xf, P(m, "norm.weight"), m->lnf_mean,
                       m->lnf_rstd, B * Nl, Cl);
    for (int l = m->nblocks - 1; l >= 0; l--) {
        const SwinBlock *b = &m->blk[l];
        if (b->index + 1 == c->depths[b->stage] && b->stage < S - 1)
            if (!merge_backward(m, b->stage, b)) return;
        const SwinBlockActs *a = &m->acts[l];
        SwinBlockActs view;
        if (c->recompute) {   // re-run the block from its saved input (same drop-path scales), saving into racts
            view = rerun_view(m, l);
            Phase prev = phase_set(PHASE_RECOMPUTE);
            block_forward(m, l, &view, view.x_in, NULL, B, 1, 1, 1);
            phase_set(prev);
            a = &view;
        }
        if (!block_backward(m, l, a)) return;
    }
    // Embedding: x_0 = LayerNorm(conv(img)); dres holds d x_0.
    const int rows0 = B * m->H0 * m->W0;
    memset(m->dln, 0, sizeof(float) * (size_t)rows0 * C0);
    layernorm_backward(m->dln, G(m, "features.0.2.weight"), G(m, "features.0.2.bias"), m->dres, m->emb_in,
                       P(m, "features.0.2.weight"), m->emb_mean, m->emb_rstd, rows0, C0);
    patch_embed_backward(G(m, "features.0.0.weight"), G(m, "features.0.0.bias"), m->col, m->dln, m->img, B,
                         c->channels, c->image_size, c->image_size, c->patch, C0);
}

// --- parameters, update, accounting -------------------------------------------------

ModelParams swin_params(Swin *m) {
    ModelParams mp = {&m->train, m->lin, m->nblocks * SWIN_NLIN, &m->grads_clear};
    return mp;
}

static int counted_linear(const void *ctx, int i) { return swin_is_counted(ctx, i / SWIN_NLIN, i % SWIN_NLIN); }

SwinPaperMemory swin_paper_memory(const Swin *m) {
    return mparams_paper_memory(m->lin, m->nblocks * SWIN_NLIN, counted_linear, m);
}
