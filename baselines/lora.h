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
// frozen set: "weight", "bias". export_dense merges W + s B A.
#ifndef WB_LORA_H
#define WB_LORA_H

#include "core/nn/linear_method.h"

extern const LinearMethod method_lora;

#endif
