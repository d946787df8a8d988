// linear_method.h: THE central abstraction. Every training method differs
// only in how a linear layer y = x W^T + b is stored, run forward,
// differentiated and updated; everything else in the model is shared. A
// model holds LinearLayer objects, each bound to one LinearMethod.
// Adding a method = one new file defining a `const LinearMethod`.
#ifndef WB_LINEAR_METHOD_H
#define WB_LINEAR_METHOD_H

#include <stddef.h>
#include <stdint.h>
#include "optim.h"
#include "params.h"

// Settings a method may read (each method uses its own subset).
typedef struct {
    float epsilon;          // explained-variance threshold (wasi weight rank, hosvd activations)
    int lora_rank;          // r
    float lora_alpha;
    int act_ranks[4];       // fixed activation ranks k1..k4 (asi, wasi); 0 = from epsilon
    float act_epsilon;      // activation threshold when ranks come from energy
    int r_update_previous;  // wasi: R = L_prev^T W (authors' code) instead of L^T W
    int factored;           // wasi: keep only L, R (no dense master)
    uint64_t seed;          // method-private randomness (lora init, asi first step)
} MethodConfig;

// What a layer reports about itself (bytes are of tracked buffers it owns).
typedef struct {
    size_t bytes_weights, bytes_gradients, bytes_optimizer, bytes_activations, bytes_workspace;
    double paper_act_elems;     // paper measure: elements saved for backward
    double paper_weight_elems;  // paper measure: weight elements kept
    int weight_rank;            // k (0 = dense / not applicable)
    int act_ranks[4];           // k1..k4 in use (0 = not compressed)
    int act_ndim;
} LinearAccount;

typedef struct LinearMethod LinearMethod;

typedef struct {
    const LinearMethod *method;
    char name[128];       // torchvision prefix, e.g. "encoder.layers.encoder_layer_0.mlp.0"
    int I, O;             // in and out features: W (O,I), b (O)
    int trainable;        // 0 = frozen: nothing saved in forward, no parameter gradients
    long max_rows;        // most rows a forward will see; methods size their buffers once from it
    int ndim;             // activation modes of the last forward: 3 (B,N,I) or 4 (B,H,W,I)
    int dims[4];          // their sizes (the last is I)
    long rows;            // product of dims except the last
    void *state;          // owned by the method
} LinearLayer;

struct LinearMethod {
    const char *name;
    // Copy the pretrained dense W (O,I) and b (O) into the method's storage.
    void (*init)(LinearLayer *L, const float *W, const float *b, const MethodConfig *cfg);
    // out (rows,O) = method's y for inp (rows,I) with modes dims[0..ndim-1].
    // training = 1: keep what backward needs (unless L->trainable is 0).
    void (*forward)(LinearLayer *L, float *out, const float *inp, const int *dims, int ndim, int training);
    // dinp (rows,I) += dL/dx when dinp != NULL; parameter gradients +=.
    void (*backward)(LinearLayer *L, float *dinp, const float *dout);
    // Trainable ParamSets (for zero_grad and gradient clipping); returns how many (<= 4).
    int (*param_sets)(LinearLayer *L, ParamSet **out);
    // The optimizer step on this layer's parameters (wasi re-projects here).
    void (*update)(LinearLayer *L, const OptimConfig *oc, float lr);
    void (*account)(const LinearLayer *L, LinearAccount *acc);
    // The effective dense W (O,I) and b (O), for checkpoints and checks.
    void (*export_dense)(const LinearLayer *L, float *W, float *b);
    void (*free)(LinearLayer *L);
};

// Common helpers for layers of any method.
void linear_layer_set_dims(LinearLayer *L, const int *dims, int ndim);  // checks dims[ndim-1] == I

#endif
