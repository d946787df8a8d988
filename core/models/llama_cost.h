// llama_cost.h: closed-form FLOP counts of a Llama decoder (core/models/llama.h)
// training step and eval forward, exactly as the kernels charge them (the
// flops_add of rmsnorm.c, rope.c, gqa_attention.c, swiglu.c, residual.c,
// embedding.c, last_token.c, linear.c, loss.c), and the tracked memory of
// training by category, the decoder's siblings of vit_cost.h (FlopCount,
// LinearCostFn, dense_linear_cost, MemPlan come from there). Cross-checked
// against the counters and the tracked allocator in tests/test_llama_cost.c.
//
// The counts do not depend on the data: the attention core computes the full
// T x T products and softmax rows (masked entries computed, then zeroed) and
// the head reads one row per sequence, so a padded batch of B sequences of
// T = cfg->seq_len positions costs what an unpadded one does.
#ifndef WB_LLAMA_COST_H
#define WB_LLAMA_COST_H

#include "core/models/llama.h"
#include "core/models/vit_cost.h"

// One training step (forward + backward, optimizer excluded) at batch B, as
// llama.c runs it with bind.num_finetune = num_finetune: -1 trains
// everything (the embedding too); n in [0, layers] the last n decoder
// layers, the final norm and the score head. The frozen layers run forward
// only (dense linears, as llama_build binds them); backward stops at the
// first trained layer, whose input_layernorm still takes its weight
// gradient (so its q, k, v compute dx) but passes no input gradient on; the
// embedding's scatter runs only with -1. lin prices the linears of the
// trained layers (NULL: all dense): block = decoder layer, which =
// LLAMA_Q..LLAMA_DOWN, rows = B T, need_dx = 1, bias = 0. The score head
// (no bias, dx always computed) is dense.
FlopCount llama_step_flops(const LlamaConfig *c, int B, int num_finetune, LinearCostFn lin, const void *ctx);
// One eval forward (training = 0, with the loss, as eval_batch) at batch B, dense linears.
double llama_inference_flops(const LlamaConfig *c, int B);

// Tracked bytes (core/runtime/memory.h categories) the decoder holds while it
// trains, as vit_memory_plan (see its comment in vit_cost.h: sized once by
// llama_build and the linears' init; SGD without momentum allocates nothing
// in a step, momentum/AdamW add opt_state floats per trainable parameter at
// the first update; the same leftovers are not predicted: the methods'
// private state structs and LAPACK's queried work arrays, in the workspace).
// bind: method (NULL = dense; vanilla, lora, svdllm_lora, asi, wasi dense or
// factored, wsi), mcfg (lora_rank; fixed act_ranks k1..k3 of (B,T,I), or
// bind->layer_act_ranks), all_linear (0 mlp, 1 all seven, 2 attention:
// llama_is_counted), num_finetune (-1, or the last n decoder layers: a
// frozen layer keeps its weights only, no gradient, nothing saved).
// weight_ranks: per counted linear in llama_counted_index order (every
// layer's, frozen ones included; their entries are not read): wasi/wsi's k
// (from the SVD of W), svdllm_lora's truncation rank K; NULL for the others.
// act_shared here: per trained layer x_in, rstd1, q, k (after the rotation),
// v, att, x_mid, rstd2, gate, up; the pooled token, its norm and stats, the
// softmax probabilities; the token ids when the embedding trains.
MemPlan llama_memory_plan(const LlamaConfig *c, int B, const ModelBinding *bind, const int *weight_ranks, int opt_state);

#endif
