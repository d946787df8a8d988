// registry.h: the training methods, one list of declarations (each method's
// file declares everything about it in its LinearMethod, see
// core/nn/linear_method.h), and the paper's memory measure in closed form, so
// a config can name a method and a report can quote the paper's numbers for
// any model size without allocating it (vit_b_32 at batch 128 would need GBs).
#ifndef WB_REGISTRY_H
#define WB_REGISTRY_H

#include "core/nn/linear_method.h"
#include "core/models/model_binding.h"

// NULL for an unknown name.
const LinearMethod *method_by_name(const char *name);
const char *method_names(void);   // "vanilla, lora, hosvd, asi, wasi", for error messages
int method_count(void);
const LinearMethod *method_at(int i);   // 0 <= i < method_count(), in the list's order
int method_index(const char *name);     // its position; method_count() when unknown
// Add a method declared elsewhere (a test's, a plugin's) after the built-in
// ones; dies on a duplicate name or a declaration without name or operations.
void method_register(const LinearMethod *m);

// The key of m that fills MethodConfig field `field` (offsetof), or NULL:
// how reports find a method's epsilon, lora rank or storage without its name.
const MethodKey *method_key_of(const LinearMethod *m, size_t field);
// Whether reports show an epsilon for the method of that name: it has one,
// or its activation ranks come from energy thresholds (the Tucker methods);
// an unknown name, from another version's file, shows what the file holds.
int method_shows_epsilon(const char *name);
// Whether name is the full-memory reference the others are compared with
// (METHOD_NO_BUDGET: vanilla), for speedups and reference curves.
int method_is_reference(const char *name);
// The value of key k in mc, as text (the enum name, the number as %g).
void method_key_value(const MethodKey *k, const MethodConfig *mc, char *buf, size_t cap);
// Every method with its keys, defaults, meanings (`wasibench help methods`).
void methods_help(FILE *out);

// Paper measure of ONE linear (elements, float32): the method's paper_elems
// (see core/nn/linear_method.h); method by name. Unknown name: dies.
void method_paper_elems(const char *method, int O, const int *dims, int nd, const MethodConfig *mcfg,
                        const LayerRanks *lr, double *act_elems, double *weight_elems);

// Add one counted linear (O outputs, activation dims of nd modes) to pm:
// method_paper_elems in MB (float32, 2^20 bytes), ranks[pm->n_counted]
// when ranks is given; n_counted + 1. The models' closed forms sum with it.
void paper_memory_add(ModelPaperMemory *pm, const char *method, int O, const int *dims, int nd, const MethodConfig *mcfg,
                      const LayerRanks *ranks);

#endif
