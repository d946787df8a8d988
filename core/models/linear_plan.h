// linear_plan.h: the tracked memory of a model's linears while it trains,
// per method, in closed form: the part of the memory plans (vit_cost.h,
// llama_cost.h, swin_cost.h) that does not depend on the model. A plan adds
// its linears one by one (linear_plan_add: what each keeps), then
// linear_plan_finish adds what the linears share: the one HOSVD workspace
// (core/compress/act_store.c pool_acquire: each buffer at its largest need
// over the stores), the wasi layers' scratch (baselines/wasi.c
// scratch_acquire: the same rule) and, with memory.recompute, the saved
// inputs shared per slot (SharedInput, core/nn/linear_method.h).
// Mirrors core/nn/linear_dense.c, baselines/lora.c, svdllm_lora.c (after its
// calibration), act_dense.c (asi), wasi.c (wasi dense and factored, wsi),
// with FIXED activation ranks; hosvd and ranks from energy are data-dependent.
#ifndef WB_LINEAR_PLAN_H
#define WB_LINEAR_PLAN_H

#include "core/compress/tucker.h"
#include "core/models/model_binding.h"
#include "core/runtime/memory.h"

// Tracked bytes a model holds while it trains (see vit_memory_plan).
typedef struct {
    double bytes[MEM_NCAT];   // by category; MEM_DATA is 0 (the batch is the caller's)
    double total;             // sum over the categories
    // activations split by who saves them (sum = bytes[MEM_ACTIVATIONS]):
    double act_shared;        // the model's own layers (ViT: LayerNorm inputs and statistics, q/k/v and
                              // attention probabilities, GELU input (fc1 output), class token, final
                              // LayerNorm, softmax; Llama: llama_memory_plan)
    double act_counted;       // the counted linears (what the paper's activation measure covers)
    double act_other;         // the other trainable linears (q, k, v, out with layers: mlp), dense
} MemPlan;

// params.c: a tensor of n floats takes n rounded up to 16 (64-byte aligned).
double plan_pad16(double n);
// A ParamSet of `numel` padded floats and `ntensors` tensors (params.c):
// weights, + gradients and optimizer state (opt_state floats per float) when
// trainable, its ParamInfo table (32 entries, doubling) in the workspace.
void plan_add_set(MemPlan *p, double numel, int ntensors, int trainable, int opt_state);

#define LINEAR_PLAN_SLOTS 4   // shared saved-input slots (vit.c rx: q/k/v, out, fc1, fc2; swin.c rx: qkv, proj, fc1, fc2)

typedef struct {
    MemPlan *p;
    const ModelBinding *bind;   // method (NULL: dense), mcfg, layer_act_ranks
    const int *weight_ranks;  // per counted index: wasi/wsi's k, svdllm_lora's K (NULL for other methods)
    int opt_state;
    const char *who;          // the plan's name, for messages
    unsigned flags;           // bind->method's METHOD_* (0: dense)
    int pool_used;
    HosvdSizes pool;                                                    // the shared HOSVD workspace
    double ws_tmp, ws_Q, ws_tau, ws_T1, ws_Rn, ws_Ln, ws_kk, ws_sm;     // the wasi scratch, in floats
    double slot_x[LINEAR_PLAN_SLOTS];                                   // shared saved inputs, bytes
    int slot_counted[LINEAR_PLAN_SLOTS];
} LinearPlan;

// Start adding linears to p. Dies for a method with data-dependent buffers (METHOD_ACT_ENERGY).
void linear_plan_begin(LinearPlan *lp, MemPlan *p, const ModelBinding *bind, const int *weight_ranks, int opt_state,
                       const char *who);
// One linear W (O,I) seeing up to `rows` token rows, its activation modes
// dims[0..nd-1] (dims[nd-1] = I; what act_store sizes the Tucker from).
// idx: its counted index (the order of bind->layer_act_ranks and
// weight_ranks; -1: not counted). The method is bound when idx >= 0, the
// linear is trainable and bind->method is set; otherwise it is dense
// (linear_dense.c; frozen: its weights only). bias 0: LinearLayer.no_bias.
// slot: -1 = a dense saved input in its own buffer; 0..LINEAR_PLAN_SLOTS-1 =
// the shared buffer of that slot (memory.recompute).
void linear_plan_add(LinearPlan *lp, long rows, int I, int O, int nd, const int *dims, int idx, int trainable, int bias,
                     int slot);
// Add the shared buffers (slots, HOSVD pool, wasi scratch) to the plan.
void linear_plan_finish(LinearPlan *lp);

#endif
