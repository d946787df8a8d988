// llama_layers.h: the layers of the Llama decoder (core/models/llama.h)
// beyond core/nn/layers.h, with the same conventions: outputs first, then
// what forward saves, then inputs, weights, dimensions; layers never
// allocate and never see a model struct; every *_backward ACCUMULATES (+=)
// into its outputs, and a gradient output may be NULL when not needed.
// Token tensors are (B,T,C) row-major; per-sequence lengths len (B) are in
// [1, T] (right padding: positions >= len[b] are padding).
// One file per layer: embedding.c, rmsnorm.c, rope.c, gqa_attention.c,
// swiglu.c, last_token.c.
#ifndef WB_LLAMA_LAYERS_H
#define WB_LLAMA_LAYERS_H

// --- embedding.c: out (BT,C) = wte[ids] of wte (V,C) -----------------------------
// ids (BT) in [0,V) (checked). A gather: no FLOPs.
void embedding_forward(float *out, const int *ids, const float *wte, int BT, int V, int C);
// dwte (V,C) += scatter-add of dout (BT,C) by ids (rows in order: deterministic)
void embedding_backward(float *dwte, const float *dout, const int *ids, int BT, int C);

// --- rmsnorm.c: Hugging Face LlamaRMSNorm in float32 ----------------------------
// out (BT,C) = inp * rsqrt(mean(inp^2) + eps) * w; rstd (BT) saved (may be NULL)
void rmsnorm_forward(float *out, float *rstd, const float *inp, const float *w, int BT, int C, float eps);
// dinp += r (w dout) - inp r^3 mean(inp w dout); dw (C) += sum_rows inp r dout
void rmsnorm_backward(float *dinp, float *dw, const float *dout, const float *inp, const float *w,
                      const float *rstd, int BT, int C);

// --- rope.c: rotary position embedding as Hugging Face Llama ---------------------
// Table for positions 0..T-1 and head size hd (even): cos, sin (T, hd/2) of
// t * inv_freq[i], inv_freq[i] = 1 / theta^(2i/hd) (HF's emb = cat(freqs, freqs)
// repeats the half, so only the half is stored). Built once, no FLOPs charged.
void rope_table(float *cos_t, float *sin_t, int T, int hd, float theta);
// x (B,T,H*hd), head h in channels [h*hd, (h+1)*hd); out = x cos + rotate_half(x) sin,
// rotate_half(x) = cat(-x2, x1). out may equal inp (in place).
void rope_forward(float *out, const float *inp, const float *cos_t, const float *sin_t, int B, int T, int H, int hd);
// dinp (B,T,H*hd) += the transposed rotation of dout; dinp must not alias dout.
void rope_backward(float *dinp, const float *dout, const float *cos_t, const float *sin_t, int B, int T, int H, int hd);

// --- gqa_attention.c: grouped-query causal self-attention core with key padding ---
// q (B,T,NH*hd), k, v (B,T,NKV*hd); query head h reads kv head h / (NH/NKV).
// att (B,NH,T,T) saved: softmax(q_h k_g^T / sqrt(hd)) over keys j <= i and
// j < len[b] (the others exactly 0); out (B,T,NH*hd) heads concatenated.
void gqa_attention_forward(float *out, float *att, const float *q, const float *k, const float *v, const int *len,
                           int B, int T, int NH, int NKV, int hd);
// dout (B,T,NH*hd); dq += , dk, dv (B,T,NKV*hd) += ; scratch (B,NH,T,T) workspace.
void gqa_attention_backward(float *dq, float *dk, float *dv, float *scratch, const float *dout, const float *q,
                            const float *k, const float *v, const float *att, int B, int T, int NH, int NKV, int hd);

// --- swiglu.c: out (n) = silu(gate) * up, silu(x) = x sigmoid(x) --------------------
void swiglu_forward(float *out, const float *gate, const float *up, long n);
// dgate += dout up silu'(gate), silu'(x) = s (1 + x (1 - s)); dup += dout silu(gate)
void swiglu_backward(float *dgate, float *dup, const float *dout, const float *gate, const float *up, long n);

// --- last_token.c: out (B,C) = inp[b, len[b]-1, :] of inp (B,T,C) -----------------
// Copies, no FLOPs; backward scatters dout into those rows of dinp.
void last_token_forward(float *out, const float *inp, const int *len, int B, int T, int C);
void last_token_backward(float *dinp, const float *dout, const int *len, int B, int T, int C);

#endif
