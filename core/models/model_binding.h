// model_binding.h: what every model shares about its linears, under
// model-neutral names: how they are bound to a method (ModelBinding), the
// paper's measure over the counted ones (ModelPaperMemory), and the shape of
// one counted linear (LinearShape), from which any method's closed-form
// paper measure follows (baselines/registry_model.h).
#ifndef WB_MODEL_BINDING_H
#define WB_MODEL_BINDING_H

#include "core/nn/linear_method.h"

// How the linears are bound to methods (ARCHITECTURE.md "Which layers").
typedef struct {
    const LinearMethod *method;   // for the counted linears (NULL: all dense)
    MethodConfig mcfg;
    int all_linear;               // layers: 0 mlp; 1 all_linear; 2 attention (models with the flag MODEL_LAYERS_ATTENTION)
    int num_finetune;             // -1 = all; n = the last n units (counted linears, or decoder layers for a
                                  // decoder: ModelFamily.finetune_units), everything before frozen
    const int (*layer_act_ranks)[4]; // optional (n_counted) per counted linear in forward order,
                                  // overriding mcfg.act_ranks (rank selection's choice); NULL = none
} ModelBinding;

// Accounting over the counted trainable linears (the paper's measure).
typedef struct {
    double paper_act_mb, paper_weight_mb;   // float32 MB (2^20 bytes) of the counted linears
    int n_counted;
} ModelPaperMemory;

// One counted trainable linear: out features and the modes of its saved
// activation (dims[nd - 1] = in features).
typedef struct {
    int O, nd;
    int dims[4];
} LinearShape;

#endif
