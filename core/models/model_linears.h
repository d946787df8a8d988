// model_linears.h: what the models (vit.c, swin.c, llama.c) share over
// their weights and their linears, written once: the per-name random
// streams, the finite check at load, the random draw, load and save of a
// model's own ParamSets by name, and the dense W, b buffers every linear is
// initialised from (random, read by name "<L->name>.weight" / ".bias", or
// filled by the model), bound to its method with the per-layer ranks.
// A linear with no_bias has no ".bias" tensor in files and no random bias.
#ifndef WB_MODEL_LINEARS_H
#define WB_MODEL_LINEARS_H

#include "core/io/safetensors.h"
#include "core/models/model_binding.h"
#include "core/runtime/rng.h"

// A model's own tensor by name, from its trainable set or else its frozen
// one (dies when neither has it), and its gradient (NULL when frozen).
float *model_param(const ParamSet *train, const ParamSet *frozen, const char *name);
float *model_grad(const ParamSet *train, const char *name);

// Each tensor draws from its own stream seeded by (seed, name), so the values
// do not depend on which set (trainable or frozen) a tensor lands in.
void model_seed_for(Rng *r, uint64_t seed, const char *name);
// 0, or -1 with err naming path, the tensor and the element that is NaN/Inf.
int model_check_finite(const char *path, const char *name, const float *p, size_t n, WbError *err);

// The models' random draw of their own sets: norm weights (names containing
// norm_marker and ".weight") 1 + 0.1 N, biases (".bias") 0.02 N, the rest 0.05 N.
void model_sets_init_random(ParamSet *const *sets, int nsets, uint64_t seed, const char *norm_marker);
// Read every tensor of the sets by name (finite-checked). With skip_head,
// tensors whose name starts with head_prefix are drawn instead: weights
// 0.02 N from head_seed, biases 0.
int model_sets_load(ParamSet *const *sets, int nsets, const SafeTensors *st, const char *path, const char *head_prefix,
                    int skip_head, uint64_t head_seed, WbError *err);
// Add every tensor of the sets to w under its name (pointers: keep the sets alive until the save).
void model_sets_save(StWriter *w, const ParamSet *const *sets, int nsets);

// Dense W (O,I) and b (O) per linear (workspace; b zeroed, also for no_bias).
typedef struct { float **W, **b; int n; } LinearBuffers;
void model_linear_buffers(LinearBuffers *lb, const LinearLayer *lin, int n);
void model_linear_buffers_free(LinearBuffers *lb);
// W 0.05 N then b 0.02 N (unless no_bias) from the stream of (seed, L->name).
void model_linears_fill_random(LinearBuffers *lb, const LinearLayer *lin, uint64_t seed);
// "<name>.weight" (and "<name>.bias" unless no_bias) of every linear, finite-checked.
int model_linears_load(LinearBuffers *lb, const LinearLayer *lin, const SafeTensors *st, const char *path, WbError *err);
// (Re)initialise every linear's method from lb with bind->mcfg; the counted
// ones (counted_index(ctx, i) >= 0) take bind->layer_act_ranks[that index] when given.
void model_linears_init(LinearLayer *lin, const LinearBuffers *lb, const ModelBinding *bind,
                        int (*counted_index)(const void *ctx, int i), const void *ctx);
// A model whose file holds every tensor under its own name (swin, llama):
// open path, read the sets (head_prefix / skip_head as model_sets_load) and
// every linear's "<name>.weight" (".bias"), bind them to their methods.
int model_load_named(ParamSet *train, ParamSet *frozen, LinearLayer *lin, int nlin, const ModelBinding *bind,
                     int (*counted_index)(const void *ctx, int i), const void *ctx, const char *path, const char *head_prefix,
                     int skip_head, uint64_t head_seed, WbError *err);
// A model's whole random init: its own sets (train, frozen; norm_marker as
// model_sets_init_random) then every linear drawn and bound to its method.
void model_init_random_all(ParamSet *train, ParamSet *frozen, LinearLayer *lin, int nlin, const ModelBinding *bind,
                           int (*counted_index)(const void *ctx, int i), const void *ctx, uint64_t seed, const char *norm_marker);
// Export every linear dense and add "<name>.weight" (and ".bias" unless
// no_bias) to w; returns the buffer the tensors point into (mem_free it after the save).
float *model_linears_save(StWriter *w, const LinearLayer *lin, int n);
// Free every initialised linear's method state, then the array itself (mem_free).
void model_linears_free(LinearLayer *lin, int n);

#endif
