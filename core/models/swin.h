// swin.h: the Swin Transformer, with exactly torchvision's swin_t layout and
// parameter names (features.0 = patch partition Conv2d(Cin, C, P, P) +
// LayerNorm; features.{1,3,5,7} = stages of SwinTransformerBlocks alternating
// shift 0 and window/2; features.{2,4,6} = PatchMerging; norm, avgpool, head),
// any image size that is a multiple of the patch. Feature maps keep the
// (B,H,W,C) layout. The four linears of every block are LinearLayer objects
// bound to a LinearMethod, each with a 4-mode activation:
//   attn.qkv, attn.proj  (B, nW, T, C)  the windowed map torchvision feeds
//                        them: nW windows per image (padded ones included),
//                        T = window^2 tokens each
//   mlp.0 (fc1)          (B, H, W, C)
//   mlp.3 (fc2)          (B, H, W, 4C)
// so hosvd/asi/wasi compress every counted linear with four factors and one
// act_ranks[4] serves all of them. Everything else (patch embedding, the
// LayerNorms, the window attention core with its relative position bias,
// GELU, residuals, patch merging with its reduction, the final norm, pool
// and head) is shared and trained with plain gradients.
// Lifecycle: swin_build -> swin_init_random | swin_load -> (swin_forward,
// swin_backward, mparams_update(swin_params(m), ...))* -> swin_free.
//
// Semantics are torchvision 0.14's (swin_transformer.py): maps that are not
// a multiple of the window are zero-padded and the padded tokens take part
// in the attention (unmasked); the shift is dropped along a dimension that
// one window covers; the window itself is never shrunk (the original Swin
// code clips it to the map, torchvision does not).
#ifndef WB_SWIN_H
#define WB_SWIN_H

#include "core/runtime/common.h"
#include "core/nn/linear_method.h"
#include "core/train/params.h"
#include "core/runtime/rng.h"
#include "core/models/model_binding.h"

#define SWIN_MAX_STAGES 4

typedef struct {
    int image_size;          // H = W of the input
    int patch;               // P
    int channels;            // Cin
    int embed_dim;           // C of stage 0; stage s has C << s
    int stages;              // 1..SWIN_MAX_STAGES
    int depths[SWIN_MAX_STAGES];
    int heads[SWIN_MAX_STAGES];  // NH per stage
    int window;              // ws (square windows)
    int mlp_ratio;           // hidden = mlp_ratio * C
    int num_classes;         // K
    float ln_eps;            // 1e-5 as torchvision
    float stochastic_depth;  // p of the last block, linear in the block index (torchvision); 0 = off
    // memory section, as ViTConfig's: gelu_f16, softmax_f16 (approximate) keep
    // the GELU derivative / the window attention's probabilities as float16;
    // recompute (exact) keeps each block's input (and its drop-path scales) and
    // re-runs the block's forward in backward into one set sized for the largest block
    int gelu_f16, softmax_f16, recompute;
} SwinConfig;

// Presets: swin_t, swin_s, swin_b (torchvision sizes, 224 px, 1000 classes;
// stochastic depth 0 for training parity, where torchvision draws 0.2 /
// 0.3 / 0.5), swin_micro (tests/demo: 32 px, P 2, C 32, depths 2-2-2,
// heads 2-4-8, window 4, 10 classes). Returns -1 for an unknown name.
int swin_preset(const char *name, SwinConfig *cfg);
const char *swin_preset_names(void);

// Linears in every block, in forward order.
enum { SWIN_QKV = 0, SWIN_PROJ, SWIN_FC1, SWIN_FC2, SWIN_NLIN };

// ModelBinding's fields mean the same here: all_linear 0 counts fc1, fc2
// (layers: mlp); 1 also qkv and proj (ARCHITECTURE.md "Which layers").
typedef ModelBinding SwinBinding;
typedef ModelPaperMemory SwinPaperMemory;

typedef struct {           // one block's geometry, from the config
    int stage, index;      // torchvision features.{1+2 stage}.{index}
    int H, W, C, NH, hidden;
    int sh, sw;            // effective shift (0 on a dimension one window covers)
    int Hp, Wp, nW, T;     // padded map, windows per image, tokens per window
    int base;              // position of norm1 (see swin.c)
    float sd_prob;         // stochastic-depth probability of this block
} SwinBlock;

// The blocks' geometry and positions (swin.c "Positions"), as swin_build
// lays them out, for the model and its memory plan (swin_cost.h):
// swin_layout fills blk (swin_num_blocks entries) and merge_pos[s] (the
// patch merging after stage s < stages - 1) and returns the final norm's
// position (the head's is the next).
int swin_num_blocks(const SwinConfig *cfg);
int swin_layout(const SwinConfig *cfg, SwinBlock *blk, int merge_pos[SWIN_MAX_STAGES]);
int swin_linear_position(const SwinBlock *b, int which);   // which: SWIN_QKV..SWIN_FC2
// p0, the first trainable position, from bind->num_finetune (-1: 0; 0: the
// head's; n: the first of the last n counted linears).
int swin_first_trainable(const ModelBinding *bind, const SwinBlock *blk, int nblocks, int pos_head);
// Elements of what block b saves for backward when p0 is the first trainable
// position (0: nothing); ln = each of a LayerNorm's two stats.
typedef struct { size_t x_in, ln1, qkv, att, x_mid, ln2, h; } SwinBlockSaved;
SwinBlockSaved swin_block_saved(const SwinBlock *b, int p0, int B);

typedef struct {
    float *x_in, *ln1_mean, *ln1_rstd;   // (B,H,W,C), (B,H,W), (B,H,W)  norm1 input and stats
    float *qkv, *att;                    // (B,nW,T,3C), (B,nW,NH,T,T)
    float *x_mid, *ln2_mean, *ln2_rstd;  // (B,H,W,C), (B,H,W), (B,H,W)  norm2 input and stats
    float *h;                            // (B,H,W,hidden) fc1 output = GELU input
    uint16_t *dgelu16, *att16;           // gelu_f16: gelu'(h) instead of h; softmax_f16: att as float16
    float *sd_attn, *sd_mlp;             // (B) stochastic-depth scales, NULL when the block has p = 0
                                         // (recompute: kept per block, so the re-run drops the same paths)
} SwinBlockActs;

typedef struct {
    float *xg, *mean, *rstd, *xn;        // (B,H2,W2,4C) gathered, (B,H2,W2) x2, normalised (reduction input)
} SwinMergeActs;

typedef struct {
    SwinConfig cfg;
    SwinBinding bind;
    int B;                 // batch size the buffers are sized for (forward takes any B' <= B)
    int Bcur, p0, training;
    int nblocks;
    SwinBlock *blk;        // (nblocks)
    int H0, W0;            // map after the patch embedding
    int merge_pos[SWIN_MAX_STAGES];   // position of the patch merging after stage s (s < stages - 1)
    int pos_norm, pos_head;
    int *rpi;              // (T,T) relative position index
    int *regions[SWIN_MAX_STAGES];    // (nW,T) mask regions of stage s's shifted blocks; NULL: no mask

    ParamSet train;        // trainable non-linear parameters (torchvision names)
    ParamSet frozen;
    LinearLayer *lin;      // (nblocks, SWIN_NLIN)

    SwinBlockActs *acts;   // (nblocks) saved for backward (NULL parts when inactive; recompute: x_in, sd_*)
    SwinBlockActs racts;   // recompute: the one set backward's re-runs fill, each field at its largest block's size
    SharedInput rx[SWIN_NLIN];   // recompute: the linears' saved inputs, one per kind (qkv, proj, fc1, fc2)
    SwinMergeActs merge[SWIN_MAX_STAGES];
    float *emb_in, *emb_mean, *emb_rstd;    // (B,H0,W0,C0) patch embedding output, (B,H0,W0) x2
    float *xf, *lnf_mean, *lnf_rstd;        // final norm input (B,Hl,Wl,Cl), stats
    float *pooled, *probs;                  // (B,Cl) head input, (B,K)
    float *logits;                          // (B,K) workspace output
    // workspace (shared across blocks, sized for the largest)
    float *col, *patches, *xa, *xb, *ln_out, *xw, *ws_qkv, *ws_att, *att_out, *proj_out, *tmp, *ws_h, *g;
    float *ws_mean, *ws_rstd, *ws_xg, *ws_xn, *bias;
    float *dres, *dln, *dtmp, *dxw, *dqkv, *datt, *datt_out, *dproj, *dh, *dg, *dbias, *dpooled, *dlogits;
    Rng sd_rng;            // stochastic-depth draws
    int *targets;          // (B)
    const float *img;      // (B,Cin,H,W) the last forward's batch, owned by the caller
    int grads_clear;       // every gradient is 0 (left so by mparams_update_clipped; swin_backward resets it)
} Swin;

void swin_build(Swin *m, const SwinConfig *cfg, const SwinBinding *bind, int B);
void swin_free(Swin *m);

// Fill every parameter (and init every linear's method) from a seeded RNG;
// also seeds the stochastic-depth draws.
void swin_init_random(Swin *m, uint64_t seed);
// Load torchvision-named weights from a safetensors file (relative_position_index
// buffers are ignored: the model computes them). skip_head = 1 keeps head
// random (fine-tuning with a new head). Returns -1 with err set on a missing
// tensor, a shape mismatch or a corrupt file.
int swin_load(Swin *m, const char *path, int skip_head, uint64_t head_seed, WbError *err);
// Every parameter under its torchvision name (linears through export_dense),
// plus the relative_position_index buffers (as F32) so torchvision loads the
// file with strict=True.
int swin_save(const Swin *m, const char *path, WbError *err);

// img (B,Cin,H,W) -> logits (B,K) = m->logits. training = 1 saves for backward
// (and draws stochastic depth). With targets != NULL returns the mean cross-entropy.
float swin_forward(Swin *m, const float *img, const int *targets, int B, int training);
// Gradients of the last training forward's loss; accumulates into every grad.
void swin_backward(Swin *m);
// The trainable parameters for core/models/model_params.h (as vit_params).
struct ModelParams swin_params(Swin *m);

// The counted linears (the paper's measure) and per-layer access.
SwinPaperMemory swin_paper_memory(const Swin *m);
// The counted-linear rule on a binding alone (the family and the cost model ask it).
int swin_linear_counted(const ModelBinding *bind, int block, int which);
int swin_is_counted(const Swin *m, int block, int which);
int swin_counted_index(const Swin *m, int block, int which);   // -1 if not counted
LinearLayer *swin_linear(const Swin *m, int block, int which);

#endif
