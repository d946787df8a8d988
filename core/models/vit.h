// vit.h: the Vision Transformer, with exactly torchvision's parameter names
// and layout (vit_b_32 and friends), any size. Linear layers inside the
// blocks are LinearLayer objects bound to a LinearMethod; everything else
// (patch embedding, tokens, LayerNorm, attention core, GELU, residuals, the
// final LayerNorm and the head) is shared and trained with plain gradients.
// Lifecycle: vit_build -> vit_init_random | vit_load -> (vit_forward,
// vit_backward, mparams_update(vit_params(m), ...))* -> vit_free.
#ifndef WB_VIT_H
#define WB_VIT_H

#include "core/runtime/common.h"
#include "core/nn/linear_method.h"
#include "core/models/model_binding.h"
#include "core/train/params.h"

typedef struct {
    int image_size;   // H = W
    int patch;        // P
    int channels;     // Cin
    int dim;          // C
    int depth;        // number of encoder blocks
    int heads;        // NH
    int mlp_dim;      // hidden size of the MLP (4C in the presets)
    int num_classes;  // K
    float ln_eps;     // 1e-6 as torchvision
    // memory section, approximate (0 = exact float32): GELU saves its derivative,
    // attention its probabilities, as float16 (ARCHITECTURE.md "Memory")
    int gelu_f16, softmax_f16;
    // memory.recompute (exact): forward keeps only each block's input and
    // runs the linears without saving; backward re-runs each block's forward
    // (saving, in PHASE_RECOMPUTE) into one shared set just before its backward
    int recompute;
} ViTConfig;

// Presets: vit_b_32, vit_b_16, vit_l_32 (torchvision), vit_small_32/16
// (C 384, 6 heads), vit_tiny_32/16 (C 192, 3 heads), vit_micro (tests/demo:
// 32 px, P 8, C 64, depth 4, 4 heads, MLP 128). Returns -1 for an unknown name.
int vit_preset(const char *name, ViTConfig *cfg);
const char *vit_preset_names(void);  // comma-separated list, for error messages

// The patch embedding's im2col runs this many images at a time (its workspace
// col holds min(B, VIT_COL_IMAGES) images, not the batch).
#define VIT_COL_IMAGES 8

// Linears in every block, in forward order. q, k, v are the three row
// blocks of torchvision's packed self_attention.in_proj_weight.
enum { VIT_Q = 0, VIT_K, VIT_V, VIT_OUT, VIT_FC1, VIT_FC2, VIT_NLIN };

// How the linears are bound to methods: the model-neutral binding.
typedef ModelBinding ViTBinding;

typedef struct {
    float *x_in, *ln1_mean, *ln1_rstd;   // (B,N,C), (B,N), (B,N)  ln_1 input and stats
    float *q, *k, *v, *att;              // (B,N,C) x3, (B,NH,N,N)
    float *x_mid, *ln2_mean, *ln2_rstd;  // (B,N,C), (B,N), (B,N)  ln_2 input and stats
    float *h;                            // (B,N,M) fc1 output = GELU input
    uint16_t *dgelu16, *att16;           // gelu_f16: gelu'(h) instead of h; softmax_f16: att as float16
} ViTBlockActs;

typedef struct {
    ViTConfig cfg;
    ViTBinding bind;
    int B;             // batch size the buffers are sized for (forward takes any B' <= B)
    int N, nP;         // tokens (nP + 1), patches
    int Bcur;          // batch size of the last forward
    int p0;            // first trainable position in forward order (see vit.c)
    int training;      // last forward saved for backward
    int grads_clear;   // every gradient is 0 (left so by mparams_update_clipped; vit_backward resets it)

    ParamSet train;    // trainable non-linear parameters (torchvision names)
    ParamSet frozen;   // frozen non-linear parameters
    LinearLayer *lin;  // (depth, VIT_NLIN)

    ViTBlockActs *acts;     // (depth) saved for backward, category activations (NULL parts when inactive;
                            // recompute: only x_in)
    ViTBlockActs racts;     // recompute: the one block set backward's re-runs fill (x_in unused)
    SharedInput rx[4];      // recompute: the linears' saved inputs, one for q, k, v (the same x), out, fc1, fc2
    float *cls_tok, *cls_ln, *lnf_mean, *lnf_rstd, *probs;  // (B,C), (B,C), (B), (B), (B,K)
    float *logits;                                         // (B,K) workspace output
    // workspace (shared across blocks)
    float *col, *patches, *ln_out, *att_out, *g, *xa, *xb;
    float *ws_mean, *ws_rstd, *ws_q, *ws_k, *ws_v, *ws_att, *ws_h;
    float *dres, *dln, *datt_out, *dq, *dk, *dv, *datt, *dh, *dg, *dpatches, *dcls_tok, *dcls_ln, *dlogits;
    int *targets;      // (B)
    const float *img;  // (B,Cin,H,W) the last forward's batch, owned by the caller
} ViT;

void vit_build(ViT *m, const ViTConfig *cfg, const ViTBinding *bind, int B);
void vit_free(ViT *m);

// Fill every parameter (and init every linear's method) from a seeded RNG.
void vit_init_random(ViT *m, uint64_t seed);
// Load torchvision-named weights from a safetensors file. skip_head = 1 keeps
// heads.head random (fine-tuning with a new head). Returns -1 with err set on
// a missing tensor, a shape mismatch or a corrupt file.
int vit_load(ViT *m, const char *path, int skip_head, uint64_t head_seed, WbError *err);
// Write every parameter under its torchvision name (linears through export_dense).
int vit_save(const ViT *m, const char *path, WbError *err);

// img (B,Cin,H,W) -> logits (B,K) = m->logits. training = 1 saves for backward.
// With targets != NULL returns the mean cross-entropy (and keeps probs for backward).
float vit_forward(ViT *m, const float *img, const int *targets, int B, int training);
// Gradients of the last training forward's loss; accumulates into every grad.
void vit_backward(ViT *m);
// The trainable parameters (the model's own set and every linear's) for
// core/models/model_params.h: zero_grad, clip, optimizer step, fused clip + step +
// clear, counts. Include model_params.h to call it.
struct ModelParams vit_params(ViT *m);

// Accounting over the counted linears (the paper's measure) and per layer.
typedef ModelPaperMemory ViTPaperMemory;
ViTPaperMemory vit_paper_memory(const ViT *m);
// The counted-linear rule on a binding alone (the family and the cost model ask it).
int vit_linear_counted(const ModelBinding *bind, int block, int which);
int vit_is_counted(const ViT *m, int block, int which);
// Index of linear (block, which) among the counted linears in forward order, -1 if not counted.
int vit_counted_index(const ViT *m, int block, int which);

#endif
