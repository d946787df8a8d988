// lora.h: LoRA (rank r, alpha) as a LinearMethod. W (O,I) and b (O) are
// frozen (category weights, no gradients); the adapters A (r,I) and B (O,r)
// are the layer's only trainable parameters:
//   y = x W^T + b + s (x A^T) B^T,   s = alpha / r.
// Init (ARCHITECTURE.md "Methods": "normal(0, 1/r)", read as VARIANCE 1/r): A ~ N(0, 1/r), i.e.
// std 1/sqrt(r), drawn from MethodConfig.seed mixed with the layer name (so
// layers differ but runs repeat); B = 0, so the first forward equals the
// pretrained layer. Forward saves x (rows,I) and u = x A^T (rows,r).
// Backward: dB += s dy^T u; du = s dy B; dA += du^T x; dx += dy W + du A.
// Paper measure: activations rows*(I + r) (both saved tensors; the paper's
// tables do not say, we count what is kept), weights O*I + r(O+I).
// Tensor names in the trainable set: "lora_A" (r,I), "lora_B" (O,r); the
// frozen set: "weight", "bias" (no "bias" with LinearLayer.no_bias: y has
// no b term, export_dense gives b = 0). export_dense merges W + s B A.
#ifndef WB_LORA_H
#define WB_LORA_H

#include "core/nn/linear_method.h"

extern const LinearMethod method_lora;

// The adapter path, shared with svdllm_lora (baselines/svdllm_lora.h).
// Declare "lora_A" (r,I) and "lora_B" (O,r) in ad (trainable as given) and
// draw A ~ N(0, 1/r) from seed mixed with the layer name; B = 0.
void lora_adapter_init(ParamSet *ad, int trainable, int r, int I, int O, uint64_t seed, const char *layer_name);
// u (R,r) = x A^T; out (R,O) += s u B^T.
void lora_adapter_forward(int R, int I, int O, int r, float s, const float *x, const float *A, const float *B, float *u,
                          float *out);
// dB += s dy^T u and dA += du^T x (when ad is trainable: dA, dB not NULL);
// du (R,r) = s dy B; dx += du A (dx NULL: not wanted).
void lora_adapter_backward(int R, int I, int O, int r, float s, const float *dy, const float *x, const float *u, const float *A,
                           const float *B, float *du, float *dA, float *dB, float *dx);

#endif
