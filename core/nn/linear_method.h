// linear_method.h: THE central abstraction. Every training method differs
// only in how a linear layer y = x W^T + b is stored, run forward,
// differentiated and updated; everything else in the model is shared. A
// model holds LinearLayer objects, each bound to one LinearMethod.
// A LinearMethod is also the method's whole declaration: its name, its
// config keys, what epsilon and the ranks mean for it, how it fits a memory
// budget and its closed-form paper measure, so the config reader, the
// runner, the results and the figures ask it instead of comparing names.
// Adding a method = one new file defining a `const LinearMethod` and one
// line in baselines/registry.c's list (or method_register at run time).
#ifndef WB_LINEAR_METHOD_H
#define WB_LINEAR_METHOD_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include "core/train/optim.h"
#include "core/train/params.h"

// Settings a method may read (each method uses its own subset).
typedef struct {
    float epsilon;          // explained-variance threshold (wasi weight rank, hosvd activations)
    int lora_rank;          // r
    float lora_alpha;
    int act_ranks[4];       // fixed activation ranks k1..k4 (asi, wasi); 0 = from epsilon
    float act_epsilon;      // activation threshold when ranks come from energy
    int r_update_previous;  // wasi: R = L_prev^T W (authors' code) instead of L^T W
    int factored;           // wasi: keep only L, R (no dense master)
    int weight_update_svd;  // wasi, wsi: a fresh truncated SVD at epsilon every step (K may change)
    int trunc_rank;         // svdllm_lora: the truncation rank K (0 = from epsilon)
    int calib_batches;      // svdllm_lora: training batches of the whitening calibration
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

// One key of a method's entry in the experiment YAML (`methods: - name: x`).
// The config reader, the resolved-YAML emitter, run names and `wasibench
// help methods` all read these; a key is sweepable (a list is an axis).
typedef enum {
    MKEY_INT,    // an int field of MethodConfig, lo <= v <= hi
    MKEY_NUM,    // a float field, lo < v (lo_open) or lo <= v, and v <= hi
    MKEY_ENUM,   // an int field holding the index into names (the first is the default)
    MKEY_ACT,    // the activation ranks: `ranks: [k1..]`, `epsilon` (if act_epsilon),
                 // or `budget_mb`/`candidates` (the DP); under `key:` when nested, else in the entry
} MethodKeyType;

typedef struct {
    const char *key;
    MethodKeyType type;
    size_t field;                  // offsetof(MethodConfig, ...) (not MKEY_ACT)
    double lo, hi;
    int lo_open;
    const char *const *names;      // MKEY_ENUM
    int n_names;
    int required;                  // 1: no default, the entry must give it
    double def;                    // the default of MKEY_INT / MKEY_NUM (MKEY_ENUM: names[0])
    const char *default_key;       // instead: default = this key's value (lora alpha = rank)
    const char *missing_hint;      // shown after "missing required key" (NULL: none)
    int nested, act_epsilon;       // MKEY_ACT
    const char *help;              // one line for `wasibench help methods`
} MethodKey;

// Ranks of one counted linear that a closed form cannot know by itself:
// the weight rank k (wasi: from the SVD of W) and the activation ranks
// (hosvd: data-dependent). Entries are clipped to the mode sizes.
typedef struct {
    int weight_rank;
    int act_ranks[4];
} LayerRanks;

// What a method keeps, for cost models that mirror its buffers.
enum {
    METHOD_ADAPTER = 1,        // W frozen, a trained low-rank adapter beside it (lora)
    METHOD_ACT_TUCKER = 2,     // x saved as a Tucker core and factors
    METHOD_ACT_ENERGY = 4,     // ... with ranks from the energy at epsilon (data-dependent)
    METHOD_WEIGHT_LOWRANK = 8, // W kept at a rank k (reported per layer, shown in the rank figures)
    METHOD_CALIBRATES = 16,    // activation ranks by the DP on a calibration batch when not given
    METHOD_NO_BUDGET = 32,     // the budget axis does not apply (the full-memory reference)
    METHOD_DATA_CALIB = 64,    // needs calib_batches inference forwards on training data, then calib_end, before training
};

// A memory budget to fit (experiments/budget.c fills it from the run).
typedef struct {
    double budget_mb;
    const char *run;           // for log lines
    FILE *log;                 // NULL: quiet
    int max_rank;              // largest low-rank setting of the model's counted linears
    // the run's whole paper measure (act + weight MB) at mc, in closed form
    double (*paper_mb)(const MethodConfig *mc, const void *ctx);
    const void *ctx;
} BudgetFit;

struct RankCalib;

// One saved-input buffer that several linears share (memory.recompute in
// vit.c: the same linear of every block, since backward re-runs one block at
// a time, and q, k, v, which see the same input; swin.c: the same linear of
// every block, of different sizes per stage). The first layer whose method
// saves its input densely allocates it (linear_saved_input_alloc), with
// floats floats when its users differ in size (the model sets the largest).
typedef struct {
    float *x;
    int users;
    const void *owner;    // the LinearLayer that allocated it: it reports the bytes
    size_t floats;        // 0: the first user's max_rows * I
} SharedInput;

typedef struct {
    const LinearMethod *method;
    SharedInput *shared_x;  // NULL: a method that saves x densely owns its buffer
    char name[128];       // torchvision prefix, e.g. "encoder.layers.encoder_layer_0.mlp.0"
    int I, O;             // in and out features: W (O,I), b (O)
    int trainable;        // 0 = frozen: nothing saved in forward, no parameter gradients
    int no_bias;          // 1 = y = x W^T only (the Llama linears): init gets b == NULL, no bias
                          // parameter, gradient or bytes; export_dense writes b = 0
    long max_rows;        // most rows a forward will see; methods size their buffers once from it
    int ndim;             // activation modes of the last forward: 3 (B,N,I) or 4 (B,H,W,I)
    int dims[4];          // their sizes (the last is I)
    long rows;            // product of dims except the last
    void *state;          // owned by the method
} LinearLayer;

struct LinearMethod {
    const char *name;
    // --- the declaration (NULL/0 for the engine's own dense and probe linears)
    const char *help;              // one line
    const MethodKey *keys;         // in reading, naming and emitting order
    int n_keys;
    const char *epsilon_means;     // what `epsilon` means (NULL: not a setting)
    const char *ranks_means;       // what the ranks are (NULL: none)
    unsigned flags;                // METHOD_*
    // Paper measure of ONE linear (elements) on an activation of dims (nd
    // modes, last = I), as account() reports it after a training forward.
    // lr NULL: the ranks from mc (act_ranks); a part that depends on data
    // or weights (a rank absent) is NAN.
    void (*paper_elems)(int O, const int *dims, int nd, const MethodConfig *mc, const LayerRanks *lr, double *act_elems,
                        double *weight_elems);
    // FLOPs of one linear's forward and backward in closed form (NULL: not known);
    // bias 0: a no_bias layer (no bias add in forward, no bias gradient in backward).
    void (*layer_flops)(const MethodConfig *mc, long rows, int I, int O, int need_dx, int bias, double *fwd, double *bwd);
    // With a budget: settings chosen before the model is built (lora's rank).
    void (*fit_budget)(MethodConfig *mc, const BudgetFit *f);
    // With a budget, after calibration (METHOD_CALIBRATES): the activation
    // budget in elements for the DP; may set mc (wasi's epsilon).
    int64_t (*budget_act_elems)(MethodConfig *mc, const BudgetFit *f, const struct RankCalib *rc);
    // Checks against the optimizer: 0, or -1 with the key at fault in *key and why in msg.
    int (*check)(const MethodConfig *mc, const OptimConfig *oc, const char **key, char *msg, size_t cap);
    // --- the operations
    // Copy the pretrained dense W (O,I) and b (O) into the method's storage
    // (L->no_bias: b may be NULL and the method keeps no bias at all).
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
    // The effective dense W (O,I) and b (O), for checkpoints and checks
    // (b may be NULL; a no_bias layer writes zeros into a given b).
    void (*export_dense)(const LinearLayer *L, float *W, float *b);
    // Optional (NULL: export_dense): the (O,I) weight whose rank and right
    // singular subspace the stability log follows (core/compress/subspace_track.h),
    // for a method whose dense equivalent mixes in a part that is not its
    // subspace (svdllm_lora may report its truncated factors' product here).
    // Its weight rank K is read from account().weight_rank.
    void (*subspace_weight)(const LinearLayer *L, float *W);
    // METHOD_DATA_CALIB: called once after the runner's calibration forwards
    // (training = 0, MethodConfig.calib_batches training batches); the
    // method fixes its structure from what those forwards showed it.
    void (*calib_end)(LinearLayer *L);
    void (*free)(LinearLayer *L);
};

// Common helpers for layers of any method.
void linear_layer_set_dims(LinearLayer *L, const int *dims, int ndim);  // checks dims[ndim-1] == I
// The (max_rows, I) buffer a method saves its dense input in (category
// activations): its own, or L->shared_x's; free with linear_saved_input_free.
float *linear_saved_input_alloc(LinearLayer *L);
void linear_saved_input_free(LinearLayer *L, float *x);
// Bytes of x for account(): a shared buffer counts once, at its owner.
size_t linear_saved_input_bytes(const LinearLayer *L, const float *x);
// init's check of b: NULL only with L->no_bias (a no_bias layer ignores a given b).
void linear_check_bias(const LinearLayer *L, const float *b);
// export_dense's b (O): the method's bias, or zeros when it has none (bias
// NULL, no_bias); nothing when the caller passes b == NULL.
void linear_export_bias(const LinearLayer *L, const float *bias, float *b);

#endif
