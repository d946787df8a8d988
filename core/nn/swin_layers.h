// swin_layers.h: the layers the Swin Transformer needs beyond core/nn/layers.h,
// with the same conventions (outputs first, then what forward saves, then
// inputs, weights, dimensions; layers never allocate; every *_backward
// ACCUMULATES (+=); gradient outputs may be NULL when not needed). Feature
// maps are (B,H,W,C) row-major, as torchvision's Swin keeps them.
// One file per concept: window_attention.c (window partition/reverse with
// the cyclic shift and padding, relative position bias, the masked window
// attention core), patch_merging.c, avgpool.c, drop_path.c.
//
// Window geometry (torchvision 0.14 shifted_window_attention): the map is
// zero-padded at the bottom/right to Hp x Wp, multiples of the window ws;
// a shift along a dimension is dropped when ws >= that padded size; the
// padded map is rolled by (-sh, -sw) and cut into nW = (Hp/ws)(Wp/ws)
// windows of T = ws*ws tokens, window-row-major. Windowed tensors are
// (B, nW, T, C). Padded tokens are zeros going in (they take part in the
// attention, unmasked, as in torchvision) and are dropped coming out.
#ifndef WB_SWIN_LAYERS_H
#define WB_SWIN_LAYERS_H

#include "core/runtime/rng.h"

// --- window_attention.c -------------------------------------------------------
// Padded sizes and the effective shifts of a (H,W) map with window ws and
// shift (0 or ws/2): *Hp, *Wp multiples of ws; *sh, *sw = shift or 0.
void window_geometry(int H, int W, int ws, int shift, int *Hp, int *Wp, int *sh, int *sw);

// inp (B,H,W,C) -> out (B,nW,T,C): pad, roll by (-sh,-sw), partition. No FLOPs.
void window_partition_forward(float *out, const float *inp, int B, int H, int W, int C, int ws, int sh, int sw);
// dinp (B,H,W,C) += the adjoint: each real token's gradient from its window slot.
void window_partition_backward(float *dinp, const float *dout, int B, int H, int W, int C, int ws, int sh, int sw);
// inp (B,nW,T,C) -> out (B,H,W,C): merge windows, roll by (+sh,+sw), crop.
void window_reverse_forward(float *out, const float *inp, int B, int H, int W, int C, int ws, int sh, int sw);
// dinp (B,nW,T,C) += the adjoint (padded slots get no gradient).
void window_reverse_backward(float *dinp, const float *dout, int B, int H, int W, int C, int ws, int sh, int sw);

// idx (T,T): torchvision's relative_position_index, the row of the bias
// table ((2ws-1)^2, NH) for the query/key pair (i, j) of a window.
void relative_position_index(int *idx, int ws);
// reg (nW,T): the region id of every window slot for the shifted-window
// mask (keys of another region than the query get -100); only meaningful
// when sh + sw > 0.
void window_mask_regions(int *reg, int H, int W, int ws, int sh, int sw);
// table ((2ws-1)^2, NH), idx (T,T) -> bias (NH,T,T)
void relative_bias_forward(float *bias, const float *table, const int *idx, int NH, int ws);
// dtable ((2ws-1)^2, NH) += scatter of dbias (NH,T,T) through idx
void relative_bias_backward(float *dtable, const float *dbias, const int *idx, int NH, int ws);

// The attention core of torchvision's ShiftedWindowAttention between qkv and
// proj. qkv (Bw,T,3C) packed [q | k | v], head h in channels [h*hs, (h+1)*hs)
// of each, hs = C/NH; bias (NH,T,T); reg (nW,T) or NULL (no mask), window w
// of qkv uses reg row (w mod nW). att (Bw,NH,T,T) saved = softmax(q k^T / sqrt(hs)
// + bias + mask); out (Bw,T,C) heads concatenated.
void window_attention_forward(float *out, float *att, const float *qkv, const float *bias, const int *reg,
                              int Bw, int nW, int T, int C, int NH);
// dout (Bw,T,C); dqkv (Bw,T,3C) += ; dbias (NH,T,T) += (sum over windows of
// the pre-softmax gradient; NULL: not trained); scratch (Bw,NH,T,T) workspace.
void window_attention_backward(float *dqkv, float *dbias, float *scratch, const float *dout, const float *qkv,
                               const float *att, int Bw, int T, int C, int NH);

// --- patch_merging.c: torchvision's _patch_merging_pad ---------------------------
// inp (B,H,W,C) -> out (B,H2,W2,4C), H2 = ceil(H/2), W2 = ceil(W/2): channels
// [x(2i,2j) | x(2i+1,2j) | x(2i,2j+1) | x(2i+1,2j+1)], zeros beyond the map.
// (The LayerNorm(4C) and the reduction Linear(4C,2C) that follow are the
// ordinary layers.) No FLOPs.
void patch_merge_forward(float *out, const float *inp, int B, int H, int W, int C);
// dinp (B,H,W,C) += the adjoint of the gather.
void patch_merge_backward(float *dinp, const float *dout, int B, int H, int W, int C);

// --- avgpool.c: AdaptiveAvgPool2d(1) + flatten over the tokens of a map -------
// inp (B,N,C) -> out (B,C) mean over N
void avgpool_forward(float *out, const float *inp, int B, int N, int C);
// dinp (B,N,C) += dout (B,C) / N
void avgpool_backward(float *dinp, const float *dout, int B, int N, int C);

// --- drop_path.c: residual with stochastic depth (torchvision StochasticDepth "row")
// scale (B): per sample 0 (dropped, probability p) or 1/(1-p), drawn from r.
void drop_path_draw(float *scale, Rng *r, float p, int B);
// x, y, out (B,n): out = x + scale[b] y (scale NULL: plain residual)
void drop_path_residual_forward(float *out, const float *x, const float *y, const float *scale, int B, long n);
// dy (B,n) += scale[b] dout (the x branch takes dout unchanged: the caller keeps it)
void drop_path_residual_backward(float *dy, const float *scale, const float *dout, int B, long n);

#endif
