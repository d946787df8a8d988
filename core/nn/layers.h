// layers.h: the method-agnostic layers of a ViT, each a forward/backward
// pair over plain pointers (outputs first, then what forward saves for
// backward, then inputs, weights, dimensions). Layers never allocate and
// never see a model struct. Every *_backward ACCUMULATES (+=) into its
// outputs; any gradient output may be NULL when it is not needed.
// FLOPs are charged to the current phase: GEMMs through gemm(), element-wise
// work with the per-element counts written beside each kernel.
// One file per layer: linear.c, layernorm.c, gelu.c, attention.c,
// patch_embed.c, tokens.c, residual.c, loss.c.
#ifndef WB_LAYERS_H
#define WB_LAYERS_H

#include <stddef.h>
#include <stdint.h>

// --- linear.c: out = inp w^T + b -------------------------------------------
// inp (BN,I), w (O,I), b (O) or NULL, out (BN,O)
void linear_forward(float *out, const float *inp, const float *w, const float *b, int BN, int I, int O);
// dinp (BN,I) += dout w; dw (O,I) += dout^T inp; db (O) += sum_rows dout
void linear_backward(float *dinp, float *dw, float *db, const float *dout, const float *inp, const float *w,
                     int BN, int I, int O);
// The bias halves, shared with the methods' own linears (baselines/wasi.c):
// out (BN,O) rows = b, for a following beta = 1 GEMM (charges nothing: the
// caller charges the BN*O adds); db (O) += sum over rows of dout (BN,O)
// (charges BN*O; each column summed over the rows in order).
void bias_fill(float *out, const float *b, int BN, int O);
void bias_grad_accumulate(float *db, const float *dout, int BN, int O);

// --- layernorm.c: per-row LayerNorm over C (torch.nn.LayerNorm, biased variance)
// inp (BN,C), w (C), b (C), out (BN,C), mean (BN), rstd (BN) saved for backward
void layernorm_forward(float *out, float *mean, float *rstd, const float *inp, const float *w, const float *b,
                       int BN, int C, float eps);
void layernorm_backward(float *dinp, float *dw, float *db, const float *dout, const float *inp, const float *w,
                        const float *mean, const float *rstd, int BN, int C);

// --- gelu.c: exact GELU 0.5 x (1 + erf(x / sqrt 2)) (torch.nn.GELU() default)
// inp (n), out (n)
void gelu_forward(float *out, const float *inp, long n);
void gelu_backward(float *dinp, const float *inp, const float *dout, long n);
// out may be inp (in place). The _inplace backwards overwrite the output
// gradient d with the input gradient (d := gelu' d, not +=): the same as
// gelu_backward into a zeroed buffer, for a caller that needs d no more.
void gelu_backward_inplace(float *d, const float *inp, long n);
// memory.gelu_f16: forward keeps gelu'(inp) as float16 in dgrad (n), backward uses it (approximate).
void gelu_forward_f16grad(float *out, uint16_t *dgrad, const float *inp, long n);
void gelu_backward_f16grad(float *dinp, const uint16_t *dgrad, const float *dout, long n);
void gelu_backward_f16grad_inplace(float *d, const uint16_t *dgrad, long n);

// --- attention.c: multi-head scaled dot-product self-attention core
// (torch.nn.MultiheadAttention between in_proj and out_proj, no mask, no dropout).
// q, k, v (B,N,C) with head h in channels [h*hs, (h+1)*hs), hs = C/NH.
// att (B,NH,N,N) softmax probabilities, saved; out (B,N,C) heads concatenated.
void attention_forward(float *out, float *att, const float *q, const float *k, const float *v,
                       int B, int N, int C, int NH);
// scratch (B,NH,N,N) workspace for d(att); dq, dk, dv (B,N,C) accumulate.
void attention_backward(float *dq, float *dk, float *dv, float *scratch, const float *dout,
                        const float *q, const float *k, const float *v, const float *att,
                        int B, int N, int C, int NH);

// The softmax backward of the attention cores, in place on each of `rows`
// rows of n: d = a * (d - <a, d>) with a the saved probabilities and d the
// gradient of the probabilities on entry, of the scores on exit. Inline:
// it runs inside their per-head loops (4 n FLOPs a row, charged by them).
static inline void softmax_rows_backward(float *D, const float *A, int rows, int n) {
    for (int i = 0; i < rows; i++) {
        const float *a = A + (size_t)i * n;
        float *d = D + (size_t)i * n;
        float dot = 0.0f;
#pragma omp simd reduction(+ : dot)
        for (int j = 0; j < n; j++) dot += a[j] * d[j];
#pragma omp simd
        for (int j = 0; j < n; j++) d[j] = a[j] * (d[j] - dot);
    }
}

// --- patch_embed.c: Conv2d(Cin, C, kernel=P, stride=P) as im2col + GEMM
// img (B,Cin,H,W) NCHW, w (C,Cin,P,P), b (C), out (B,nP,C) with nP = (H/P)*(W/P)
// in row-major patch order (torchvision's flatten(2).transpose(1,2)).
// col (B*nP, Cin*P*P) workspace.
void patch_embed_forward(float *out, float *col, const float *img, const float *w, const float *b,
                         int B, int Cin, int H, int W, int P, int C);
// dw, db accumulate; the image needs no gradient. col is workspace again.
void patch_embed_backward(float *dw, float *db, float *col, const float *dout, const float *img,
                          int B, int Cin, int H, int W, int P, int C);
// The same with col holding col_images images only (col_images*nP, Cin*P*P):
// im2col and the GEMMs run that many images at a time (the ViT: a small col at any batch).
void patch_embed_forward_cols(float *out, float *col, int col_images, const float *img, const float *w, const float *b,
                              int B, int Cin, int H, int W, int P, int C);
void patch_embed_backward_cols(float *dw, float *db, float *col, int col_images, const float *dout, const float *img,
                               int B, int Cin, int H, int W, int P, int C);

// --- tokens.c: prepend the class token and add the position embedding
// patches (B,nP,C), cls (C), pos (N,C) with N = nP+1, out (B,N,C)
void tokens_forward(float *out, const float *patches, const float *cls, const float *pos, int B, int nP, int C);
void tokens_backward(float *dpatches, float *dcls, float *dpos, const float *dout, int B, int nP, int C);
// out (B,C) = inp[:, 0, :] of inp (B,N,C); backward scatters into row 0 of each image.
void take_class_token_forward(float *out, const float *inp, int B, int N, int C);
void take_class_token_backward(float *dinp, const float *dout, int B, int N, int C);

// --- residual.c: out = a + b
void residual_forward(float *out, const float *a, const float *b, long n);
void residual_backward(float *da, float *db, const float *dout, long n);

// --- loss.c: softmax cross-entropy, mean over the batch (torch F.cross_entropy)
// logits (B,K), targets (B) in [0,K), probs (B,K) saved; returns the mean loss.
float crossentropy_forward(float *probs, const float *logits, const int *targets, int B, int K);
// dlogits (B,K) += (probs - onehot) / B
void crossentropy_backward(float *dlogits, const float *probs, const int *targets, int B, int K);
// number of rows whose argmax equals the target
int count_correct(const float *logits, const int *targets, int B, int K);

#endif
